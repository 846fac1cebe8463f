import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { rawHeaderValue, removeHeaders } from '../../src/server/raw-headers';
import { runNode } from '../helpers/run-node';

// removeHeaders on requests parsed by Node's own parser from raw bytes, so
// that header order, case and repetition are the client's: the named
// headers are gone from both the parsed and the raw headers wherever they
// were, and every other header is kept in its order.

const REMOVED = ['x-request-debug', 'x-request-debug-token', 'x-request-debug-log'];

interface Seen {
  readonly headers: Record<string, unknown>;
  readonly keys: string[];
  readonly distinctKeys: string[];
  readonly raw: string[];
  /** rawHeaderValue of each removed name, and req.headers' value, read before the removal. */
  readonly values: [string | undefined, unknown][];
}

/** Which parsed headers the application built before the removal. */
type ReadFirst = 'none' | 'headers' | 'distinct' | 'both';

describe('removeHeaders', () => {
  let server: http.Server;
  let port: number;
  let seen: Seen[];
  let readFirst: ReadFirst = 'none';
  let removing: readonly string[] = REMOVED;

  before(async () => {
    seen = [];
    server = http.createServer((req, res) => {
      const values = removing.map((name): [string | undefined, unknown] => [
        rawHeaderValue(req.rawHeaders, name),
        name,
      ]);
      if (readFirst === 'headers' || readFirst === 'both') req.headers;
      if (readFirst === 'distinct' || readFirst === 'both') req.headersDistinct;
      if (readFirst !== 'none') for (const value of values) value[1] = req.headers[value[1] as string];
      removeHeaders(req, removing);
      seen.push({
        headers: { ...req.headers },
        keys: Object.keys(req.headers),
        distinctKeys: Object.keys(req.headersDistinct),
        raw: [...req.rawHeaders],
        values,
      });
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(() => {
    server.close();
  });

  /** Sends one request with `lines` as its header lines, as written; resolves once it is answered. */
  function send(lines: string[]): Promise<Seen> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(`GET / HTTP/1.1\r\n${lines.join('\r\n')}\r\nConnection: close\r\n\r\n`);
      });
      socket.on('error', reject);
      socket.on('data', () => {});
      socket.on('close', () => resolve(seen[seen.length - 1]));
    });
  }

  const cases: [string, string[]][] = [
    ['last', ['Host: a', 'Accept: */*', 'X-Request-Debug: *', 'X-Request-Debug-Token: t']],
    ['first', ['X-Request-Debug: *', 'X-REQUEST-DEBUG-LOG: true', 'Host: a', 'Accept: */*']],
    ['between others', ['Host: a', 'x-request-debug-token: t', 'Accept: */*', 'X-Request-Debug: *', 'X-Other: o']],
    ['repeated', ['Host: a', 'X-Request-Debug: *', 'Accept: */*', 'x-request-debug: no', 'X-Request-Debug: *']],
  ];
  for (const [where, lines] of cases) {
    it(`removes them ${where}, and keeps the others in order`, async () => {
      const got = await send(lines);
      const kept = lines.map((line) => line.split(': ')).filter(([name]) => !REMOVED.includes(name.toLowerCase()));
      expect(got.raw).to.deep.equal([...kept.flat(), 'Connection', 'close']);
      expect(got.keys).to.deep.equal([...new Set(kept.map(([name]) => name.toLowerCase())), 'connection']);
      for (const name of REMOVED) expect(got.headers).to.not.have.property(name);
    });
  }

  // Names no instrumentation of the test process removes first (the timing one, enabled by other tests, removes REMOVED).
  const OTHERS = ['x-drop', 'x-drop-token', 'x-drop-log'];
  for (const first of ['headers', 'distinct', 'both'] as const) {
    it(`removes them from parsed headers the application built first (${first})`, async () => {
      readFirst = first;
      removing = OTHERS;
      try {
        const got = await send(['Host: a', 'X-Drop: *', 'Accept: */*', 'x-drop: no', 'X-Drop: *', 'X-Drop-Token: t']);
        for (const name of OTHERS) {
          expect(got.headers).to.not.have.property(name);
          expect(got.distinctKeys).to.not.include(name);
        }
        expect(got.distinctKeys).to.deep.equal(['host', 'accept', 'connection']);
        // Read as req.headers gives them: repeated values joined, as Node joins a header it does not know.
        expect(got.values).to.deep.equal([
          ['*, no, *', '*, no, *'],
          ['t', 't'],
          [undefined, undefined],
        ]);
      } finally {
        readFirst = 'none';
        removing = REMOVED;
      }
    });
  }

  // Node builds req.headers before emitting 'request' (its Expect check): removed at request start, as the server integration does when it prepares requests there.
  it('leaves parsed headers not built before the removal in fast mode (no delete made them a dictionary)', async () => {
    const out = await runNode([
      '--allow-natives-syntax',
      '--require',
      'tsx',
      '-e',
      `
      const http = require('node:http');
      const diagnostics = require('node:diagnostics_channel');
      const { removeHeaders } = require('./src/server/raw-headers');
      diagnostics.subscribe('http.server.request.start', ({ request }) => removeHeaders(request, ['x-request-debug']));
      const server = http.createServer((req, res) => {
        const fast = %HasFastProperties(req.headers);
        res.end(JSON.stringify({ fast, removed: !('x-request-debug' in req.headers), host: req.headers.host }));
      });
      server.listen(0, '127.0.0.1', () => {
        http.get({ port: server.address().port, host: '127.0.0.1', headers: { 'X-Request-Debug': '*' } }, (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => { console.log(body); server.close(); });
        });
      });
      `,
    ]);
    const got = JSON.parse(out) as { fast: boolean; removed: boolean; host: string };
    expect(got.fast).to.equal(true);
    expect(got.removed).to.equal(true);
    expect(got.host).to.match(/^127\.0\.0\.1:\d+$/);
  });

  it('removes them from a message of another kind, with plain headers and no Node internals', () => {
    const message = { headers: { 'x-drop': '*', host: 'a' }, rawHeaders: ['X-Drop', '*', 'Host', 'a'] };
    removeHeaders(message as never, ['x-drop']);
    expect(message).to.deep.equal({ headers: { host: 'a' }, rawHeaders: ['Host', 'a'] });
  });

  it('leaves a request without them as it was', async () => {
    const got = await send(['Host: a', 'X-Request-Debugger: kept', 'Accept: */*']);
    expect(got.raw).to.deep.equal(['Host', 'a', 'X-Request-Debugger', 'kept', 'Accept', '*/*', 'Connection', 'close']);
    expect(got.headers['x-request-debugger']).to.equal('kept');
  });
});
