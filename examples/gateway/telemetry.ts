// The gateway's OpenTelemetry setup: one NodeSDK with the timing module and
// the library instrumentations, started before the gateway loads the
// libraries they patch (ioredis), as OpenTelemetry requires. The OTEL_*
// variables configure it as they configure `dynamic-hooks/register`
// (sampler, propagators, service name and resource, exporter and its
// endpoint and protocol), except that spans are exported only when
// OTEL_TRACES_EXPORTER or an OTLP endpoint variable asks for it: a gateway
// started without them makes its spans (trace ids in the outputs,
// `traceparent` to the upstreams) and sends them nowhere, instead of
// retrying a collector that is not there.
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { getTimingInstrumentations } from '../../instrumentations';
import { RequestDebugSampler } from '../../src';
import { propagatorFromEnv } from '../../src/register/propagator-from-env';
import { baseSamplerFromEnv } from '../../src/register/sampler-from-env';
import { describeTraceExport, traceExportersFromEnv } from '../../src/register/trace-export-from-env';
import { ConfigError, type GatewayTimingConfig } from './config';

/** The started SDK. */
export interface Telemetry {
  /** Where spans go (`OTLP http/json http://...`), or undefined when they are not exported. */
  readonly exportsTo: string | undefined;
  /** Exports pending spans and stops the SDK; resolves `false` if that took longer than `timeoutMs`. */
  shutdown(timeoutMs: number): Promise<boolean>;
}

/** Variables that ask for spans to be exported. */
const EXPORT_VARIABLES = ['OTEL_TRACES_EXPORTER', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'];

/**
 * Starts the SDK. The timing module writes its log output to `logger`;
 * `timing` holds its settings from the configuration file (the library's
 * `DYNAMIC_HOOKS_*` variables win over them). A setting the timing module
 * refuses throws a `ConfigError` at `timing`.
 */
export function startTelemetry(
  timing: GatewayTimingConfig,
  logger: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
  warn: (message: string) => void = (message) => process.stderr.write(`${message}\n`),
): Telemetry {
  let instrumentations: ReturnType<typeof getTimingInstrumentations>;
  try {
    instrumentations = getTimingInstrumentations({
      ...timing,
      trustedProxies: timing.trustedProxies === undefined ? undefined : [...timing.trustedProxies],
      logger,
    });
  } catch (error) {
    throw new ConfigError('timing', (error as Error).message, undefined, 'refused');
  }
  const warnings: string[] = [];
  const exporting =
    EXPORT_VARIABLES.some((name) => (env[name] ?? '').trim() !== '') && traceExportersFromEnv(env).length > 0;
  const sdk = new NodeSDK({
    ...(env.OTEL_SERVICE_NAME === undefined ? { serviceName: 'dynamic-hooks-gateway' } : {}),
    instrumentations,
    sampler: new RequestDebugSampler(baseSamplerFromEnv(env, warnings)),
    textMapPropagator: propagatorFromEnv(env, warnings),
    // Traces only: the gateway emits no metrics or logs through OpenTelemetry.
    metricReaders: [],
    logRecordProcessors: [],
    ...(exporting ? {} : { spanProcessors: [EXPORT_NOTHING] }),
  });
  for (const warning of warnings) warn(`[dynamic-hooks] ${warning}`);
  sdk.start();
  let stopped: Promise<void> | undefined;
  return {
    exportsTo: exporting ? describeTraceExport(env) : undefined,
    shutdown(timeoutMs) {
      stopped ??= sdk.shutdown();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      return Promise.race([stopped.then(() => true), late]).finally(() => clearTimeout(timer));
    },
  };
}

/** Spans are made, sampled and propagated as usual, and go nowhere. */
const EXPORT_NOTHING: SpanProcessor = {
  onStart: () => undefined,
  onEnd: () => undefined,
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};
