import type { ContextManager } from '@opentelemetry/api';
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

/*
 * Of `@opentelemetry/api` (pinned by the same test):
 *
 * - `BaseContext#_currentContext`: the `Map` of a context's own values,
 *   which its `getValue` reads and its `setValue` copies into the child;
 * - the API 1.x keeps its globals in one registry object under
 *   `Symbol.for('opentelemetry.js.api.1')`, and every copy of the API reads
 *   the registered context manager from its `context` field on each call
 *   (test/otel/context-internals.test.ts pins this one);
 *
 * and of `@opentelemetry/instrumentation-http`: its `Server#emit` wrapper
 * (`incomingRequest`, shimmer-marked) runs every `'request'` event in a
 * context it makes for that request alone (from `ROOT_CONTEXT`, with the
 * request's SERVER span, or with tracing suppressed for an ignored one).
 */

const API_REGISTRY = Symbol.for('opentelemetry.js.api.1');

/**
 * The API's registry of globals: the field the gates' probe swaps, the
 * manager `runInContext` remembers, and whether a diag logger is
 * registered (the timing module's default logger asks).
 */
export interface ContextRegistry {
  context?: ContextManager;
  diag?: unknown;
}

/** The registry of `@opentelemetry/api` 1.x globals, if a global was ever registered. */
export function contextRegistry(): ContextRegistry | undefined {
  const registry = (globalThis as Record<symbol, unknown>)[API_REGISTRY];
  return typeof registry === 'object' && registry !== null ? registry : undefined;
}

/**
 * Context classes whose `getValue` was seen to read the `_currentContext`
 * map (`BaseContext`, one per copy of the API; each context has its own
 * `getValue` closure, so the class is what can be remembered).
 */
const mapReaders = new WeakSet();

/**
 * Sets `key` to `value` in `ctx` itself rather than in a child: for a
 * context made for one request only, which the request's code (and every
 * continuation) then reads. False, with nothing changed, if `ctx` already
 * has `key`, or is not a context of the shape the installed
 * `@opentelemetry/api` makes (checked for the first context of each
 * class: that its `getValue` reads the value back).
 */
export function setValueInPlace(ctx: object, key: symbol, value: unknown): boolean {
  const values = (ctx as { _currentContext?: unknown })._currentContext;
  if (!(values instanceof Map) || values.has(key)) return false;
  const getValue = (ctx as { getValue?: unknown }).getValue;
  if (typeof getValue !== 'function') return false;
  values.set(key, value);
  // A class, never Object: plain objects share nothing that was checked.
  const kind = (ctx as { constructor?: unknown }).constructor;
  const remembered = typeof kind === 'function' && kind !== Object;
  if (remembered && mapReaders.has(kind)) return true;
  if (getValue.call(ctx, key) === value) {
    if (remembered) mapReaders.add(kind);
    return true;
  }
  values.delete(key);
  return false;
}

const requestContextWrappers = new WeakMap<object, boolean>();

/**
 * Whether `fn` is OpenTelemetry HttpInstrumentation's `Server#emit`
 * wrapper, which runs each `'request'` event (and the emit beneath it) in
 * a context made for that request alone: by its name, shimmer's marks and
 * the two calls its source makes. Cached per function.
 */
export function makesRequestContext(fn: unknown): boolean {
  if (typeof fn !== 'function') return false;
  let known = requestContextWrappers.get(fn);
  if (known === undefined) {
    const source = Function.prototype.toString.call(fn);
    known =
      isShimmerWrapped(fn) &&
      fn.name === 'incomingRequest' &&
      source.includes('ROOT_CONTEXT') &&
      /\bcontext\.with\(/.test(source);
    requestContextWrappers.set(fn, known);
  }
  return known;
}

/**
 * Whether every function on the shimmer chain from `outer` down to (not
 * including) `inner` makes a per-request context (see
 * {@link makesRequestContext}), and there is at least one: then `inner`,
 * called through `outer` for a request, runs in a context made for that
 * request. False if the chain does not reach `inner` within 16 steps.
 */
export function onlyRequestContextsBetween(outer: unknown, inner: unknown): boolean {
  let candidate = outer;
  for (let depth = 0; depth < 16; depth++) {
    if (candidate === inner) return depth > 0;
    if (!makesRequestContext(candidate)) return false;
    candidate = shimmerOriginal(candidate);
  }
  return false;
}
