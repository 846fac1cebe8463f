import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import type IoRedis from 'ioredis';
import { dormant } from '../../src';
import { runInRequest, spanPath } from '../helpers/debugged';
import { startRedisServer, type RedisServer } from '../helpers/redis-server';
import { timingHarness } from '../helpers/timing-harness';

const IOREDIS_SCOPE = '@opentelemetry/instrumentation-ioredis';

/** What this process writes to stderr until `restore()` (the operator lines go there). */
function captureStderr(): { text: string; restore: () => void } {
  const write = process.stderr.write.bind(process.stderr);
  const captured = { text: '', restore: () => void (process.stderr.write = write) };
  process.stderr.write = (chunk: string | Uint8Array) => {
    captured.text += String(chunk);
    return true;
  };
  return captured;
}

describe('a debug request turns the dormant OpenTelemetry groups on with timing', () => {
  const harness = timingHarness();
  let instrumentation: IORedisInstrumentation;
  let server: RedisServer;
  let redis: IoRedis;

  /** The request's ioredis spans made by OpenTelemetry's instrumentation (ours are named alike). */
  const otelSpans = (spans: readonly ReadableSpan[]) =>
    spans.filter((span) => span.instrumentationScope.name === IOREDIS_SCOPE);

  before(async () => {
    harness.instrumentation.enable();
    instrumentation = dormant(new IORedisInstrumentation());
    // The harness's provider samples with RequestDebugSampler around always-off: debug requests only.
    instrumentation.setTracerProvider(harness.provider);
    server = await startRedisServer();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { default: Redis } = require('ioredis') as { default: typeof IoRedis };
    redis = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true });
    await redis.connect();
  });
  after(async () => {
    harness.configure({});
    redis.disconnect();
    instrumentation.disable();
    await server.stop();
  });
  beforeEach(() => {
    harness.configure({});
    harness.reset();
  });

  it("records OpenTelemetry's spans in the debugged request's trace, by default", async () => {
    const { spans, result } = await runInRequest(() => redis.get('debug:a'));
    expect(result).to.equal(null);
    const [span, ...more] = otelSpans(spans);
    expect(more).to.deep.equal([]);
    expect(span.name).to.equal('get');
    expect(span.attributes).to.include({ 'db.system.name': 'redis', 'server.port': server.port });
    expect(spanPath([span, ...spans.filter((s) => s !== span)], 'get')[0]).to.equal('request_debug GET');
  });

  it('records nothing for a request that is not debugged', async () => {
    await runInRequest(() => redis.get('debug:b'), false);
    expect(otelSpans(harness.spans())).to.deep.equal([]);
  });

  it('follows otelGroups: a list by instrumentation or group name, or none', async () => {
    const cases: [NonNullable<Parameters<typeof harness.configure>[0]['otelGroups']>, number][] = [
      [['ioredis'], 1],
      [['otel:ioredis'], 1],
      [['pg'], 0],
      ['none', 0],
    ];
    for (const [otelGroups, expected] of cases) {
      harness.configure({ otelGroups });
      const { spans } = await runInRequest(() => redis.get('debug:c'));
      expect(otelSpans(spans), JSON.stringify(otelGroups)).to.have.length(expected);
    }
  });

  describe('DYNAMIC_HOOKS_DEBUG_OTEL_GROUPS', () => {
    const saved = process.env.DYNAMIC_HOOKS_DEBUG_OTEL_GROUPS;
    afterEach(() => {
      if (saved === undefined) delete process.env.DYNAMIC_HOOKS_DEBUG_OTEL_GROUPS;
      else process.env.DYNAMIC_HOOKS_DEBUG_OTEL_GROUPS = saved;
    });

    it('overrides otelGroups: none, a comma list, all', async () => {
      const cases: [string, NonNullable<Parameters<typeof harness.configure>[0]['otelGroups']>, number][] = [
        ['none', 'all', 0],
        [' pg , otel:http ', 'all', 0],
        ['pg,ioredis', 'none', 1],
        ['all', 'none', 1],
      ];
      for (const [variable, otelGroups, expected] of cases) {
        process.env.DYNAMIC_HOOKS_DEBUG_OTEL_GROUPS = variable;
        harness.configure({ otelGroups });
        const { spans } = await runInRequest(() => redis.get('debug:d'));
        expect(otelSpans(spans), `${variable} over ${JSON.stringify(otelGroups)}`).to.have.length(expected);
      }
    });

    it('is reported and ignored when bad, leaving the code setting', async () => {
      const stderr = captureStderr();
      try {
        process.env.DYNAMIC_HOOKS_DEBUG_OTEL_GROUPS = 'all,pg';
        harness.configure({ otelGroups: ['ioredis'] });
      } finally {
        stderr.restore();
      }
      expect(stderr.text).to.match(
        /\[dynamic-hooks\] DYNAMIC_HOOKS_DEBUG_OTEL_GROUPS ignored: 'all' and 'none' stand alone/,
      );
      const { spans } = await runInRequest(() => redis.get('debug:e'));
      expect(otelSpans(spans)).to.have.length(1);
    });
  });

  it('refuses a bad otelGroups, naming it', () => {
    expect(() => harness.configure({ otelGroups: 'some' as never })).to.throw(TypeError, /otelGroups/);
  });
});
