import { context, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { expect } from 'chai';
import type IoRedis from 'ioredis';
import {
  alwaysEnable,
  disableByDefault,
  dormant,
  enableOnThisRequest,
  listGroups,
  withGroupsEnabled,
  withRequestScope,
} from '../../src';
import { libraryInstrumentations } from '../helpers/library-instrumentations';
import { startRedisServer, type RedisServer } from '../helpers/redis-server';
import { recordingProvider } from '../helpers/recording-provider';

describe('dormant(): an OpenTelemetry instrumentation as a hook group (ioredis, real Redis)', () => {
  const { exporter, provider } = recordingProvider();
  const tracer = provider.getTracer('dormant-test');
  // requireParentSpan off: the process-wide case below has no parent span.
  let instrumentation: IORedisInstrumentation;
  let server: RedisServer;
  let redis: IoRedis;

  const commandSpans = () => exporter.getFinishedSpans().filter((span) => span.name !== 'request');

  before(async () => {
    // As an SDK would (a no-op if another test registered one already).
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    // Our own ioredis instrumentation hooks the same library in this process: both must work together.
    libraryInstrumentations();
    // Created here, not when mocha loads the file: other suites run without it.
    instrumentation = dormant(new IORedisInstrumentation({ requireParentSpan: false }), { group: 'otel:ioredis' });
    instrumentation.setTracerProvider(provider);
    server = await startRedisServer();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { default: Redis } = require('ioredis') as { default: typeof IoRedis };
    redis = new Redis({ host: '127.0.0.1', port: server.port, lazyConnect: true });
    await redis.connect();
  });
  after(async () => {
    disableByDefault('otel:ioredis');
    redis.disconnect();
    instrumentation.disable();
    await server.stop();
  });
  beforeEach(() => {
    disableByDefault('otel:ioredis');
    exporter.reset();
  });

  it('records no span while its group is dormant, and the call works', async () => {
    await redis.set('dormant:a', 'one');
    expect(await redis.get('dormant:a')).to.equal('one');
    expect(commandSpans()).to.deep.equal([]);
  });

  it("records the command as a child of the request's span when the request enables the group", async () => {
    const parent = await tracer.startActiveSpan('request', (span) =>
      withRequestScope(async () => {
        enableOnThisRequest('otel:ioredis');
        await redis.set('dormant:b', 'two');
        span.end();
        return span;
      }),
    );
    // Another request, at the same time or after, that does not enable it: nothing.
    await withRequestScope(() => redis.get('dormant:b'));
    const spans = commandSpans();
    expect(spans.map((span) => span.name)).to.deep.equal(['set']);
    expect(spans[0].spanContext().traceId).to.equal(parent.spanContext().traceId);
    expect(spans[0].parentSpanContext?.spanId).to.equal(parent.spanContext().spanId);
    expect(spans[0].attributes).to.include({ 'db.system.name': 'redis', 'server.port': server.port });
  });

  it('records every command while the group is enabled process-wide, and none once disabled again', async () => {
    alwaysEnable('otel:ioredis');
    await redis.get('dormant:c');
    disableByDefault('otel:ioredis');
    await redis.get('dormant:c');
    expect(commandSpans().map((span) => span.name)).to.deep.equal(['get']);
  });

  it('records within withGroupsEnabled only', async () => {
    await withGroupsEnabled('otel:ioredis', () => redis.incr('dormant:d'));
    await redis.incr('dormant:d');
    expect(commandSpans().map((span) => span.name)).to.deep.equal(['incr']);
  });

  it('keeps results, errors and this through the patched function, enabled or not', async () => {
    for (const on of [false, true]) {
      const run = async () => {
        await redis.set('dormant:e', 'text');
        const failure = await redis.incr('dormant:e').then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(failure).to.be.instanceOf(Error);
        expect((failure as Error).message).to.match(/not an integer/);
        // sendCommand called on the client itself: `this` reaches the original.
        expect(await redis.echo('same client')).to.equal('same client');
      };
      if (on) await withGroupsEnabled('otel:ioredis', run);
      else await run();
    }
    expect(commandSpans().filter((span) => span.status.code === SpanStatusCode.ERROR)).to.have.length(1);
  });

  it('appears in listGroups() with the function it patched', () => {
    const group = listGroups().find((info) => info.name === 'otel:ioredis');
    expect(group?.hookedFunctions).to.include('sendCommand');
  });

  it('disable() unpatches for good, whatever the group; enable() gates again', async () => {
    instrumentation.disable();
    try {
      await withGroupsEnabled('otel:ioredis', () => redis.get('dormant:f'));
      expect(commandSpans()).to.deep.equal([]);
      expect(listGroups().find((info) => info.name === 'otel:ioredis')?.hookedFunctions).to.not.include('sendCommand');
    } finally {
      instrumentation.enable();
    }
    await redis.get('dormant:f');
    await withGroupsEnabled('otel:ioredis', () => redis.get('dormant:f'));
    expect(commandSpans().map((span) => span.name)).to.deep.equal(['get']);
  });
});
