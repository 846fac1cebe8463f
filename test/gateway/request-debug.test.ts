// Kong's spec/02-integration/21-request-debug/01-request-debug_spec.lua,
// ported to examples/gateway: the same cases, against a real gateway, a
// real upstream that waits 250 ms for its first byte and 400 ms more while
// streaming, a real redis-server, and the real instrumentations.
import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { createGateway as CreateGateway, Gateway } from '../../examples/gateway/gateway';
import { createUpstream } from '../../examples/gateway/upstream';
import { type Tree } from '../helpers/debugged';
import { close, listen, send } from '../helpers/http';
import { libraryInstrumentations } from '../helpers/library-instrumentations';
import { startRedisServer, type RedisServer } from '../helpers/redis-server';
import { eventually, parseLogOutput, timingHarness } from '../helpers/timing-harness';

const TOKEN = '01dd4c9e-cb5e-4b26-9e49-4eb0509fbd68';
const TIME_TO_FIRST_BYTE = 250;
const STREAMING = 400;
const REMOTE = '1.1.1.1';

describe("examples/gateway: Kong's request-debug spec", () => {
  const harness = timingHarness();
  let upstream: http.Server;
  let redis: RedisServer;
  let gateway: Gateway;
  let base: string;
  let upstreamPort: number;
  let deadPort: number;

  before(async () => {
    libraryInstrumentations();
    upstream = createUpstream();
    const upstreamBase = await listen(upstream);
    const port = Number(new URL(upstreamBase).port);
    upstreamPort = port;
    redis = await startRedisServer();
    // Loaded now, after the instrumentations, as an application loads its modules.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createGateway } = require('../../examples/gateway/gateway') as { createGateway: typeof CreateGateway };
    const dead = http.createServer();
    deadPort = Number(new URL(await listen(dead)).port);
    await close(dead);
    const route = (
      name: string,
      path: string,
      service: string,
      plugins: { name: string; config?: Record<string, unknown> }[] = [],
    ) => ({
      name,
      paths: [path],
      service,
      workspace: `ws-${name}`,
      plugins,
    });
    const policy = `http://127.0.0.1:${port}/policy`;
    gateway = createGateway(
      {
        services: {
          fast: { url: `http://localhost:${port}/` },
          slow: { url: `http://localhost:${port}/slow` },
          flaky: { targets: [`localhost:${deadPort}`, `localhost:${port}`] },
        },
        routes: [
          route('root', '/', 'fast'),
          route('dummy', '/dummy', 'fast'),
          route('slow', '/slow-streaming', 'slow'),
          route('spans', '/mutiple-spans', 'fast'),
          route('subrequests', '/subrequests', 'fast', [{ name: 'buffering-response' }]),
          route('external', '/external_http', 'fast', [
            { name: 'external-http-calls', config: { calls: 1, url: policy } },
          ]),
          route('redis', '/redis', 'fast', [{ name: 'rate-limiting', config: { minute: 9999 } }]),
          route(
            'large',
            '/large_debug_output',
            'fast',
            Array.from({ length: 40 }, () => ({ name: 'external-http-calls', config: { calls: 1, url: policy } })),
          ),
          route('retry', '/retry', 'flaky'),
          route('invalid', '/invalid_header', 'fast'),
        ],
      },
      { redis: { host: '127.0.0.1', port: redis.port } },
    );
    await new Promise<void>((resolve) => gateway.server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await gateway.close();
    await close(upstream);
    await redis.stop();
  });
  beforeEach(() => {
    harness.configure({
      headerPrefix: 'X-Kong-Request-Debug',
      token: TOKEN,
      trustedProxies: ['127.0.0.0/8', '::1'],
      clientAddressHeader: 'x-real-ip',
    });
    harness.reset();
  });

  function headers(filter = '*', fakeIp?: string, token?: string, log = false): Record<string, string> {
    return {
      'X-Kong-Request-Debug': filter,
      'X-Real-IP': fakeIp ?? '127.0.0.1',
      ...(token !== undefined ? { 'X-Kong-Request-Debug-Token': token } : {}),
      ...(log ? { 'X-Kong-Request-Debug-Log': 'true' } : {}),
    };
  }

  async function outputHeader(
    path: string,
    filter?: string,
    fakeIp?: string,
    token?: string,
  ): Promise<Tree | undefined> {
    const reply = await send(`${base}${path}`, headers(filter, fakeIp, token));
    expect(reply.status).to.not.equal(500, reply.body);
    const value = reply.headers['x-kong-request-debug-output'];
    if (typeof value !== 'string') return undefined;
    const tree = JSON.parse(value) as Tree;
    expect(tree.dangling, 'nothing left open').to.equal(undefined);
    return tree;
  }

  /** The log output of one request (and whether it came in parts), or undefined if none was logged. */
  async function outputLog(
    path: string,
    filter?: string,
    fakeIp?: string,
    token?: string,
  ): Promise<{ tree: Tree; parts: number } | undefined> {
    harness.reset();
    const reply = await send(`${base}${path}`, headers(filter, fakeIp, token, true));
    expect(reply.status).to.not.equal(500);
    const value = reply.headers['x-kong-request-debug-output'];
    if (typeof value !== 'string') {
      await new Promise((r) => setTimeout(r, 50));
      return harness.logLines.length === 0 ? undefined : { tree: parseLogOutput(harness.logLines), parts: 0 };
    }
    const requestId = (JSON.parse(value) as Tree).request_id as string;
    await eventually(() => harness.logOf(requestId).length > 0);
    const lines = harness.logOf(requestId);
    const tree = parseLogOutput(lines) as Tree;
    expect(tree.dangling).to.equal(undefined);
    expect(tree.request_id).to.equal(requestId);
    return { tree, parts: lines.length };
  }

  /** Kong's assert_total_time_is_float: every total_time a number in ms with at most 2 decimals. */
  function assertTotalTimes(tree: Tree, path = '$'): void {
    if (tree.total_time !== undefined) {
      expect(tree.total_time, `${path}.total_time`).to.be.a('number');
      expect(Math.round(tree.total_time * 100) / 100, `${path}.total_time`).to.equal(tree.total_time);
    }
    for (const [name, child] of Object.entries(tree.child ?? {})) assertTotalTimes(child, `${path}.${name}`);
  }

  describe('switching it on and off', () => {
    it('is enabled by default', async () => {
      harness.configure({ headerPrefix: 'X-Kong-Request-Debug' });
      expect(await outputHeader('/')).to.be.an('object');
    });

    it('can be disabled manually', async () => {
      harness.configure({ headerPrefix: 'X-Kong-Request-Debug', requestDebug: false });
      expect(await outputHeader('/')).to.equal(undefined);
    });

    it('generates a token randomly if not set', async () => {
      harness.configure({
        headerPrefix: 'X-Kong-Request-Debug',
        trustedProxies: ['127.0.0.0/8'],
        clientAddressHeader: 'x-real-ip',
      });
      const token = harness.instrumentation.token;
      expect(await outputHeader('/', '*', REMOTE, token)).to.be.an('object');
      expect(await outputHeader('/', '*', REMOTE, 'invalid-token')).to.equal(undefined);
    });

    it('takes a token set manually', async () => {
      expect(harness.instrumentation.token).to.equal(TOKEN);
      expect(await outputHeader('/', '*', REMOTE, TOKEN)).to.be.an('object');
      expect(await outputHeader('/', '*', REMOTE, 'invalid-token')).to.equal(undefined);
    });
  });

  it('does nothing if there is no debug header', async () => {
    const reply = await send(`${base}/`);
    expect(reply.status).to.equal(200);
    expect(reply.headers).to.not.have.property('x-kong-request-debug-output');
    await new Promise((r) => setTimeout(r, 20));
    expect(harness.spans()).to.deep.equal([]);
  });

  it("clients from the loopback don't need a token", async () => {
    expect(await outputHeader('/')).to.be.an('object');
  });

  it('clients from the non-loopback need a token (header and log)', async () => {
    expect(await outputHeader('/', '*', REMOTE)).to.equal(undefined);
    expect(await outputLog('/', '*', REMOTE)).to.equal(undefined);
    expect(await outputHeader('/', '*', REMOTE, TOKEN)).to.be.an('object');
  });

  it('has request_id and workspace_id', async () => {
    const header = await outputHeader('/dummy');
    const log = await outputLog('/dummy');
    expect(header?.request_id).to.be.a('string');
    expect(header?.workspace_id).to.equal('ws-dummy');
    expect(log?.tree.request_id).to.be.a('string');
    expect(log?.tree.workspace_id).to.equal('ws-dummy');
  });

  it('upstream span: time_to_first_byte in the header, streaming in the log', async () => {
    const header = (await outputHeader('/slow-streaming')) as Tree;
    const log = (await outputLog('/slow-streaming'))?.tree as Tree;
    const upstreamHeader = header.child?.upstream as Tree;
    const ttfbHeader = upstreamHeader.child?.time_to_first_byte.total_time as number;
    expect(upstreamHeader.child?.streaming).to.equal(undefined);
    expect(upstreamHeader.total_time).to.equal(ttfbHeader);

    const upstreamLog = log.child?.upstream as Tree;
    const ttfbLog = upstreamLog.child?.time_to_first_byte.total_time as number;
    const streaming = upstreamLog.child?.streaming.total_time as number;
    assertTotalTimes(header);
    assertTotalTimes(log);
    expect(ttfbHeader).to.be.closeTo(ttfbLog, 50);
    expect(upstreamLog.total_time).to.be.closeTo(ttfbLog + streaming, 1e-9);
    expect(ttfbLog).to.be.closeTo(TIME_TO_FIRST_BYTE, 50);
    expect(streaming).to.be.closeTo(STREAMING, 50);
  });

  it('rewrite, access, balancer, header_filter, body_filter, log, plugin and dns spans', async () => {
    const header = (await outputHeader('/mutiple-spans')) as Tree;
    const log = (await outputLog('/mutiple-spans'))?.tree as Tree;
    for (const output of [header, log]) {
      expect(output.child).to.include.keys('rewrite', 'access', 'balancer', 'header_filter');
      expect(output.child?.access.child).to.include.keys('dns', 'router');
      expect(output.child?.access.child?.dns.child?.localhost.child?.resolve.cache_hit).to.be.a('boolean');
      assertTotalTimes(output);
    }
    expect(log.child).to.include.keys('body_filter', 'log');
    const names = harness.spans().map((s) => s.name);
    expect(names).to.include.members(['rewrite', 'access', 'router', 'dns', 'localhost', 'resolve', 'balancer', 'log']);
  });

  it('subrequests involved: a buffered response runs the response phase', async () => {
    const header = (await outputHeader('/subrequests')) as Tree;
    const log = (await outputLog('/subrequests'))?.tree as Tree;
    for (const output of [header, log]) {
      expect(output.child).to.include.keys('rewrite', 'access', 'response');
      expect(output.child?.access.child).to.include.keys('dns', 'router');
      expect(output.child?.response.child).to.include.keys('balancer', 'header_filter', 'plugins');
      expect(output.child?.response.child?.plugins.child).to.have.property('buffering-response');
      assertTotalTimes(output);
    }
    expect(log.child).to.include.keys('body_filter', 'log');
    expect(log.child?.response.child).to.have.property('body_filter');
  });

  it('external_http span inside the plugin', async () => {
    const header = (await outputHeader('/external_http')) as Tree;
    const log = (await outputLog('/external_http'))?.tree as Tree;
    for (const output of [header, log]) {
      const plugin = output.child?.access.child?.plugins.child?.['external-http-calls'] as Tree;
      const instances = Object.values(plugin.child ?? {});
      expect(instances).to.have.length(1);
      expect(instances[0].child).to.have.property('external_http');
      assertTotalTimes(output);
    }
  });

  it('redis span inside the rate-limiting plugin', async () => {
    const header = (await outputHeader('/redis')) as Tree;
    const log = (await outputLog('/redis'))?.tree as Tree;
    for (const output of [header, log]) {
      const plugin = output.child?.access.child?.plugins.child?.['rate-limiting'] as Tree;
      const instance = Object.values(plugin.child ?? {})[0];
      expect(instance.child).to.have.property('redis');
      expect(instance.child?.redis.child).to.include.keys('incr');
      assertTotalTimes(output);
    }
  });

  it('truncates the header and splits the log for a large output', async () => {
    const header = (await outputHeader('/large_debug_output', '*', REMOTE, TOKEN)) as Tree;
    const log = await outputLog('/large_debug_output', '*', REMOTE, TOKEN);
    expect(header.truncated).to.equal(true);
    expect(log?.parts).to.be.greaterThan(1);
    const plugins = log?.tree.child?.access.child?.plugins.child?.['external-http-calls'] as Tree;
    expect(Object.keys(plugins.child ?? {})).to.have.length(40);
    assertTotalTimes(log?.tree as Tree);
  });

  it('retries the balancer on a refused connection, and each try shows in the balancer', async () => {
    const reply = await send(`${base}/retry`, headers());
    expect(reply.status).to.equal(200);
    const tree = JSON.parse(reply.headers['x-kong-request-debug-output'] as string) as Tree;
    const balancer = tree.child?.balancer as Tree;
    expect(balancer.tries).to.equal(2);
    expect(Object.keys(balancer.child ?? {})).to.deep.equal(['try_1', 'try_2']);
    const [first, second] = [balancer.child?.try_1 as Tree, balancer.child?.try_2 as Tree];
    expect(first.target).to.equal(`localhost:${deadPort}`);
    expect(first.retrying_after).to.equal(undefined);
    expect(second.target).to.equal(`localhost:${upstreamPort}`);
    expect(second.retrying_after).to.equal('ECONNREFUSED');
    // The retry resolves its target again, from the cache the access phase filled.
    expect(second.child?.dns.child?.localhost.child?.resolve.cache_hit).to.equal(true);
    const spans = harness.spans();
    expect(spans.filter((s) => s.name === 'balancer')).to.have.length(2);
    expect(spans.filter((s) => /^try_\d$/.test(s.name)).map((s) => [s.name, s.attributes.target])).to.deep.equal([
      ['try_1', `localhost:${deadPort}`],
      ['try_2', `localhost:${upstreamPort}`],
    ]);
  });

  it('one try when the first target answers', async () => {
    const tree = (await outputHeader('/dummy')) as Tree;
    expect(tree.child?.balancer.tries).to.equal(1);
    expect(Object.keys(tree.child?.balancer.child ?? {})).to.deep.equal(['try_1']);
  });

  it('an invalid X-Kong-Request-Debug header does not trigger the feature', async () => {
    expect(await outputHeader('/invalid_header', 'invalid')).to.equal(undefined);
    expect(await outputLog('/invalid_header', 'invalid')).to.equal(undefined);
  });
});
