// Item 1 of issue 9: a called service's X-Request-Debug-Output comes from the
// network. A real hostile upstream returns deep, huge, invalid and non-object
// outputs to a real debugged server that calls it with http.get and fetch.
import { expect } from 'chai';
import http from 'node:http';
import { nodeAt } from '../helpers/debugged';
import { close, listen } from '../helpers/http';
import { libraryInstrumentations } from '../helpers/library-instrumentations';
import { timingHarness } from '../helpers/timing-harness';
import { debugRequest } from './timing-helpers';

/** The output: 7,000 arrays deep, 14 KB (under Node's 16 KB header limit). */
const DEEP = `{"a":${'['.repeat(7000)}${']'.repeat(7000)}}`;
/** A valid tree of `size` characters. */
const treeOfSize = (size: number): string => {
  const json = JSON.stringify({ request_id: 'downstream', pad: '' });
  return JSON.stringify({ request_id: 'downstream', pad: 'x'.repeat(size - json.length) });
};

const HOSTILE: Record<string, { readonly value: string; readonly reason: string }> = {
  deep: { value: DEEP, reason: 'over 8192 bytes' },
  nested: { value: `{"a":${'['.repeat(65)}${']'.repeat(65)}}`, reason: 'nested deeper than 64' },
  huge: { value: treeOfSize(12_000), reason: 'over 8192 bytes' },
  invalid: { value: '{"child":{"a"', reason: 'not JSON' },
  array: { value: '[{"child":{}}]', reason: 'not a JSON object' },
  number: { value: '42', reason: 'not a JSON object' },
};

type Client = (url: string) => Promise<{ body: string; output: string | null }>;

const CLIENTS: Record<string, Client> = {
  'http.get': (url) =>
    new Promise((resolve, reject) => {
      http
        .get(url, (res) => {
          let body = '';
          res.on('data', (chunk) => (body += String(chunk)));
          res.on('end', () => {
            const output = res.headers['x-request-debug-output'];
            resolve({ body, output: typeof output === 'string' ? output : null });
          });
        })
        .on('error', reject);
    }),
  fetch: async (url) => {
    const response = await fetch(url);
    return { output: response.headers.get('x-request-debug-output'), body: await response.text() };
  },
};

describe('hardening: downstream outputs from a hostile upstream', () => {
  const harness = timingHarness();
  let upstream: http.Server;
  let upstreamUrl: string;

  before(async () => {
    libraryInstrumentations();
    upstream = http.createServer((req, res) => {
      const kind = (req.url ?? '/').slice(1);
      const value = HOSTILE[kind]?.value ?? treeOfSize(Number(kind));
      res.setHeader('X-Request-Debug-Output', value);
      res.end(`upstream ${kind}`);
    });
    upstreamUrl = await listen(upstream);
  });

  beforeEach(() => {
    harness.configure({});
    harness.reset();
  });

  after(async () => {
    await close(upstream);
  });

  for (const [clientName, client] of Object.entries(CLIENTS)) {
    for (const [kind, { reason }] of Object.entries(HOSTILE)) {
      it(`${clientName}: a ${kind} output is dropped with a note; the response and its log output are intact`, async () => {
        let seen: { body: string; output: string | null } | undefined;
        const { reply, header, tree } = await debugRequest(
          (_req, res) => {
            client(`${upstreamUrl}/${kind}`).then(
              (result) => {
                seen = result;
                res.end('served');
              },
              (error: unknown) => res.end(`failed: ${String(error)}`),
            );
          },
          { log: true },
        );
        expect(reply.status).to.equal(200);
        expect(reply.body).to.equal('served');
        expect(seen?.body).to.equal(`upstream ${kind}`);
        for (const output of [header, tree]) {
          const request = nodeAt(output, 'external_http', upstreamUrl, 'http_request');
          expect(request.downstream_dropped, JSON.stringify(request)).to.equal(reason);
          expect(request).to.not.have.property('downstream');
        }
        // http.get's response loses the header (it was ours to read); fetch cannot remove it.
        if (clientName === 'http.get') expect(seen?.output).to.equal(null);
      });
    }

    it(`${clientName}: a valid output is still nested`, async () => {
      const { tree } = await debugRequest((_req, res) => {
        void client(`${upstreamUrl}/500`).then(() => res.end('served'));
      });
      const request = nodeAt(tree, 'external_http', upstreamUrl, 'http_request');
      expect(request.downstream).to.deep.equal([JSON.parse(treeOfSize(500))]);
      expect(request).to.not.have.property('downstream_dropped');
    });
  }

  it('nests at most 64 KB of downstream outputs per request, and notes the rest', async () => {
    const { header, tree } = await debugRequest((_req, res) => {
      void (async () => {
        for (let i = 0; i < 12; i++) await CLIENTS['http.get'](`${upstreamUrl}/7000`);
        res.end('served');
      })();
    });
    expect(header?.truncated, 'over the loopback header limit: the tree went to the log').to.equal(true);
    const request = nodeAt(tree, 'external_http', upstreamUrl, 'http_request');
    expect(request.downstream).to.have.length(9);
    expect(request.downstream_dropped).to.equal("the request's downstream outputs are over 65536 bytes");
  });
});
