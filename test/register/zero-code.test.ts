import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeAt, type Tree } from '../helpers/debugged';
import { send, type Reply } from '../helpers/http';
import type { OtlpSpan } from '../helpers/otlp-receiver';
import { startRedisServer, type RedisServer } from '../helpers/redis-server';
import { eventually } from '../helpers/timing-harness';
import { AppProcess } from './app-process';
import { useAppPeers } from './app-peers';

// Real application processes with no telemetry code, started by
// `node --require dynamic-hooks/register` / `--import dynamic-hooks/register`
// (the built package: run `npm run build` first), configured only through the
// environment, exporting to a real OTLP/HTTP peers.receiver.
const CJS_APP = 'test/fixtures/register/app.cjs';
const ESM_APP = 'test/fixtures/register/app.mjs';

describe('zero-code start (dynamic-hooks/register)', function () {
  this.timeout(30_000);
  const peers = useAppPeers();

  /** Starts an app whose only telemetry configuration is its environment. */
  function startApp(nodeArgs: readonly string[], env: NodeJS.ProcessEnv): AppProcess {
    const app = new AppProcess(nodeArgs, {
      OTEL_EXPORTER_OTLP_ENDPOINT: peers.receiver.tracesUrl.replace(/\/v1\/traces$/, ''),
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      // The receiver takes traces only.
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      // Spans stay in the batch processor until something flushes it.
      OTEL_BSP_SCHEDULE_DELAY: '600000',
      OTEL_LOG_LEVEL: 'warn',
      // A configured token is never printed: stderr stays empty unless something is wrong.
      DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: 'zero-code-token',
      UPSTREAM_URL: peers.upstreamUrl,
      ...env,
    });
    peers.apps.push(app);
    return app;
  }

  function spansOf(service: string): OtlpSpan[] {
    return peers.receiver.spans.filter((span) => span.serviceName === service);
  }

  /** Sends `X-Request-Debug: *` to `url`: the reply and the tree of its header output. */
  async function debugRequest(url: string): Promise<{ reply: Reply; tree: Tree }> {
    const reply = await send(url, { 'X-Request-Debug': '*' });
    const output = reply.headers['x-request-debug-output'];
    expect(output, 'X-Request-Debug-Output').to.be.a('string');
    return { reply, tree: JSON.parse(output as string) as Tree };
  }

  describe('CommonJS: node --require dynamic-hooks/register', () => {
    it('times a debug request, exports it under OTEL_SERVICE_NAME at SIGTERM, and still dies of SIGTERM', async () => {
      const service = 'zero-code-cjs';
      // A sampler that drops everything: RequestDebugSampler must wrap it.
      const app = startApp(['--require', 'dynamic-hooks/register', CJS_APP], {
        OTEL_SERVICE_NAME: service,
        OTEL_TRACES_SAMPLER: 'always_off',
      });
      const url = await app.ready();
      const upstreamHost = peers.upstreamUrl.replace(/^http:\/\//, '');

      const plain = await send(url);
      expect(plain.body).to.equal('upstream');
      expect(plain.headers).to.not.have.property('x-request-debug-output');

      const { reply, tree } = await debugRequest(url);
      expect(reply.body).to.equal('upstream');
      expect(nodeAt(tree, 'rewrite').total_time).to.be.a('number');
      expect(nodeAt(tree, 'dns', 'localhost', 'resolve').total_time).to.be.a('number');
      expect(nodeAt(tree, 'external_http', `http://${upstreamHost}`, 'http_request').total_time).to.be.a('number');
      expect(nodeAt(tree, 'header_filter').total_time).to.be.a('number');

      await sleep(200);
      expect(spansOf(service), 'spans wait in the batch processor').to.have.length(0);
      app.child.kill('SIGTERM');
      expect(await app.exited).to.deep.equal({ code: null, signal: 'SIGTERM' });

      const spans = spansOf(service);
      expect(spans.map((s) => s.name)).to.include.members([
        'request_debug GET',
        'rewrite',
        'dns',
        'localhost',
        'resolve',
        'external_http',
        `http://${upstreamHost}`,
        'http_request',
        'header_filter',
      ]);
      expect(new Set(spans.map((s) => s.traceId)), 'only the debug request made spans').to.deep.equal(
        new Set([tree.trace_id]),
      );
      expect(spans.filter((s) => s.name === 'request_debug GET')).to.have.length(1);
      expect(app.stderr).to.equal('');
    });

    it('flushes at beforeExit when the app ends on its own, keeping its exit code', async () => {
      const service = 'zero-code-before-exit';
      const app = startApp(['--require', 'dynamic-hooks/register', CJS_APP], {
        OTEL_SERVICE_NAME: service,
        EXIT_AFTER_REQUESTS: '1',
      });
      const url = await app.ready();
      const { tree } = await debugRequest(url);
      expect(await app.exited).to.deep.equal({ code: 3, signal: null });
      expect(spansOf(service).map((s) => s.traceId)).to.include(tree.trace_id);
      expect(app.stderr).to.equal('');
    });

    it('leaves a SIGTERM the app handles to the app, flushing pending spans meanwhile', async () => {
      const service = 'zero-code-app-sigterm';
      const app = startApp(['--require', 'dynamic-hooks/register', CJS_APP], {
        OTEL_SERVICE_NAME: service,
        APP_HANDLES_SIGTERM: '1',
      });
      const url = await app.ready();
      const { tree } = await debugRequest(url);
      await sleep(200);
      expect(spansOf(service), 'spans wait in the batch processor').to.have.length(0);
      app.child.kill('SIGTERM');
      await app.waitFor(/app: SIGTERM/);
      await eventually(() => spansOf(service).some((s) => s.traceId === tree.trace_id), 10_000);
      expect(app.child.exitCode, 'the app decides when to stop').to.equal(null);
      const { tree: later } = await debugRequest(url);
      expect(nodeAt(later, 'dns', 'localhost', 'resolve').total_time).to.be.a('number');
      expect(app.stderr).to.equal('');
    });

    it('starts one SDK when given both --require and --import', async () => {
      const service = 'zero-code-twice';
      const app = startApp(['--require', 'dynamic-hooks/register', '--import', 'dynamic-hooks/register', CJS_APP], {
        OTEL_SERVICE_NAME: service,
      });
      await app.waitFor(/sigterm-listeners=1\n/);
      const url = await app.ready();
      const { tree } = await debugRequest(url);
      app.child.kill('SIGTERM');
      expect(await app.exited).to.deep.equal({ code: null, signal: 'SIGTERM' });
      const roots = spansOf(service).filter((s) => s.name === 'request_debug GET');
      expect(roots.map((s) => s.traceId)).to.deep.equal([tree.trace_id]);
      expect(app.stderr, 'no duplicate registration of the OpenTelemetry globals').to.equal('');
    });

    it('starts only the library instrumentations DYNAMIC_HOOKS_INSTRUMENTATIONS names', async () => {
      const app = startApp(['--require', 'dynamic-hooks/register', CJS_APP], {
        OTEL_TRACES_EXPORTER: 'none',
        OTEL_LOG_LEVEL: 'error',
        DYNAMIC_HOOKS_INSTRUMENTATIONS: 'http-client',
      });
      const { tree } = await debugRequest(await app.ready());
      expect(Object.keys(tree.child ?? {}))
        .to.include('external_http')
        .and.not.include.members(['dns']);
    });

    it('honours DYNAMIC_HOOKS_REQUEST_DEBUG=off', async () => {
      const app = startApp(['--require', 'dynamic-hooks/register', CJS_APP], {
        OTEL_TRACES_EXPORTER: 'none',
        OTEL_LOG_LEVEL: 'error',
        DYNAMIC_HOOKS_REQUEST_DEBUG: 'off',
      });
      const reply = await send(await app.ready(), { 'X-Request-Debug': '*' });
      expect(reply.body).to.equal('upstream');
      expect(reply.headers).to.not.have.property('x-request-debug-output');
    });

    it('starts and patches nothing with OTEL_SDK_DISABLED=true', async () => {
      const app = startApp(['--require', 'dynamic-hooks/register', CJS_APP], { OTEL_SDK_DISABLED: 'true' });
      const reply = await send(await app.ready(), { 'X-Request-Debug': '*' });
      expect(reply.body).to.equal('upstream');
      expect(reply.headers).to.not.have.property('x-request-debug-output');
      app.child.kill('SIGTERM');
      expect(await app.exited).to.deep.equal({ code: null, signal: 'SIGTERM' });
    });
  });

  describe('ESM: node --import dynamic-hooks/register', () => {
    let redis: RedisServer;
    before(async () => {
      redis = await startRedisServer();
    });
    after(async () => {
      await redis.stop();
    });

    it('times named imports of built-ins and an ESM-imported client, and flushes at SIGINT', async () => {
      const service = 'zero-code-esm';
      const app = startApp(['--import', 'dynamic-hooks/register', ESM_APP], {
        OTEL_SERVICE_NAME: service,
        REDIS_PORT: String(redis.port),
      });
      const url = await app.ready();
      const plain = await send(url);
      expect(JSON.parse(plain.body)).to.deep.include({ value: null, upstream: 'upstream' });
      expect(plain.headers).to.not.have.property('x-request-debug-output');

      const { tree } = await debugRequest(url);
      expect(nodeAt(tree, 'dns', 'localhost', 'resolve').total_time).to.be.a('number');
      expect(nodeAt(tree, 'redis', 'get').total_time, 'ioredis, seen through the ESM loader').to.be.a('number');
      expect(Object.keys(tree.child ?? {})).to.include('external_http');

      app.child.kill('SIGINT');
      expect(await app.exited).to.deep.equal({ code: null, signal: 'SIGINT' });
      await eventually(() => spansOf(service).length > 0, 10_000);
      const spans = spansOf(service);
      expect(spans.map((s) => s.name)).to.include.members(['request_debug GET', 'resolve', 'get', 'http_request']);
      expect(new Set(spans.map((s) => s.traceId))).to.deep.equal(new Set([tree.trace_id]));
      expect(app.stderr).to.equal('');
    });
  });

  describe('admin endpoint: DYNAMIC_HOOKS_ADMIN_PORT and DYNAMIC_HOOKS_ADMIN_TOKEN', () => {
    const TOKEN = 'operator-secret';
    const auth = { Authorization: `Bearer ${TOKEN}` };

    it('starts on loopback, switches a group for the whole process, and does not keep the app alive', async () => {
      const app = startApp(['--require', 'dynamic-hooks/register', CJS_APP], {
        DYNAMIC_HOOKS_ADMIN_PORT: '0',
        DYNAMIC_HOOKS_ADMIN_TOKEN: TOKEN,
        OTEL_LOG_LEVEL: 'info',
        EXIT_AFTER_REQUESTS: '1',
      });
      const admin = (
        await app.waitFor(/dynamic-hooks admin: listening on (http:\/\/127\.0\.0\.1:\d+\/dynamic-hooks)/)
      )[1];

      expect((await send(`${admin}/groups`)).status, 'no token').to.equal(401);
      const before = await send(`${admin}/groups/timing`, auth);
      expect(JSON.parse(before.body)).to.include({ name: 'timing', alwaysEnabled: false });
      const put = await send(`${admin}/groups/timing`, auth, 'PUT', '{"alwaysEnabled":true}');
      expect(put.status).to.equal(200);
      expect(JSON.parse((await send(`${admin}/groups/timing`, auth)).body)).to.include({ alwaysEnabled: true });

      // The app ends on its own after one request, the admin server still listening.
      expect((await send(await app.ready())).body).to.equal('upstream');
      expect(await app.exited).to.deep.equal({ code: 3, signal: null });
    });

    it('refuses to start without a token or with a bad port, and the app runs on', async () => {
      for (const env of [
        { DYNAMIC_HOOKS_ADMIN_PORT: '0' },
        { DYNAMIC_HOOKS_ADMIN_PORT: 'http', DYNAMIC_HOOKS_ADMIN_TOKEN: TOKEN },
      ]) {
        const app = startApp(['--require', 'dynamic-hooks/register', CJS_APP], { ...env, OTEL_LOG_LEVEL: 'info' });
        const url = await app.ready();
        expect((await send(url)).body).to.equal('upstream');
        const reason = env.DYNAMIC_HOOKS_ADMIN_TOKEN === undefined ? 'TOKEN is required' : 'must be a port number';
        await eventually(() => app.stderr.includes(reason) || app.stdout.includes(reason));
        expect(`${app.stdout}${app.stderr}`).to.contain('admin endpoint not started');
        expect(app.stdout).to.not.contain('dynamic-hooks admin: listening');
      }
    });
  });
});
