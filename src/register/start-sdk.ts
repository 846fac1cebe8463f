import { diag, trace } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { RequestDebugSampler } from '../timing/sampler';
import { tellOperator } from '../timing/logger';
import { closeListeningServers } from '../server/listening-servers';
import { exitTimeoutsFromEnv, flushAtExit, shutdownWithin, type Flushable } from './flush-at-exit';
import { instrumentationsFromEnv } from './instrumentations-from-env';
import { loadNodeSdk } from './load-node-sdk';
import { prepareOtelInstrumentations } from './otel-instrumentations-from-env';
import { propagatorFromEnv } from './propagator-from-env';
import { baseSamplerFromEnv } from './sampler-from-env';
import { describeTraceExport, traceExportersFromEnv } from './trace-export-from-env';

/**
 * Starts the OpenTelemetry NodeSDK for `dynamic-hooks/register`: the timing
 * module and the library instrumentations ({@link instrumentationsFromEnv}),
 * sampled by `RequestDebugSampler` around the `OTEL_TRACES_SAMPLER` choice,
 * propagating with `SignedGroupsPropagator` after the `OTEL_PROPAGATORS` ones
 * ({@link propagatorFromEnv}).
 * Everything else (service name and resource, exporters and their endpoint
 * and protocol, batching, `OTEL_SDK_DISABLED`, `OTEL_LOG_LEVEL`)
 * is NodeSDK's own reading of the `OTEL_*` variables, except that
 * `OTEL_TRACES_EXPORTER=none` still gets a tracer provider (exporting
 * nothing): NodeSDK would start none, and without one there would be no
 * trace ids in the outputs and no `traceparent` for the next service.
 *
 * Installs the exit handling of {@link flushAtExit}: at a terminating signal
 * the servers stop taking new work, then the SDK is shut down, within
 * `DYNAMIC_HOOKS_SHUTDOWN_TIMEOUT_MS` (default 5000) in all; when the process
 * ends on its own, or through the returned `shutdown()`, the export waits
 * at most `DYNAMIC_HOOKS_SHUTDOWN_TIMEOUT_MS`, else `OTEL_BSP_EXPORT_TIMEOUT`,
 * else 2000 ms. Giving up is said once on stderr. Bad settings are
 * reported through diag and on stderr (see `tellOperator`).
 */
export function startSdkFromEnv(env: NodeJS.ProcessEnv = process.env): Flushable {
  const { NodeSDK } = loadNodeSdk();
  const warnings: string[] = [];
  const timeouts = exitTimeoutsFromEnv(env, warnings);
  const exporting = traceExportersFromEnv(env).length > 0;
  const instrumentations = instrumentationsFromEnvWithOtel(env, warnings);
  const sdk = new NodeSDK({
    instrumentations,
    sampler: new RequestDebugSampler(baseSamplerFromEnv(env, warnings)),
    textMapPropagator: propagatorFromEnv(env, warnings),
    ...(exporting ? {} : { spanProcessors: [EXPORT_NOTHING] }),
  });
  // After the constructor, which set the diag logger from OTEL_LOG_LEVEL.
  for (const warning of warnings) tellOperator('warn', warning);
  sdk.start();

  // One message about lost spans, whichever comes first: the export failed, or the wait ran out.
  let told = false;
  const tellLost = (why: string, hint = ''): void => {
    if (told) return;
    told = true;
    tellOperator(
      'warn',
      `could not export the pending spans to ${describeTraceExport(env)} ${why}, so they are lost${hint}`,
    );
  };
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    if (stopped === undefined) {
      stopped = sdk.shutdown();
      stopped.catch((error: unknown) => {
        tellLost(`(${String(error)})`);
      });
    }
    return stopped;
  };
  const onGiveUp = (waitedMs: number): void => {
    tellLost(`within ${waitedMs} ms`, ' (DYNAMIC_HOOKS_SHUTDOWN_TIMEOUT_MS or OTEL_BSP_EXPORT_TIMEOUT sets the wait)');
  };
  const telemetry: Flushable = {
    forceFlush: () => stopped?.catch(() => undefined) ?? forceFlushTracerProvider().catch(reportFailure('flush')),
    shutdown: () => shutdownWithin({ shutdown: stop }, timeouts.exitMs, onGiveUp).then(() => undefined),
  };
  flushAtExit(
    { forceFlush: telemetry.forceFlush, shutdown: stop },
    { timeoutMs: timeouts.signalMs, exitTimeoutMs: timeouts.exitMs, stopServing: closeListeningServers, onGiveUp },
  );
  diag.debug('dynamic-hooks/register: OpenTelemetry SDK started');
  return telemetry;
}

/**
 * Our instrumentations, then OpenTelemetry's dormant ones if
 * `DYNAMIC_HOOKS_OTEL_INSTRUMENTATIONS` asks (see
 * {@link prepareOtelInstrumentations}): their package is loaded before
 * anything is constructed, and ours are enabled before theirs are
 * constructed, so that ours patch each module first and theirs wrap ours
 * (an HTTP server span, when `otel:http` is on, then encloses our request
 * scope rather than replacing its context).
 */
function instrumentationsFromEnvWithOtel(env: NodeJS.ProcessEnv, warnings: string[]): Instrumentation[] {
  const makeOtel = prepareOtelInstrumentations(env, warnings);
  const ours = instrumentationsFromEnv(env, warnings);
  if (makeOtel === undefined) return ours;
  for (const instrumentation of ours) instrumentation.enable();
  return [...ours, ...makeOtel()];
}

/** For `OTEL_TRACES_EXPORTER=none`: spans are sampled and propagated as usual, and go nowhere. */
const EXPORT_NOTHING: SpanProcessor = {
  onStart: () => undefined,
  onEnd: () => undefined,
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

/** NodeSDK has no forceFlush; the tracer provider it registered globally has. */
async function forceFlushTracerProvider(): Promise<void> {
  const proxy = trace.getTracerProvider() as { getDelegate?: () => object };
  const provider = (proxy.getDelegate?.() ?? proxy) as { forceFlush?: () => Promise<void> };
  await provider.forceFlush?.();
}

function reportFailure(what: string): (error: unknown) => void {
  return (error) => {
    diag.error(`dynamic-hooks/register: failed to ${what} the OpenTelemetry SDK: ${String(error)}`);
  };
}
