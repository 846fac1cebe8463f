import { InstrumentationBase, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { syncBuiltinESMExports } from 'node:module';
import {
  TIMING_GROUP,
  VERSION,
  hookFunction,
  patchLoadedBuiltins,
  type HookFunctionOptions,
  type HookHandlers,
  type MaxArgs,
  type Unhook,
} from '../../src/instrumentation-api';

/**
 * Base of the timing instrumentations: patches go through the core's
 * `hookFunction` in group `timing`, and each target is patched at most
 * once however many module names reach it (`dns.promises` and
 * `dns/promises` are one object), and unpatched symmetrically.
 */
export abstract class TimingHookInstrumentation<
  Config extends InstrumentationConfig = InstrumentationConfig,
> extends InstrumentationBase<Config> {
  // `declare`: InstrumentationBase's constructor may patch (enable) before field initializers would run.
  declare private hooked: WeakMap<object, Map<PropertyKey, Unhook>> | undefined;

  constructor(name: string, config: Config) {
    super(`dynamic-hooks-${name}`, VERSION, config);
  }

  /**
   * Enables the instrumentation. Built-in modules are singletons that the
   * application has usually loaded already, so they are patched here and
   * now (require-in-the-middle reports a module to the first instrumentation
   * that asks for it only), and the ESM bindings of built-ins
   * (`import { lookup } from 'node:dns'`) are then synced with the patched
   * exports.
   */
  override enable(): void {
    super.enable();
    if (patchLoadedBuiltins(this)) syncBuiltinESMExports();
  }

  /** Disables the instrumentation: restores the patched functions and syncs the ESM bindings of built-ins again. */
  override disable(): void {
    super.disable();
    syncBuiltinESMExports();
  }

  /** Hooks `target[key]` in group `timing` unless this instrumentation already did. */
  protected hookTiming<T extends object, K extends keyof T>(
    target: T,
    key: K,
    maxArgs: MaxArgs,
    handlers: HookHandlers<T[K], T>,
    options?: HookFunctionOptions,
  ): void {
    if (typeof target[key] !== 'function') return;
    this.hooked ??= new WeakMap();
    let keys = this.hooked.get(target);
    if (keys === undefined) {
      keys = new Map();
      this.hooked.set(target, keys);
    }
    if (keys.has(key)) return;
    keys.set(key, hookFunction(TIMING_GROUP, target, key, maxArgs, handlers, options));
  }

  /** Restores everything this instrumentation hooked on `target`. */
  protected unhookAll(target: object | undefined): void {
    if (target === undefined) return;
    const keys = this.hooked?.get(target);
    if (keys === undefined) return;
    for (const unhook of keys.values()) unhook();
    this.hooked?.delete(target);
  }
}
