import { expect } from 'chai';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { close, listen, send, type Reply } from '../helpers/http';
import { OtlpReceiver } from '../helpers/otlp-receiver';
import { AppProcess } from '../register/app-process';

// A real application under `node --require dynamic-hooks/register` (the
// built package: run `npm run build` first) receiving SIGTERM while it
// serves debugged requests.
const APP = 'test/fixtures/register/app.cjs';

/** Tries to connect and send a request; resolves with the error code, or 'served'. */
async function tryRequest(url: string): Promise<string> {
  try {
    await send(url);
    return 'served';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  }
}

function traceIdOf(reply: Reply): string {
  const output = reply.headers['x-request-debug-output'];
  expect(output, 'X-Request-Debug-Output').to.be.a('string');
  return (JSON.parse(output as string) as { trace_id: string }).trace_id;
}

describe('hardening: SIGTERM under dynamic-hooks/register', function () {
  this.timeout(30_000);
  let upstream: http.Server;
  let upstreamUrl: string;
  let upstreamDelayMs = 0;
  const apps: AppProcess[] = [];
  const closers: (() => Promise<void>)[] = [];

  function startApp(endpoint: string, env: NodeJS.ProcessEnv = {}): AppProcess {
    const app = new AppProcess(['--require', 'dynamic-hooks/register', APP], {
      OTEL_SERVICE_NAME: 'sigterm-drain',
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      // Spans stay in the batch processor until the shutdown flushes them.
      OTEL_BSP_SCHEDULE_DELAY: '600000',
      OTEL_LOG_LEVEL: 'error',
      UPSTREAM_URL: upstreamUrl,
      ...env,
    });
    apps.push(app);
    return app;
  }

  before(async () => {
    upstream = http.createServer((_req, res) => {
      setTimeout(() => res.end('upstream'), upstreamDelayMs);
    });
    upstreamUrl = await listen(upstream);
  });
  afterEach(async () => {
    upstreamDelayMs = 0;
    await Promise.all(apps.splice(0).map((app) => app.stop()));
    await Promise.all(closers.splice(0).map((closer) => closer()));
  });
  after(() => close(upstream));

  it('refuses new connections at once and exits within DYNAMIC_HOOKS_SHUTDOWN_TIMEOUT_MS when the collector does not answer', async () => {
    // A collector that takes the export request and never answers.
    let exports = 0;
    const silent = http.createServer(() => {
      exports++;
    });
    const silentUrl = await listen(silent);
    closers.push(() => close(silent));

    const app = startApp(silentUrl, { DYNAMIC_HOOKS_SHUTDOWN_TIMEOUT_MS: '1500' });
    const url = await app.ready();
    traceIdOf(await send(url, { 'X-Request-Debug': '*' }));

    const signalled = Date.now();
    app.child.kill('SIGTERM');
    await sleep(150);
    expect(await tryRequest(url), 'a request after SIGTERM').to.equal('ECONNREFUSED');
    const exit = await app.exited;
    const tookMs = Date.now() - signalled;
    expect(exit).to.deep.equal({ code: null, signal: 'SIGTERM' });
    expect(exports, 'the SDK tried to export').to.be.greaterThan(0);
    expect(tookMs, 'from SIGTERM to exit').to.be.within(1_000, 2_500);
  });

  it('lets debugged requests in flight at SIGTERM finish and exports their spans', async () => {
    const receiver = await new OtlpReceiver().start();
    closers.push(() => receiver.stop());
    const app = startApp(receiver.tracesUrl.replace(/\/v1\/traces$/, ''), {
      DYNAMIC_HOOKS_SHUTDOWN_TIMEOUT_MS: '4000',
    });
    const url = await app.ready();
    const before = traceIdOf(await send(url, { 'X-Request-Debug': '*' }));

    // Requests that wait 600 ms for the upstream: in flight when SIGTERM comes.
    upstreamDelayMs = 600;
    const inFlight = Array.from({ length: 6 }, () => send(url, { 'X-Request-Debug': '*' }));
    await sleep(200);
    const signalled = Date.now();
    app.child.kill('SIGTERM');
    await sleep(100);
    const late = await tryRequest(url);

    const replies = await Promise.all(inFlight);
    const exit = await app.exited;
    const tookMs = Date.now() - signalled;
    expect(late, 'a request after SIGTERM').to.equal('ECONNREFUSED');
    expect(exit).to.deep.equal({ code: null, signal: 'SIGTERM' });
    expect(tookMs, 'from SIGTERM to exit').to.be.below(4_000);

    const traceIds = [before, ...replies.map((reply) => traceIdOf(reply))];
    for (const reply of replies) expect(reply.body).to.equal('upstream');
    const exported = new Set(
      receiver.spans.filter((span) => span.name === 'request_debug GET').map((span) => span.traceId),
    );
    for (const traceId of traceIds) expect(exported.has(traceId), `spans of trace ${traceId}`).to.equal(true);
  });

  it('does not wait for keep-alive connections that go idle during the drain', async () => {
    const receiver = await new OtlpReceiver().start();
    closers.push(() => receiver.stop());
    // A server that keeps idle connections for a minute.
    const source = `
      const http = require('node:http');
      const server = http.createServer((_req, res) => setTimeout(() => res.end('slow'), 400));
      server.keepAliveTimeout = 60000;
      server.listen(0, '127.0.0.1', () => console.log('ready http://127.0.0.1:' + server.address().port));
    `;
    const app = new AppProcess(['--require', 'dynamic-hooks/register', '-e', source], {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.tracesUrl.replace(/\/v1\/traces$/, ''),
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_BSP_SCHEDULE_DELAY: '600000',
      DYNAMIC_HOOKS_SHUTDOWN_TIMEOUT_MS: '20000',
    });
    apps.push(app);
    const url = await app.ready();
    const agent = new http.Agent({ keepAlive: true });
    closers.push(() => {
      agent.destroy();
      return Promise.resolve();
    });
    const get = () =>
      new Promise<Reply>((resolve, reject) => {
        http
          .get(url, { agent, headers: { 'X-Request-Debug': '*' } }, (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
          })
          .on('error', reject);
      });
    const inFlight = [get(), get()];
    await sleep(150);
    const signalled = Date.now();
    app.child.kill('SIGTERM');
    const replies = await Promise.all(inFlight);
    const exit = await app.exited;
    expect(exit).to.deep.equal({ code: null, signal: 'SIGTERM' });
    expect(Date.now() - signalled, 'from SIGTERM to exit').to.be.below(2_000);
    const exported = new Set(receiver.spans.map((span) => span.traceId));
    for (const reply of replies) expect(exported.has(traceIdOf(reply))).to.equal(true);
  });

  it('still dies of the signal when nothing is in flight, and ignores a bad DYNAMIC_HOOKS_SHUTDOWN_TIMEOUT_MS', async () => {
    const receiver = await new OtlpReceiver().start();
    closers.push(() => receiver.stop());
    const app = startApp(receiver.tracesUrl.replace(/\/v1\/traces$/, ''), {
      DYNAMIC_HOOKS_SHUTDOWN_TIMEOUT_MS: 'soon',
      OTEL_LOG_LEVEL: 'warn',
    });
    const url = await app.ready();
    const traceId = traceIdOf(await send(url, { 'X-Request-Debug': '*' }));
    app.child.kill('SIGINT');
    expect(await app.exited).to.deep.equal({ code: null, signal: 'SIGINT' });
    expect(receiver.spans.map((span) => span.traceId)).to.include(traceId);
    expect(app.stderr + app.stdout).to.match(/DYNAMIC_HOOKS_SHUTDOWN_TIMEOUT_MS must be milliseconds/);
  });
});
