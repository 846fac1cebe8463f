import type { InstrumentationBase } from '@opentelemetry/instrumentation';
import { isBuiltin } from 'node:module';
import { ownModuleDefinitions } from './otel-internals';

/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * The built-ins the instrumentations patch, loaded with the library, before
 * any instrumentation registers require-in-the-middle. Requiring them from
 * `enable()` instead would go through that hook, which reports a module
 * once, to the instrumentations registered so far, and then caches it: an
 * OpenTelemetry instrumentation of the same module constructed afterwards
 * (HttpInstrumentation) would never patch it, and one constructed before
 * would wrap `Server#emit` inside ours and drop the request scope.
 */
const BUILTINS: Readonly<Record<string, unknown>> = {
  dgram: require('node:dgram') as unknown,
  dns: require('node:dns') as unknown,
  'dns/promises': require('node:dns/promises') as unknown,
  http: require('node:http') as unknown,
  https: require('node:https') as unknown,
  net: require('node:net') as unknown,
  tls: require('node:tls') as unknown,
};
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Applies the patches of the instrumentation's built-in modules at once,
 * and records their exports so that `disable()` unpatches them and a later
 * `enable()` patches them again. require-in-the-middle is not enough for
 * built-ins: the application has usually loaded them already, and it reports
 * a module only to the first instrumentation that requires it after
 * registering. Patches must tolerate being applied twice. Returns whether
 * any built-in was patched.
 */
export function patchLoadedBuiltins(instrumentation: InstrumentationBase): boolean {
  let patched = false;
  for (const definition of ownModuleDefinitions(instrumentation)) {
    if (!isBuiltin(definition.name) || definition.patch === undefined) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exports = BUILTINS[definition.name] ?? (require(definition.name) as unknown);
    definition.moduleExports = exports;
    definition.patch(exports);
    patched = true;
  }
  return patched;
}
