import { expect } from 'chai';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { timing } from '../../src';
import { close, listen, send } from '../helpers/http';
import { eventually, parseLogOutput, timingHarness } from '../helpers/timing-harness';

type Tree = Record<string, unknown> & { child?: Record<string, Tree> };

const TOKEN = 'test-token-123';
const PROXY_CONFIG = {
  token: TOKEN,
  trustedProxies: ['127.0.0.0/8', '::1/128'],
  clientAddressHeader: 'x-real-ip' as const,
};
/** Headers a trusted proxy (the loopback test client) adds for a non-loopback client. */
const REMOTE = { 'X-Real-IP': '203.0.113.7' };

describe('request debugging over node:http', () => {
  const harness = timingHarness();
  let server: http.Server;
  let base: string;
  let seenHeaders: { headers: http.IncomingHttpHeaders; raw: string[] }[];

  before(async () => {
    seenHeaders = [];
    server = http.createServer((req, res) => {
      seenHeaders.push({ headers: { ...req.headers }, raw: [...req.rawHeaders] });
      const url = new URL(req.url ?? '/', 'http://x');
      const contexts = Number(url.searchParams.get('contexts') ?? '1');
      timing.enterContext('handler');
      const started = performance.now();
      void (async () => {
        for (let i = 0; i < contexts; i++) {
          timing.enterContext(`step_${i}_${'x'.repeat(40)}`);
          timing.setContextProp('index', i);
          await sleep(1);
          timing.leaveContext();
        }
        // What the handler measured itself (inside its context), for the unit check.
        res.setHeader('x-handler-ms', String(performance.now() - started));
        if (url.searchParams.has('open')) {
          // The handler answers before its own work is over: its contexts end when the response starts.
          timing.enterContext('still_open');
          res.end('ok');
          timing.enterContext('after_response');
          timing.leaveContext();
          if (url.searchParams.has('late-leaves')) {
            timing.leaveContext();
            timing.leaveContext();
          }
          return;
        }
        timing.leaveContext();
        res.end('ok');
      })();
    });
    base = await listen(server);
  });
  after(() => close(server));
  beforeEach(() => {
    harness.configure(PROXY_CONFIG);
    harness.reset();
    seenHeaders.length = 0;
  });

  function output(headers: http.IncomingHttpHeaders): Tree | undefined {
    const value = headers['x-request-debug-output'];
    return typeof value === 'string' ? (JSON.parse(value) as Tree) : undefined;
  }

  it('gives no output and no spans for a request without the header', async () => {
    const reply = await send(`${base}/`);
    expect(reply.body).to.equal('ok');
    expect(reply.headers).to.not.have.property('x-request-debug-output');
    await sleep(20);
    expect(harness.logLines).to.deep.equal([]);
    expect(harness.spans()).to.deep.equal([]);
  });

  it('answers a loopback client without a token with the timing tree', async () => {
    const reply = await send(`${base}/`, { 'X-Request-Debug': '*' });
    const tree = output(reply.headers);
    expect(tree).to.be.an('object');
    expect(tree?.child).to.have.keys('rewrite', 'handler', 'header_filter');
    expect(tree?.child?.handler.child).to.have.key(`step_0_${'x'.repeat(40)}`);
    expect(tree?.request_id).to.be.a('string');
    expect(tree?.trace_id).to.match(/^[0-9a-f]{32}$/);
  });

  it('ignores a non-loopback client without the token: no header output, no log output', async () => {
    const reply = await send(`${base}/`, { 'X-Request-Debug': '*', 'X-Request-Debug-Log': 'true', ...REMOTE });
    expect(reply.headers).to.not.have.property('x-request-debug-output');
    await sleep(20);
    expect(harness.logLines).to.deep.equal([]);
    expect(harness.spans()).to.deep.equal([]);
  });

  it('ignores a non-loopback client with a wrong token', async () => {
    const reply = await send(`${base}/`, { 'X-Request-Debug': '*', 'X-Request-Debug-Token': 'wrong', ...REMOTE });
    expect(reply.headers).to.not.have.property('x-request-debug-output');
  });

  it('answers a non-loopback client that sends the token', async () => {
    const reply = await send(`${base}/`, { 'X-Request-Debug': '*', 'X-Request-Debug-Token': TOKEN, ...REMOTE });
    expect(output(reply.headers)?.child).to.include.keys('rewrite', 'handler');
  });

  it('does not take X-Real-IP from a peer that is not a trusted proxy', async () => {
    harness.configure({ token: TOKEN, trustedProxies: ['10.0.0.0/8'], clientAddressHeader: 'x-real-ip' });
    const reply = await send(`${base}/`, { 'X-Request-Debug': '*', ...REMOTE });
    expect(output(reply.headers), 'the loopback peer is the client').to.be.an('object');
  });

  it('reads the client from X-Forwarded-For behind trusted proxies', async () => {
    harness.configure({ ...PROXY_CONFIG, clientAddressHeader: 'x-forwarded-for' });
    const viaForwarded = await send(`${base}/`, {
      'X-Request-Debug': '*',
      'X-Forwarded-For': '198.51.100.1, 127.0.0.5',
    });
    expect(viaForwarded.headers).to.not.have.property('x-request-debug-output');
  });

  for (const value of ['', '1', 'true', '**', '*, *', 'all']) {
    it(`triggers nothing for the header value ${JSON.stringify(value)}`, async () => {
      const reply = await send(`${base}/`, { 'X-Request-Debug': value, 'X-Request-Debug-Log': 'true' });
      expect(reply.headers).to.not.have.property('x-request-debug-output');
      await sleep(20);
      expect(harness.logLines).to.deep.equal([]);
    });
  }

  it('removes the debug headers before the application sees the request, authenticated or not', async () => {
    await send(`${base}/`, { 'X-Request-Debug': '*', 'X-Request-Debug-Token': TOKEN, 'X-Request-Debug-Log': 'true' });
    await send(`${base}/`, { 'X-Request-Debug': '*', 'X-Request-Debug-Token': 'nope', ...REMOTE });
    await send(`${base}/`, { 'X-Request-Debug': 'nonsense', 'X-Other': 'kept' });
    expect(seenHeaders).to.have.length(3);
    for (const seen of seenHeaders) {
      expect(Object.keys(seen.headers).filter((h) => h.startsWith('x-request-debug'))).to.deep.equal([]);
      expect(seen.raw.filter((h) => h.toLowerCase().startsWith('x-request-debug'))).to.deep.equal([]);
    }
    expect(seenHeaders[2].headers['x-other']).to.equal('kept');
  });

  it('puts the same request_id in the header and the log, and logs with the prefix', async () => {
    const reply = await send(`${base}/`, { 'X-Request-Debug': '*', 'X-Request-Debug-Log': 'true' });
    const tree = output(reply.headers);
    const requestId = tree?.request_id as string;
    await eventually(() => harness.logOf(requestId).length > 0);
    const lines = harness.logOf(requestId);
    expect(lines[0]).to.match(new RegExp(`^\\[request-debug\\] request_id: ${requestId} output: \\{`));
    const logged = parseLogOutput(lines) as Tree;
    expect(logged.request_id).to.equal(requestId);
    expect(logged.trace_id).to.equal(tree?.trace_id);
    expect(logged.child).to.include.keys('rewrite', 'handler', 'header_filter', 'body_filter', 'log');
  });

  it('reports total_time as milliseconds with at most two decimals', async () => {
    const reply = await send(`${base}/?contexts=3`, { 'X-Request-Debug': '*' });
    const times: number[] = [];
    const walk = (node: Tree): void => {
      if ('total_time' in node) times.push(node.total_time as number);
      for (const child of Object.values(node.child ?? {})) walk(child);
    };
    walk(output(reply.headers) as Tree);
    expect(times.length).to.be.greaterThan(4);
    for (const t of times) {
      expect(t).to.be.a('number');
      expect(Math.round(t * 100) / 100).to.equal(t);
    }
    // Milliseconds: the handler context spans what the handler measured itself
    // (three 1 ms sleeps), give or take the rounding and the work around it.
    const handler = (output(reply.headers) as Tree).child?.handler.total_time as number;
    const measured = Number(reply.headers['x-handler-ms']);
    expect(measured, 'three 1 ms sleeps').to.be.greaterThan(0);
    expect(handler).to.be.at.least(measured - 0.01);
    expect(handler).to.be.below(measured + 2);
    expect(
      times.some((t) => !Number.isInteger(t)),
      'sub-millisecond precision',
    ).to.equal(true);
  });

  it('aggregates the total_time of same-named sibling contexts', async () => {
    // step_0.. are distinct names; the body_filter of one response runs once per write and end.
    const reply = await send(`${base}/?contexts=2`, { 'X-Request-Debug': '*', 'X-Request-Debug-Log': 'true' });
    const requestId = output(reply.headers)?.request_id as string;
    await eventually(() => harness.logOf(requestId).length > 0);
    const bodyFilterSpans = harness.spans().filter((s) => s.name === 'body_filter');
    const logged = parseLogOutput(harness.logOf(requestId)) as Tree;
    const summed = bodyFilterSpans.reduce((sum, s) => sum + s.duration[0] * 1e3 + s.duration[1] / 1e6, 0);
    expect(logged.child?.body_filter.total_time).to.be.closeTo(summed, 0.02);
  });

  it('truncates large header output for a non-loopback client and splits the full tree in the log', async () => {
    const reply = await send(`${base}/?contexts=60`, {
      'X-Request-Debug': '*',
      'X-Request-Debug-Token': TOKEN,
      ...REMOTE,
    });
    const tree = output(reply.headers) as Tree;
    expect(tree.truncated).to.equal(true);
    expect(tree.message).to.be.a('string');
    const requestId = tree.request_id as string;
    await eventually(() => harness.logOf(requestId).length > 0);
    const lines = harness.logOf(requestId);
    expect(lines.length).to.be.greaterThan(1);
    lines.forEach((line, i) => {
      expect(line).to.include(`[request-debug] request_id: ${requestId} parts: ${i + 1}/${lines.length} output: `);
    });
    const full = parseLogOutput(lines) as Tree;
    expect(Object.keys(full.child?.handler.child ?? {})).to.have.length(60);
  });

  it('keeps large output whole in the header for a loopback client', async () => {
    const reply = await send(`${base}/?contexts=60`, { 'X-Request-Debug': '*' });
    const tree = output(reply.headers) as Tree;
    expect(tree.truncated).to.equal(undefined);
    expect(Object.keys(tree.child?.handler.child ?? {})).to.have.length(60);
  });

  for (const query of ['open', 'open&late-leaves']) {
    it(`ends the contexts a handler left open when its response starts (${query})`, async () => {
      const reply = await send(`${base}/?${query}`, { 'X-Request-Debug': '*', 'X-Request-Debug-Log': 'true' });
      const header = output(reply.headers) as Tree;
      const requestId = header.request_id as string;
      await eventually(() => harness.logOf(requestId).length > 0);
      const logged = parseLogOutput(harness.logOf(requestId)) as Tree;
      expect(Object.keys(header.child ?? {})).to.deep.equal(['rewrite', 'handler', 'header_filter']);
      expect(Object.keys(logged.child ?? {})).to.deep.equal([
        'rewrite',
        'handler',
        'header_filter',
        'body_filter',
        'after_response',
        'log',
      ]);
      for (const tree of [header, logged]) {
        expect(JSON.stringify(tree)).to.not.include('dangling');
        expect(tree.child?.handler.child).to.have.keys(`step_0_${'x'.repeat(40)}`, 'still_open');
        expect(tree.child?.handler.child?.still_open.total_time).to.be.a('number');
      }
      await eventually(() => harness.spans().some((s) => s.name.startsWith('request_debug')));
      expect(harness.spans().filter((s) => s.attributes['dynamic_hooks.dangling'] === true)).to.deep.equal([]);
    });
  }
});
