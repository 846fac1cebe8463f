import type { InstrumentationBase, InstrumentationModuleDefinition } from '@opentelemetry/instrumentation';

/**
 * The one place that reads what `@opentelemetry/instrumentation` does not
 * document, so that an upgrade that changes it breaks one file, and its
 * test (`test/patching/otel-internals.test.ts`, which pins this behaviour
 * for the installed version) says so:
 *
 * - `InstrumentationBase#_modules`: the instrumentation's own module
 *   definitions, whose `moduleExports` its `disable()` unpatches
 *   (`getModuleDefinitions()` returns copies);
 * - the marks its bundled shimmer leaves on a wrapper: `__wrapped` (true)
 *   and `__original` (the function it wraps).
 */

/** The instrumentation's own module definitions (those `disable()` unpatches), or copies if it has none of its own. */
export function ownModuleDefinitions(instrumentation: InstrumentationBase): readonly InstrumentationModuleDefinition[] {
  const own = (instrumentation as unknown as { _modules?: unknown })._modules;
  return Array.isArray(own) ? (own as InstrumentationModuleDefinition[]) : instrumentation.getModuleDefinitions();
}

/** Whether `fn` is a wrapper shimmer made (an OpenTelemetry instrumentation patched it). */
export function isShimmerWrapped(fn: unknown): boolean {
  return (fn as { __wrapped?: unknown } | undefined)?.__wrapped === true;
}

/** The function a shimmer wrapper wraps, if `fn` is one. */
export function shimmerOriginal(fn: unknown): unknown {
  return typeof fn === 'function' ? (fn as { __original?: unknown }).__original : undefined;
}

/** Whether `fn`, or a function it wraps through shimmer wrappers (at most 16 deep), satisfies `test`. */
export function wrapperChainIncludes(fn: unknown, test: (candidate: object) => boolean): boolean {
  let candidate = fn;
  for (let depth = 0; typeof candidate === 'function' && depth < 16; depth++) {
    if (test(candidate)) return true;
    candidate = shimmerOriginal(candidate);
  }
  return false;
}
