import type { InstrumentationModuleDefinition } from '@opentelemetry/instrumentation';
import { isBuiltin } from 'node:module';

/**
 * Applies the patches of the built-in modules among `definitions` at once,
 * and records their exports so that `disable()` unpatches them and a later
 * `enable()` patches them again. require-in-the-middle is not enough for
 * built-ins: the application has usually loaded them already, and it reports
 * a module only to the first instrumentation that requires it after
 * registering. Patches must tolerate being applied twice. Returns whether
 * any built-in was patched.
 */
export function patchLoadedBuiltins(definitions: readonly InstrumentationModuleDefinition[]): boolean {
  let patched = false;
  for (const definition of definitions) {
    if (!isBuiltin(definition.name) || definition.patch === undefined) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exports = require(definition.name) as unknown;
    definition.moduleExports = exports;
    definition.patch(exports);
    patched = true;
  }
  return patched;
}
