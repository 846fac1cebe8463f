import type { Instrumentation } from '@opentelemetry/instrumentation';

/** The prefix of every dormant OpenTelemetry instrumentation's group. */
export const OTEL_GROUP_PREFIX = 'otel:';

const OTEL_PACKAGE_PREFIX = '@opentelemetry/instrumentation-';

/** A framework's own instrumentation package, named after the framework: `@fastify/otel`. */
const FRAMEWORK_PACKAGE = /^@([^/]+)\/otel$/;

/**
 * An instrumentation's short name as `OTEL_NODE_ENABLED_INSTRUMENTATIONS`
 * spells it: its package name without `@opentelemetry/instrumentation-`
 * (`pg`, `http`, `socket.io`); a framework's own `@<framework>/otel` by
 * the framework's name (`@fastify/otel`: `fastify`, as its predecessor
 * `@opentelemetry/instrumentation-fastify`); any other name as it is.
 */
export function otelShortName(instrumentationName: string): string {
  if (instrumentationName.startsWith(OTEL_PACKAGE_PREFIX)) return instrumentationName.slice(OTEL_PACKAGE_PREFIX.length);
  return FRAMEWORK_PACKAGE.exec(instrumentationName)?.[1] ?? instrumentationName;
}

/** The default group of a dormant instrumentation: `otel:<short name>`. */
export function otelGroupName(instrumentation: Instrumentation): string {
  return OTEL_GROUP_PREFIX + otelShortName(instrumentation.instrumentationName);
}
