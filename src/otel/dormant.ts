import type { Instrumentation } from '@opentelemetry/instrumentation';
import { isBuiltin } from 'node:module';
import { groupState } from '../core/group-state';
import type { AnyFunction } from '../core/hook-site';
import { checkGroupName, checkObject, describe } from '../core/validate';
import { gatePatch, isActiveForCall, retireGate, type PatchCounter } from './gate';
import { gateChannel } from './channel-gate';
import {
  interceptChannelSubscriptions,
  interceptIsEnabled,
  interceptModulePatches,
  interceptPatching,
  interceptTracer,
  patchesNoModule,
  subscribesToChannels,
  type PatchFactory,
} from './instrumentation-internals';
import { otelGroupName } from './group-names';
import { observedTracer } from './span-observer';

/** Options of {@link dormant} for one instrumentation. */
export interface DormantOptions {
  /**
   * The hook group that switches the instrumentation on. Default
   * `otel:<name>`, `<name>` being the instrumentation's package name
   * without `@opentelemetry/instrumentation-` (`otel:pg`, `otel:http`), as
   * `OTEL_NODE_ENABLED_INSTRUMENTATIONS` spells it.
   */
  readonly group?: string;
}

/** Options of {@link dormant} for a list of instrumentations. */
export interface DormantListOptions {
  /**
   * One group for all of them, or a function that names each one's group.
   * Default: each its own `otel:<name>` (see {@link DormantOptions.group}).
   */
  readonly group?: string | ((instrumentation: Instrumentation) => string);
}

/** The group each instance was made dormant under. */
const dormantUnder = new WeakMap<object, string>();

/**
 * Makes an OpenTelemetry instrumentation (any `InstrumentationBase`)
 * dormant under a hook group, and returns it, for
 * `NodeSDK({ instrumentations })` or `registerInstrumentations`.
 *
 * Every function it patches gets `hookFunction`'s dormant path in front:
 * while the group is dormant the original runs alone, at the cost of one
 * numeric read, and the instrumentation creates no span; while the group
 * is enabled for the current request (`enableOnThisRequest`,
 * `withGroupsEnabled`, a debug request) or process-wide (`alwaysEnable`,
 * the admin endpoint) the instrumentation's own patched function runs,
 * and its spans join the active trace. The group appears in `listGroups()`
 * with the functions patched so far.
 *
 * Undici's instrumentation (for `fetch`), built on `diagnostics_channel`,
 * patches no function: it is subscribed to its channels only while the
 * group is enabled somewhere, and sees only the requests made where it is
 * enabled.
 *
 * ```ts
 * new NodeSDK({ instrumentations: [dormant(new PgInstrumentation())] }).start();
 * alwaysEnable('otel:pg'); // every query traced, until disableByDefault('otel:pg')
 * ```
 *
 * @throws TypeError if it is not an `InstrumentationBase` that patches
 * through its own `_wrap`, or was made dormant under another group already.
 */
export function dormant<T extends Instrumentation>(instrumentation: T, options?: DormantOptions): T;
/** The same for a list: each instrumentation under its own `otel:<name>` group, unless `options.group` says otherwise. */
export function dormant<T extends Instrumentation>(instrumentations: readonly T[], options?: DormantListOptions): T[];
export function dormant<T extends Instrumentation>(
  target: T | readonly T[],
  options?: DormantOptions | DormantListOptions,
): T | T[] {
  if (options !== undefined) checkObject(options, 'options');
  const group = options?.group;
  if (Array.isArray(target)) {
    if (group !== undefined && typeof group !== 'string' && typeof group !== 'function') {
      throw new TypeError(`options.group must be a string or a function, got ${describe(group)}`);
    }
    return (target as readonly T[]).map((instrumentation, i) => {
      checkObject(instrumentation, `instrumentations[${i}]`);
      const name = typeof group === 'function' ? group(instrumentation) : (group ?? otelGroupName(instrumentation));
      checkGroupName(name, `the group of instrumentations[${i}]`);
      return makeDormant(instrumentation, name);
    });
  }
  const instrumentation = target as T;
  checkObject(instrumentation, 'instrumentation');
  if (group !== undefined) checkGroupName(group, 'options.group');
  return makeDormant(instrumentation, group ?? otelGroupName(instrumentation));
}

function makeDormant<T extends Instrumentation>(instrumentation: T, group: string): T {
  const already = dormantUnder.get(instrumentation);
  if (already !== undefined) {
    if (already === group) return instrumentation;
    throw new TypeError(`${instrumentation.instrumentationName} is dormant under group ${already} already`);
  }
  const state = groupState(group);
  const counter: PatchCounter = { patches: 0 };
  // The gate this instance installed on each (target, name), for its unpatch.
  const installed = new WeakMap<object, Map<string, AnyFunction>>();
  const enabled = isEnabled(instrumentation);
  // Patched before the gate (at construction): patched again through it.
  if (enabled) instrumentation.disable();
  // Whether the patches being made are of one of Node's built-in modules.
  // Instrumentations patch those to observe calls, so their gates skip the
  // first-call probe (see gatePatch): run once on a real call, the
  // instrumentation leaves objects of its own shapes in Node's HTTP,
  // socket and stream code, shared by every request of the process, whose
  // property accesses stay slower for the life of the process (the gateway
  // with the default set dormant, Node 22: 1.128 of uninstrumented CPU
  // with the probe, 1.039 without; docs/opentelemetry.md, "Cost").
  let patchingBuiltin = false;
  interceptModulePatches(instrumentation, (moduleName, patch) => {
    const outer = patchingBuiltin;
    patchingBuiltin = isBuiltin(moduleName);
    try {
      return patch();
    } finally {
      patchingBuiltin = outer;
    }
  });
  interceptPatching(instrumentation, {
    wrap: (own) => (moduleExports, name, factory) => {
      counter.patches++;
      const probe = !patchingBuiltin;
      const gated: PatchFactory = (original, patchedName) => {
        const patched = gatePatch(state, patchedName, original, factory, counter, probe);
        if (patched !== original && typeof patched === 'function') {
          let byName = installed.get(moduleExports);
          if (byName === undefined) installed.set(moduleExports, (byName = new Map<string, AnyFunction>()));
          byName.set(name, patched as AnyFunction);
        }
        return patched;
      };
      return own(moduleExports, name, gated);
    },
    unwrap: (own) => (moduleExports, name) => {
      // Retired even when someone else's wrapper sits above it and it stays in the chain: it then only forwards.
      const byName = installed.get(moduleExports);
      const gate = byName?.get(name);
      if (gate !== undefined) {
        byName?.delete(name);
        retireGate(gate);
      }
      return own(moduleExports, name);
    },
  });
  if (subscribesToChannels(instrumentation)) {
    interceptChannelSubscriptions(instrumentation, (name, onMessage) => gateChannel(state, name, onMessage));
  } else if (patchesNoModule(instrumentation)) {
    // Works from inside its library (a Fastify plugin) and asks isEnabled() per call: answer for the call.
    interceptIsEnabled(instrumentation, (own) => () => own() && state.active !== 0 && isActiveForCall(state));
  }
  // Its spans are shown to the timing module, which puts a debugged request's into its timing tree.
  interceptTracer(instrumentation, observedTracer);
  dormantUnder.set(instrumentation, group);
  if (enabled) instrumentation.enable();
  return instrumentation;
}

function isEnabled(instrumentation: Instrumentation): boolean {
  const withState = instrumentation as { isEnabled?: () => boolean };
  return typeof withState.isEnabled === 'function'
    ? withState.isEnabled()
    : instrumentation.getConfig().enabled !== false;
}
