import { diag, trace } from '@opentelemetry/api';
import { RequestDebugSampler } from '../timing/sampler';
import { closeListeningServers } from '../server/listening-servers';
import { flushAtExit, shutdownTimeoutFromEnv, type Flushable } from './flush-at-exit';
import { instrumentationsFromEnv } from './instrumentations-from-env';
import { loadNodeSdk } from './load-node-sdk';
import { propagatorFromEnv } from './propagator-from-env';
import { baseSamplerFromEnv } from './sampler-from-env';

/**
 * Starts the OpenTelemetry NodeSDK for `dynamic-hooks/register`: the timing
 * module and the library instrumentations ({@link instrumentationsFromEnv}),
 * sampled by `RequestDebugSampler` around the `OTEL_TRACES_SAMPLER` choice,
 * propagating with `SignedGroupsPropagator` after the `OTEL_PROPAGATORS` ones
 * ({@link propagatorFromEnv}).
 * Everything else (service name and resource, exporters and their endpoint
 * and protocol, batching, `OTEL_SDK_DISABLED`, `OTEL_LOG_LEVEL`)
 * is NodeSDK's own reading of the `OTEL_*` variables. Installs the exit
 * handling of {@link flushAtExit}: at a terminating signal the servers
 * stop taking new work, then the SDK is shut down, within
 * `DYNAMIC_HOOKS_SHUTDOWN_TIMEOUT_MS` (default 5000) in all.
 */
export function startSdkFromEnv(env: NodeJS.ProcessEnv = process.env): Flushable {
  const { NodeSDK } = loadNodeSdk();
  const warnings: string[] = [];
  const timeoutMs = shutdownTimeoutFromEnv(env, warnings);
  const sdk = new NodeSDK({
    instrumentations: instrumentationsFromEnv(env, warnings),
    sampler: new RequestDebugSampler(baseSamplerFromEnv(env, warnings)),
    textMapPropagator: propagatorFromEnv(env, warnings),
  });
  // The constructor set the diag logger from OTEL_LOG_LEVEL.
  for (const warning of warnings) diag.warn(`dynamic-hooks/register: ${warning}`);
  sdk.start();

  let stopped: Promise<void> | undefined;
  const telemetry: Flushable = {
    forceFlush: () => (stopped ?? forceFlushTracerProvider()).catch(reportFailure('flush')),
    shutdown: () => (stopped ??= sdk.shutdown().catch(reportFailure('shut down'))),
  };
  flushAtExit(telemetry, { timeoutMs, stopServing: closeListeningServers });
  diag.debug('dynamic-hooks/register: OpenTelemetry SDK started');
  return telemetry;
}

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
