import { expect } from 'chai';
import http from 'node:http';
import { close, listen, send } from '../helpers/http';
import { OtlpReceiver } from '../helpers/otlp-receiver';
import { startRedisServer, type RedisServer } from '../helpers/redis-server';
import { AppProcess } from '../register/app-process';

// An ES module application (test/fixtures/register/app.mjs: `import Redis
// from 'ioredis'`, named imports of node:http) started with `node --import
// dynamic-hooks/register` (the built package: run `npm run build` first),
// OpenTelemetry's ioredis and http instrumentations installed dormant: they
// patch through import-in-the-middle, and still trace debugged requests only.
const IOREDIS_SCOPE = '@opentelemetry/instrumentation-ioredis';
const HTTP_SCOPE = '@opentelemetry/instrumentation-http';
const SERVER = 2;

describe('dormant OpenTelemetry instrumentations in an ES module application', function () {
  this.timeout(60_000);
  let receiver: OtlpReceiver;
  let redis: RedisServer;
  let upstream: http.Server;
  let upstreamUrl: string;
  let app: AppProcess | undefined;

  before(async () => {
    receiver = await new OtlpReceiver().start();
    redis = await startRedisServer();
    upstream = http.createServer((_req, res) => res.end('upstream'));
    upstreamUrl = await listen(upstream);
  });
  after(async () => {
    await app?.stop();
    await close(upstream);
    await redis.stop();
    await receiver.stop();
  });

  it('records the ioredis and HTTP spans of a debug request only', async () => {
    const service = 'otel-dormant-esm';
    app = new AppProcess(['--import', 'dynamic-hooks/register', 'test/fixtures/register/app.mjs'], {
      OTEL_SERVICE_NAME: service,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.tracesUrl.replace(/\/v1\/traces$/, ''),
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_LOG_LEVEL: 'warn',
      DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: 'esm-debug-token',
      DYNAMIC_HOOKS_OTEL_INSTRUMENTATIONS: 'ioredis,http',
      REDIS_PORT: String(redis.port),
      UPSTREAM_URL: upstreamUrl,
    });
    const url = await app.ready();

    const plain = await send(`${url}/plain`);
    expect(JSON.parse(plain.body)).to.include({ value: null, upstream: 'upstream' });
    const debugged = await send(`${url}/debugged`, { 'X-Request-Debug': '*' });
    expect(JSON.parse(debugged.body)).to.include({ value: null, upstream: 'upstream' });
    const { trace_id: traceId } = JSON.parse(debugged.headers['x-request-debug-output'] as string) as {
      trace_id: string;
    };
    await send(`${url}/plain-again`);

    app.child.kill('SIGTERM');
    await app.exited;
    const spans = receiver.spans.filter((span) => span.serviceName === service);
    const otel = spans.filter((span) => span.scopeName === IOREDIS_SCOPE || span.scopeName === HTTP_SCOPE);
    expect(new Set(otel.map((span) => span.traceId))).to.deep.equal(new Set([traceId]));

    const [get, ...moreRedis] = otel.filter((span) => span.scopeName === IOREDIS_SCOPE && span.name === 'get');
    expect(moreRedis).to.deep.equal([]);
    expect(get.attributes).to.include({ 'db.system.name': 'redis', 'server.port': redis.port });
    const serverSpan = otel.find((span) => span.scopeName === HTTP_SCOPE && span.kind === SERVER);
    expect(serverSpan?.attributes).to.include({ 'url.path': '/debugged' });
    const root = spans.find((span) => span.traceId === traceId && span.name === 'request_debug GET');
    expect(root?.parentSpanId).to.equal(serverSpan?.spanId);
  });
});
