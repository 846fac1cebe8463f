/**
 * `dynamic-hooks/register`: zero-code start. `node --require
 * dynamic-hooks/register app.js` (CommonJS) or `node --import
 * dynamic-hooks/register app.mjs` (ESM, which also registers the
 * import-in-the-middle loader) starts the OpenTelemetry NodeSDK with the
 * timing module and the library instrumentations (all of them unless
 * `DYNAMIC_HOOKS_INSTRUMENTATIONS`, or else `OTEL_NODE_ENABLED_INSTRUMENTATIONS`
 * / `OTEL_NODE_DISABLED_INSTRUMENTATIONS`, pick some), configured by the
 * `OTEL_*` and `DYNAMIC_HOOKS_*` environment variables, and flushes spans
 * when the process ends, waiting a bounded time for the export. Bad
 * settings and the generated debug token are written to stderr as
 * `[dynamic-hooks]` lines. `DYNAMIC_HOOKS_OTEL_INSTRUMENTATIONS` (`all` or a
 * list of OpenTelemetry instrumentation names) also installs
 * `@opentelemetry/auto-instrumentations-node`'s instrumentations dormant,
 * each as group `otel:<name>`. With `DYNAMIC_HOOKS_ADMIN_PORT` and
 * `DYNAMIC_HOOKS_ADMIN_TOKEN` set it also starts the admin endpoint (see
 * `startAdminServer`). With `DYNAMIC_HOOKS_FLAGS_FILE` set it evaluates the
 * flagd flag file's `dynamic-hooks.<group>` flags as debug rules and
 * process-wide switches (see `debugRulesFromFlags`; request headers rules
 * may read are listed in `DYNAMIC_HOOKS_FLAG_HEADERS`). Loading it more
 * than once, from one copy of the package or several, starts one SDK.
 *
 * @packageDocumentation
 * @module dynamic-hooks/register
 */
import { installAdminClusterSupport } from '../admin/cluster-setup';
import { startAdminFromEnv } from './admin-from-env';
import { startFlagsFromEnv } from './flags-from-env';
import type { Flushable } from './flush-at-exit';
import { startSdkFromEnv } from './start-sdk';

const STARTED = Symbol.for('dynamic-hooks.register');
const registry = globalThis as { [STARTED]?: Flushable };
const telemetry = (registry[STARTED] ??= start());

function start(): Flushable {
  const started = startSdkFromEnv();
  // After the SDK: the timing module's hooks debug the requests rules select.
  startFlagsFromEnv();
  // In the cluster primary, the relay that makes one admin switch reach every worker.
  installAdminClusterSupport();
  void startAdminFromEnv();
  return started;
}

/**
 * Exports pending spans and stops the SDK. An application that ends itself
 * with `process.exit()` awaits it first; otherwise `dynamic-hooks/register`
 * calls it when the process ends. Resolves when the export is done or after
 * `DYNAMIC_HOOKS_SHUTDOWN_TIMEOUT_MS`, else `OTEL_BSP_EXPORT_TIMEOUT`, else
 * 2000 ms (saying once on stderr that the pending spans were given up).
 */
export function shutdown(): Promise<void> {
  return telemetry.shutdown();
}

/** Exports pending spans now; the SDK keeps running. */
export function forceFlush(): Promise<void> {
  return telemetry.forceFlush();
}
