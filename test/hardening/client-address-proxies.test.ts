import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DiagCapture } from '../helpers/diag-capture';
import { close } from '../helpers/http';
import { timingHarness } from '../helpers/timing-harness';

const TOKEN = 'client-address-token-31c7';
/** The address the outermost proxy saw the (remote) client at. */
const CLIENT = '203.0.113.9';
/** Local addresses the proxies connect from: all loopback, told apart by the server's trustedProxies. */
const NEAR_PROXY = '127.0.0.2';
const FAR_PROXY = '127.0.0.3';

type Mode = 'append-xff' | 'set-x-real-ip' | 'append-forwarded';

interface Reply {
  readonly status: number;
  readonly debugged: boolean;
}

/**
 * A reverse proxy on node:http, in its own process (in this one the timing
 * module would debug the proxy's own requests): it forwards to the port
 * argv[2] from the local address argv[3] and names the client the way real
 * proxies do (argv[1]): appends to `X-Forwarded-For` (cloud load balancers,
 * Envoy), sets `X-Real-IP` replacing the client's (nginx's
 * `proxy_set_header X-Real-IP $remote_addr`), or appends a `Forwarded:
 * for=` element. Every test client is on loopback, so argv[4] maps peers
 * to the addresses the proxy stands for (a remote client at `CLIENT` for
 * the outermost proxy); unmapped peers stay as they are.
 */
const PROXY_SOURCE = `
const http = require('node:http');
const [mode, target, localAddress, map] = process.argv.slice(1);
const seenAs = JSON.parse(map);
const server = http.createServer((req, res) => {
  const peer = seenAs['*'] ?? seenAs[req.socket.remoteAddress] ?? req.socket.remoteAddress;
  const headers = { ...req.headers };
  if (mode === 'append-xff') {
    const prior = headers['x-forwarded-for'];
    headers['x-forwarded-for'] = prior === undefined ? peer : prior + ', ' + peer;
  } else if (mode === 'set-x-real-ip') {
    headers['x-real-ip'] = peer;
  } else {
    const element = 'for=' + (peer.includes(':') ? '"[' + peer + ']"' : peer) + ';proto=http';
    const prior = headers.forwarded;
    headers.forwarded = prior === undefined ? element : prior + ', ' + element;
  }
  const options = { host: '127.0.0.1', port: Number(target), localAddress, method: req.method, path: req.url, headers, agent: false };
  const upstream = http.request(options, (reply) => {
    res.writeHead(reply.statusCode, reply.headers);
    reply.pipe(res);
  });
  upstream.on('error', () => res.writeHead(502).end());
  req.pipe(upstream);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function startProxy(
  mode: Mode,
  target: number,
  localAddress: string,
  seenAs: Record<string, string>,
): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['-e', PROXY_SOURCE, mode, String(target), localAddress, JSON.stringify(seenAs)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    child.once('exit', (code) => reject(new Error(`the proxy exited with ${String(code)}`)));
  });
  return { port, child };
}

/** Sends a debug request (no token unless given) from `localAddress` and reports whether it was debugged. */
function debugRequest(
  port: number,
  headers: Record<string, string>,
  { token, localAddress = '127.0.0.1' }: { token?: string; localAddress?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const all: Record<string, string> = { 'X-Request-Debug': '*', ...headers };
    if (token !== undefined) all['X-Request-Debug-Token'] = token;
    const req = http.request(
      { host: '127.0.0.1', port, localAddress, headers: all, agent: false, maxHeaderSize: 64 * 1024 },
      (res) => {
        res.resume();
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, debugged: res.headers['x-request-debug-output'] !== undefined });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('hardening: the client address behind proxies', () => {
  const harness = timingHarness();
  let app: http.Server;
  let appPort: number;
  const proxies: ChildProcess[] = [];
  const remote = { '127.0.0.1': CLIENT };

  before(async () => {
    // Large enough to take a 10,000-entry X-Forwarded-For.
    app = http.createServer({ maxHeaderSize: 256 * 1024 }, (_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    appPort = (app.address() as AddressInfo).port;
  });
  after(() => close(app));
  afterEach(() => {
    for (const child of proxies.splice(0)) child.kill();
    harness.configure({});
  });

  async function proxy(
    mode: Mode,
    target: number,
    localAddress: string,
    seenAs: Record<string, string> = remote,
  ): Promise<number> {
    const started = await startProxy(mode, target, localAddress, seenAs);
    proxies.push(started.child);
    return started.port;
  }

  /** The `client.address` of the last debugged request's root span. */
  function lastClientAddress(): unknown {
    const roots = harness.spans().filter((span) => span.name.startsWith('request_debug'));
    return roots.at(-1)?.attributes['client.address'];
  }

  async function clientSeen(port: number, headers: Record<string, string> = {}, localAddress?: string) {
    harness.reset();
    const reply = await debugRequest(port, headers, { token: TOKEN, localAddress });
    expect(reply.status).to.equal(200);
    expect(reply.debugged, 'the request with the token was not debugged').to.equal(true);
    return lastClientAddress();
  }

  describe('a proxy that appends to X-Forwarded-For (cloud load balancer, Envoy)', () => {
    beforeEach(() => {
      harness.configure({ token: TOKEN, trustedProxies: [NEAR_PROXY] });
    });

    it("does not give a client's own X-Real-IP: 127.0.0.1 loopback treatment", async () => {
      const port = await proxy('append-xff', appPort, NEAR_PROXY);
      const spoofed = await debugRequest(port, { 'X-Real-IP': '127.0.0.1' });
      expect(spoofed.status).to.equal(200);
      expect(spoofed.debugged, 'a spoofed X-Real-IP got token-less debugging').to.equal(false);
      expect(await clientSeen(port, { 'X-Real-IP': '127.0.0.1' })).to.equal(CLIENT);
    });

    it("does not give a client's own X-Forwarded-For: 127.0.0.1 loopback treatment", async () => {
      const port = await proxy('append-xff', appPort, NEAR_PROXY);
      for (const spoof of ['127.0.0.1', '::1', `127.0.0.1, ${NEAR_PROXY}`, '127.0.0.1:80', '[::1]:80']) {
        const reply = await debugRequest(port, { 'X-Forwarded-For': spoof });
        expect(reply.debugged, `X-Forwarded-For: ${spoof}`).to.equal(false);
      }
      expect(await clientSeen(port, { 'X-Forwarded-For': '127.0.0.1' })).to.equal(CLIENT);
    });

    it('serves a loopback client behind the proxy without a token, as on the proxy host', async () => {
      const port = await proxy('append-xff', appPort, NEAR_PROXY, {});
      const reply = await debugRequest(port, {});
      expect(reply.debugged).to.equal(true);
    });

    it('takes the header only from a trusted peer', async () => {
      // The test client connects directly from 127.0.0.1, which is not NEAR_PROXY.
      harness.configure({ token: TOKEN, trustedProxies: [NEAR_PROXY] });
      expect(await clientSeen(appPort, { 'X-Forwarded-For': CLIENT })).to.equal('127.0.0.1');
    });
  });

  it('nginx setting X-Real-IP, with clientAddressHeader x-real-ip', async () => {
    harness.configure({ token: TOKEN, trustedProxies: [NEAR_PROXY], clientAddressHeader: 'x-real-ip' });
    const port = await proxy('set-x-real-ip', appPort, NEAR_PROXY);
    const spoofed = await debugRequest(port, { 'X-Real-IP': '127.0.0.1', 'X-Forwarded-For': '127.0.0.1' });
    expect(spoofed.debugged).to.equal(false);
    expect(await clientSeen(port, { 'X-Real-IP': '127.0.0.1' })).to.equal(CLIENT);
  });

  it('a proxy appending Forwarded (RFC 7239), with clientAddressHeader forwarded', async () => {
    harness.configure({ token: TOKEN, trustedProxies: [NEAR_PROXY], clientAddressHeader: 'forwarded' });
    const port = await proxy('append-forwarded', appPort, NEAR_PROXY);
    const spoofed = await debugRequest(port, { Forwarded: 'for=127.0.0.1', 'X-Real-IP': '127.0.0.1' });
    expect(spoofed.debugged).to.equal(false);
    expect(await clientSeen(port, { Forwarded: 'for="[::1]:80"' })).to.equal(CLIENT);
    const v6 = await proxy('append-forwarded', appPort, NEAR_PROXY, { '*': '2001:db8::7' });
    expect(await clientSeen(v6)).to.equal('2001:db8::7');
  });

  describe('two hops: a CDN appending X-Forwarded-For in front of a load balancer appending it', () => {
    async function chain(): Promise<number> {
      const balancer = await proxy('append-xff', appPort, NEAR_PROXY, {});
      return proxy('append-xff', balancer, FAR_PROXY);
    }

    it('with both proxies in trustedProxies', async () => {
      harness.configure({ token: TOKEN, trustedProxies: [NEAR_PROXY, FAR_PROXY] });
      const port = await chain();
      expect((await debugRequest(port, { 'X-Forwarded-For': '127.0.0.1' })).debugged).to.equal(false);
      expect(await clientSeen(port, { 'X-Forwarded-For': '127.0.0.1' })).to.equal(CLIENT);
    });

    it('with trustedHops: 2', async () => {
      harness.configure({ token: TOKEN, trustedProxies: [NEAR_PROXY], trustedHops: 2 });
      const port = await chain();
      expect((await debugRequest(port, { 'X-Forwarded-For': '127.0.0.1, ::1' })).debugged).to.equal(false);
      expect(await clientSeen(port, { 'X-Forwarded-For': '127.0.0.1' })).to.equal(CLIENT);
    });

    it('with trustedHops: 1, the far proxy is the client', async () => {
      harness.configure({ token: TOKEN, trustedProxies: [NEAR_PROXY], trustedHops: 1 });
      expect(await clientSeen(await chain())).to.equal(FAR_PROXY);
    });
  });

  describe('malformed X-Forwarded-For from a trusted peer', () => {
    beforeEach(() => {
      harness.configure({ token: TOKEN, trustedProxies: [NEAR_PROXY] });
    });

    const manyTrusted = Array.from({ length: 10_000 }, () => NEAR_PROXY).join(', ');
    const cases: [string, string, string | undefined][] = [
      ['empty', '', undefined],
      ['blank', ' ,  , ', undefined],
      ['garbage', 'not an address', undefined],
      ['garbage after the client', `${CLIENT}, garbage`, undefined],
      ['garbage before the client', `garbage, ${CLIENT}`, CLIENT],
      ['"unknown"', 'unknown', undefined],
      ['10,000 trusted entries', manyTrusted, undefined],
      ['10,000 entries', Array.from({ length: 10_000 }, (_, i) => `10.0.${i % 250}.1`).join(','), '10.0.249.1'],
      ['10,000 commas', ','.repeat(10_000), undefined],
      ['a 20 KB entry', 'x'.repeat(20_000), undefined],
      ['IPv6', '2001:db8::1', '2001:db8::1'],
      ['IPv6 with a port', '[2001:db8::1]:4711', '2001:db8::1'],
      ['IPv6 unclosed bracket', '[2001:db8::1', undefined],
      ['IPv4 with a port', `${CLIENT}:4711`, CLIENT],
      ['IPv4 with a bad port', `${CLIENT}:http`, undefined],
      ['mapped IPv4', '::ffff:203.0.113.9', '::ffff:203.0.113.9'],
      ['CIDR', '10.0.0.0/8', undefined],
    ];
    for (const [name, value, expected] of cases) {
      it(`${name}: no crash, ${expected === undefined ? 'an unknown client, never loopback' : expected}`, async () => {
        // Sent straight from NEAR_PROXY: the header as a proxy would pass it on.
        const headers = { 'X-Forwarded-For': value };
        const without = await debugRequest(appPort, headers, { localAddress: NEAR_PROXY });
        expect(without.status).to.equal(200);
        expect(without.debugged, 'debugged without a token').to.equal(false);
        expect(await clientSeen(appPort, headers, NEAR_PROXY)).to.equal(expected);
      });
    }
  });

  describe('configuration', () => {
    it('rejects bad options with an error naming the option', () => {
      expect(() => harness.configure({ clientAddressHeader: 'x-client-ip' as 'x-real-ip' })).to.throw(
        TypeError,
        /clientAddressHeader must be one of 'x-forwarded-for', 'x-real-ip', 'forwarded', got "x-client-ip"/,
      );
      expect(() => harness.configure({ trustedHops: -1 })).to.throw(RangeError, /trustedHops must be from 0 to 32/);
      expect(() => harness.configure({ trustedHops: 33 })).to.throw(RangeError, /trustedHops/);
      expect(() => harness.configure({ trustedHops: '2' as unknown as number })).to.throw(
        TypeError,
        /trustedHops must be an integer, got "2"/,
      );
      expect(() => harness.configure({ trustedProxies: '10.0.0.0/8' as unknown as string[] })).to.throw(
        TypeError,
        /trustedProxies must be an array/,
      );
      expect(() => harness.configure({ trustedProxies: ['10.0.0.0/8', 'localhost'] })).to.throw(
        TypeError,
        /trustedProxies: 'localhost'/,
      );
    });

    it('accepts the header name in any case', async () => {
      harness.configure({
        token: TOKEN,
        trustedProxies: [NEAR_PROXY],
        clientAddressHeader: 'X-Real-IP' as 'x-real-ip',
      });
      expect(await clientSeen(appPort, { 'X-Real-IP': CLIENT }, NEAR_PROXY)).to.equal(CLIENT);
    });

    it('trusts no header by default, and warns when a header is named without a trusted proxy', async () => {
      harness.configure({ token: TOKEN });
      expect(await clientSeen(appPort, { 'X-Real-IP': CLIENT, 'X-Forwarded-For': CLIENT }, NEAR_PROXY)).to.equal(
        NEAR_PROXY,
      );
      const capture = new DiagCapture().install();
      try {
        harness.configure({ token: TOKEN, clientAddressHeader: 'x-real-ip' });
      } finally {
        capture.uninstall();
      }
      expect(capture.warnings().join('\n')).to.match(/clientAddressHeader has no effect without trustedProxies/);
    });

    it('reads DYNAMIC_HOOKS_TRUSTED_PROXIES, _CLIENT_ADDRESS_HEADER and _TRUSTED_HOPS, and ignores bad values', async () => {
      const names = [
        'DYNAMIC_HOOKS_TRUSTED_PROXIES',
        'DYNAMIC_HOOKS_CLIENT_ADDRESS_HEADER',
        'DYNAMIC_HOOKS_TRUSTED_HOPS',
      ] as const;
      const capture = new DiagCapture().install();
      try {
        process.env.DYNAMIC_HOOKS_TRUSTED_PROXIES = ` 10.9.9.9/32 , ${NEAR_PROXY},`;
        process.env.DYNAMIC_HOOKS_CLIENT_ADDRESS_HEADER = 'x-real-ip';
        harness.configure({ token: TOKEN });
        expect(await clientSeen(appPort, { 'X-Real-IP': CLIENT }, NEAR_PROXY)).to.equal(CLIENT);

        process.env.DYNAMIC_HOOKS_CLIENT_ADDRESS_HEADER = '';
        process.env.DYNAMIC_HOOKS_TRUSTED_HOPS = '2';
        harness.configure({ token: TOKEN });
        expect(await clientSeen(appPort, { 'X-Forwarded-For': `${CLIENT}, 10.1.1.1` }, NEAR_PROXY)).to.equal(CLIENT);

        process.env.DYNAMIC_HOOKS_TRUSTED_PROXIES = 'everyone';
        process.env.DYNAMIC_HOOKS_TRUSTED_HOPS = 'two';
        process.env.DYNAMIC_HOOKS_CLIENT_ADDRESS_HEADER = 'true-client-ip';
        harness.configure({ token: TOKEN });
        expect(await clientSeen(appPort, { 'X-Forwarded-For': CLIENT }, NEAR_PROXY)).to.equal(NEAR_PROXY);
      } finally {
        capture.uninstall();
        for (const name of names) Reflect.deleteProperty(process.env, name);
      }
      const warnings = capture.warnings().join('\n');
      expect(warnings).to.match(/DYNAMIC_HOOKS_TRUSTED_PROXIES ignored: trustedProxies: 'everyone'/);
      expect(warnings).to.match(/DYNAMIC_HOOKS_TRUSTED_HOPS ignored: DYNAMIC_HOOKS_TRUSTED_HOPS must be an integer/);
      expect(warnings).to.match(
        /DYNAMIC_HOOKS_CLIENT_ADDRESS_HEADER ignored: DYNAMIC_HOOKS_CLIENT_ADDRESS_HEADER must/,
      );
    });
  });
});
