import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { removeHeaders } from '../../src/server/raw-headers';

// removeHeaders on requests parsed by Node's own parser from raw bytes, so
// that header order, case and repetition are the client's: the named
// headers are gone from both the parsed and the raw headers wherever they
// were, and every other header is kept in its order.

const REMOVED = ['x-request-debug', 'x-request-debug-token', 'x-request-debug-log'];

interface Seen {
  readonly headers: Record<string, unknown>;
  readonly keys: string[];
  readonly raw: string[];
}

describe('removeHeaders', () => {
  let server: http.Server;
  let port: number;
  let seen: Seen[];

  before(async () => {
    seen = [];
    server = http.createServer((req, res) => {
      removeHeaders(req, REMOVED);
      seen.push({ headers: { ...req.headers }, keys: Object.keys(req.headers), raw: [...req.rawHeaders] });
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
      expect(got.keys).to.deep.equal([...kept.map(([name]) => name.toLowerCase()), 'connection']);
      for (const name of REMOVED) expect(got.headers).to.not.have.property(name);
    });
  }

  it('leaves a request without them as it was', async () => {
    const got = await send(['Host: a', 'X-Request-Debugger: kept', 'Accept: */*']);
    expect(got.raw).to.deep.equal(['Host', 'a', 'X-Request-Debugger', 'kept', 'Accept', '*/*', 'Connection', 'close']);
    expect(got.headers['x-request-debugger']).to.equal('kept');
  });
});
