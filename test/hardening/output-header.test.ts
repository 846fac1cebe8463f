// Items 8 and 9 of issue 9: the output header reaches every client (Node's own
// HTTP client included, which refuses response headers over 16 KB), and only
// the library writes it.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import type { createGateway as CreateGateway, Gateway } from '../../examples/gateway/gateway';
import { timing } from '../../src';
import { nodeAt, type Tree } from '../helpers/debugged';
import { close, listen } from '../helpers/http';
import { libraryInstrumentations } from '../helpers/library-instrumentations';
import { PROJECT_ROOT } from '../helpers/run-node';
import { eventually, parseLogOutput, timingHarness } from '../helpers/timing-harness';
import { debugRequest } from './timing-helpers';

const OUTPUT = 'x-request-debug-output';

/** The values of the output header as they came over the wire (one entry per header line). */
function outputLines(reply: { readonly rawHeaders?: string[] }): string[] {
  const raw = reply.rawHeaders ?? [];
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === OUTPUT) values.push(raw[i + 1]);
  return values;
}

/** One request from Node's http client, keeping the raw headers. */
function get(url: string, headers: Record<string, string>): Promise<http.IncomingMessage & { body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk) => (body += String(chunk)));
        res.on('end', () => resolve(Object.assign(res, { body })));
      })
      .on('error', reject);
  });
}

/** Ours: the tree of this request (a request id), not what the application or an upstream wrote. */
function expectOurs(values: string[]): Tree {
  expect(values, 'exactly one output header').to.have.length(1);
  const tree = JSON.parse(values[0]) as Tree;
  expect(tree.request_id).to.be.a('string');
  expect(tree).to.not.have.property('forged');
  return tree;
}

const FORGED = '{"forged":true}';
/** The log output's top level: the 500 contexts and rewrite, header_filter, body_filter, log. */
const CONTEXTS_IN_LOG = 504;

describe('hardening: the output header', () => {
  const harness = timingHarness();

  beforeEach(() => {
    harness.configure({});
    harness.reset();
  });

  describe('size, for a loopback client', () => {
    const handler: http.RequestListener = (_req, res) => {
      for (let i = 0; i < 500; i++) {
        timing.enterContext(`context-${i}`);
        timing.leaveContext();
      }
      res.end('served');
    };

    it('500 contexts: Node reads the response; the header points to the log, which has the whole tree', async () => {
      const { reply, header, tree } = await debugRequest(handler);
      expect(reply.body).to.equal('served');
      expect(header).to.include({ truncated: true });
      expect((reply.headers[OUTPUT] as string).length).to.be.below(1024);
      expect(Object.keys((tree as Tree).child ?? {})).to.have.length(CONTEXTS_IN_LOG);
      expect(nodeAt(tree, 'context-499').total_time).to.be.a('number');
    });

    it('the CLI draws nothing and says where the tree was logged', async () => {
      const server = http.createServer(handler);
      const url = await listen(server);
      try {
        const cli = join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');
        const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
          (resolve) => {
            const child = spawn(process.execPath, [cli, 'debug', `${url}/`]);
            let out = '';
            let err = '';
            child.stdout.on('data', (chunk) => (out += String(chunk)));
            child.stderr.on('data', (chunk) => (err += String(chunk)));
            child.on('close', (exitCode) => resolve({ code: exitCode, stdout: out, stderr: err }));
          },
        );
        expect(code, stderr).to.equal(0);
        const match = /wrote the full tree to its log\s+under\s+request_id\s+([0-9a-f-]{36})\./.exec(stdout);
        expect(match, stdout).to.not.equal(null);
        expect(stdout).to.match(/8\s+KB\s+for\s+a\s+loopback\s+one/);
        const requestId = (match as RegExpExecArray)[1];
        await eventually(() => harness.logOf(requestId).length > 0);
        expect(Object.keys(parseLogOutput(harness.logOf(requestId)).child as object)).to.have.length(CONTEXTS_IN_LOG);
      } finally {
        await close(server);
      }
    });
  });

  describe('ownership, in a debugged request', () => {
    const cases: [string, (res: http.ServerResponse) => void][] = [
      ['writeHead(status, headers)', (res) => res.writeHead(200, { 'X-Request-Debug-Output': FORGED, 'x-kept': 'a' })],
      ['writeHead(status, headers) in lower case', (res) => res.writeHead(200, { [OUTPUT]: FORGED, 'x-kept': 'a' })],
      ['writeHead(status, message, headers)', (res) => res.writeHead(200, 'Fine', { [OUTPUT]: FORGED, 'x-kept': 'a' })],
      ['writeHead(status, rawArray)', (res) => res.writeHead(200, ['X-Request-Debug-Output', FORGED, 'X-Kept', 'a'])],
      [
        'setHeader then writeHead(status)',
        (res) => {
          res.setHeader('X-Request-Debug-Output', FORGED);
          res.setHeader('x-kept', 'a');
          res.writeHead(200);
        },
      ],
      [
        'setHeader then end',
        (res) => {
          res.setHeader('X-Request-Debug-Output', FORGED);
          res.setHeader('x-kept', 'a');
        },
      ],
      [
        'writeHead(status, undefined, headers)',
        (res) => res.writeHead(200, undefined, { [OUTPUT]: FORGED, 'x-kept': 'a' }),
      ],
      [
        'writeHead(status, message, rawArray)',
        (res) => res.writeHead(200, 'Fine', ['X-Request-Debug-Output', FORGED, 'X-Kept', 'a']),
      ],
      [
        'writeHead wrapped by the application (as on-headers does), then end',
        (res) => {
          res.setHeader('x-kept', 'a');
          const writeHead = res.writeHead;
          res.writeHead = function (this: http.ServerResponse, ...args: unknown[]) {
            return Reflect.apply(writeHead, this, args) as http.ServerResponse;
          };
        },
      ],
      [
        "ServerResponse's own writeHead put back (the wrapper bypassed), then end",
        (res) => {
          res.setHeader('X-Request-Debug-Output', FORGED);
          res.setHeader('x-kept', 'a');
          res.writeHead = http.ServerResponse.prototype.writeHead;
        },
      ],
    ];
    it('writeHead(status, message) without headers: ours is written, the message kept', async () => {
      const server = http.createServer((_req, res) => {
        res.writeHead(201, 'Made');
        res.end('served');
      });
      const url = await listen(server);
      try {
        const reply = await get(url, { 'X-Request-Debug': '*' });
        expect(reply.statusCode).to.equal(201);
        expect(reply.statusMessage).to.equal('Made');
        expectOurs(outputLines(reply));
      } finally {
        await close(server);
      }
    });

    it('end alone: ours is the only header, in its configured case', async () => {
      const server = http.createServer((_req, res) => {
        res.end('served');
      });
      const url = await listen(server);
      try {
        const reply = await get(url, { 'X-Request-Debug': '*' });
        expect(reply.body).to.equal('served');
        expect(reply.rawHeaders).to.include('X-Request-Debug-Output');
        expectOurs(outputLines(reply));
      } finally {
        await close(server);
      }
    });
    for (const [name, write] of cases) {
      it(`${name}: ours wins, the application's other headers stay`, async () => {
        const server = http.createServer((_req, res) => {
          write(res);
          res.end('served');
        });
        const url = await listen(server);
        try {
          const reply = await get(url, { 'X-Request-Debug': '*' });
          expect(reply.body).to.equal('served');
          expect(reply.headers['x-kept']).to.equal('a');
          expectOurs(outputLines(reply));
        } finally {
          await close(server);
        }
      });
    }
  });

  describe('headers passed to writeHead reach the client as they do undebugged', () => {
    // Found by a hostile-input probe: ours was set with setHeader first, which
    // made Node merge the passed headers through setHeader: an array of pairs
    // threw (a crash in a plain server), repeated names kept only the last
    // (Node 20), names differing in case merged.
    const forms: [string, (res: http.ServerResponse) => void][] = [
      [
        'an array of pairs',
        (res) =>
          res.writeHead(200, [
            ['Content-Type', 'text/plain'],
            ['X-Kept', 'a'],
          ]),
      ],
      [
        'a flat array with repeated names (an upstream response passed on)',
        (res) => res.writeHead(200, ['Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'X-Kept', 'a']),
      ],
      ['an object with names differing only in case', (res) => res.writeHead(200, { 'X-Kept': 'a', 'x-kept': 'b' })],
      ['a message and an array of pairs', (res) => res.writeHead(200, 'Fine', [['X-Kept', 'a']])],
    ];
    /** The header lines of a reply, without those that differ between two requests or are ours. */
    const headerLines = (reply: http.IncomingMessage): string[] => {
      const lines: string[] = [];
      for (let i = 0; i < reply.rawHeaders.length; i += 2) {
        const name = reply.rawHeaders[i];
        if (!/^(date|connection|keep-alive|x-request-debug-output)$/i.test(name)) {
          lines.push(`${name}: ${reply.rawHeaders[i + 1]}`);
        }
      }
      return lines;
    };
    for (const [name, write] of forms) {
      it(`${name}: the same header lines, plus ours`, async () => {
        const server = http.createServer((_req, res) => {
          write(res);
          res.end('served');
        });
        const url = await listen(server);
        try {
          const plain = await get(url, {});
          const debugged = await get(url, { 'X-Request-Debug': '*' });
          expect(debugged.statusCode).to.equal(200);
          expect(debugged.statusMessage).to.equal(plain.statusMessage);
          expect(debugged.body).to.equal('served');
          expect(headerLines(debugged)).to.deep.equal(headerLines(plain));
          expect(headerLines(plain)).to.include('X-Kept: a');
          expect(outputLines(plain)).to.deep.equal([]);
          expectOurs(outputLines(debugged));
        } finally {
          await close(server);
        }
      });
    }
  });

  describe('a client-sent output header, echoed by the application', () => {
    const echo: http.RequestListener = (req, res) => {
      res.writeHead(200, { ...req.headers, 'x-kept': 'a' });
      res.end('served');
    };

    it('undebugged: the application never sees it', async () => {
      const { reply } = await debugRequest(echo, { debug: false, headers: { 'X-Request-Debug-Output': FORGED } });
      expect(reply.headers['x-kept']).to.equal('a');
      expect(reply.headers).to.not.have.property(OUTPUT);
    });

    it('debugged: the response carries ours', async () => {
      const server = http.createServer(echo);
      const url = await listen(server);
      try {
        const reply = await get(url, { 'X-Request-Debug': '*', 'X-Request-Debug-Output': FORGED });
        expectOurs(outputLines(reply));
      } finally {
        await close(server);
      }
    });
  });

  describe('examples/gateway, with an upstream that sends an output header', () => {
    let upstream: http.Server;
    let gateway: Gateway;
    let base: string;

    before(async () => {
      libraryInstrumentations();
      upstream = http.createServer((_req, res) => {
        res.writeHead(200, { 'X-Request-Debug-Output': FORGED, 'x-upstream': 'yes' });
        res.end('upstream');
      });
      const upstreamUrl = await listen(upstream);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { createGateway } = require('../../examples/gateway/gateway') as { createGateway: typeof CreateGateway };
      gateway = createGateway({
        services: { hostile: { url: `${upstreamUrl}/` } },
        routes: [
          { name: 'streamed', paths: ['/streamed'], service: 'hostile' },
          { name: 'buffered', paths: ['/buffered'], service: 'hostile', plugins: [{ name: 'buffering-response' }] },
        ],
      });
      base = await listen(gateway.server);
    });

    after(async () => {
      await gateway.close();
      await close(upstream);
    });

    for (const route of ['streamed', 'buffered']) {
      it(`${route}: an undebugged request does not get the upstream's`, async () => {
        const reply = await get(`${base}/${route}`, {});
        expect(reply.body).to.equal('upstream');
        expect(reply.headers['x-upstream']).to.equal('yes');
        expect(outputLines(reply)).to.deep.equal([]);
      });

      it(`${route}: a debugged request gets the gateway's`, async () => {
        const reply = await get(`${base}/${route}`, { 'X-Request-Debug': '*' });
        expect(reply.body).to.equal('upstream');
        expect(reply.headers['x-upstream']).to.equal('yes');
        const tree = expectOurs(outputLines(reply));
        expect(tree.child).to.have.property('access');
      });
    }
  });
});
