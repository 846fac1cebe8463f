import type { Instrumentation } from '@opentelemetry/instrumentation';

/** The prefix of every dormant OpenTelemetry instrumentation's group. */
export const OTEL_GROUP_PREFIX = 'otel:';

const OTEL_PACKAGE_PREFIX = '@opentelemetry/instrumentation-';

/**
 * An instrumentation's short name as `OTEL_NODE_ENABLED_INSTRUMENTATIONS`
 * spells it: its package name without `@opentelemetry/instrumentation-`
 * (`pg`, `http`, `socket.io`); any other name as it is.
 */
export function otelShortName(instrumentationName: string): string {
  return instrumentationName.startsWith(OTEL_PACKAGE_PREFIX)
    ? instrumentationName.slice(OTEL_PACKAGE_PREFIX.length)
    : instrumentationName;
}

/** The default group of a dormant instrumentation: `otel:<short name>`. */
export function otelGroupName(instrumentation: Instrumentation): string {
  return OTEL_GROUP_PREFIX + otelShortName(instrumentation.instrumentationName);
}
