import { context, type Context, type ContextManager } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { asyncHooksIdle, contextRegistry, shortcutRootWhileIdle, type ContextRegistry } from './context-internals';

/**
 * Running a gated function's first call through its instrumentation (the
 * gate's probe, see `gatePatch`) must not cost the process anything later.
 * But instrumentations enter contexts (`context.with`), and the first
 * `with()` of OpenTelemetry's AsyncLocalStorage context manager switches
 * AsyncLocalStorage's async hooks on for every async operation of the
 * process, for good, on Node 20 and 22: measured, +10 to +15 us per request
 * of a promise-heavy gateway in which no request was ever debugged.
 *
 * So while those hooks are still off, a probe runs under a stand-in for
 * the registered context manager, for the call's duration: contexts with
 * tracing suppressed (the probe's, and what the instrumentation derives
 * from it) are kept on a synchronous stack, `active()` reads its top.
 * Nothing of them needs to reach async continuations: with the hooks off,
 * every continuation runs in the root context, as the process would see it
 * without the probe. Any other context entered during the call (the
 * caller's, which the original runs in; one the application's code enters
 * in a handler the call runs) goes through the registered manager, so it
 * propagates as always (switching the hooks on if it must). A function the
 * instrumentation binds to a suppressed context runs later in that context
 * the same way; an event emitter it binds to one is left as it is (its
 * listeners run in the root context, as they would with the hooks off).
 * What the instrumentation leaves behind to run later (a listener that
 * binds a response to the context active then, the root one) enters the
 * root context, which the registered manager is made to do without its
 * hooks ({@link shortcutRootWhileIdle}). Once anything has switched the
 * hooks on, probes simply use `context.with`.
 */
export function withProbeContext<A extends unknown[], R>(ctx: Context, fn: (...args: A) => R, ...args: A): R {
  if (!isTracingSuppressed(ctx)) return context.with(ctx, fn, undefined, ...args);
  if (swapped !== undefined) return runOnStack(ctx, fn, undefined, args);
  const registry = contextRegistry();
  const registered = registry?.context;
  if (registry === undefined || !asyncHooksIdle(registered)) return context.with(ctx, fn, undefined, ...args);
  shortcutRootWhileIdle(registered as ContextManager);
  swapped = { registry, registered: registered as ContextManager };
  registry.context = probeManager;
  try {
    return runOnStack(ctx, fn, undefined, args);
  } finally {
    registry.context = swapped.registered;
    swapped = undefined;
  }
}

/** The registered manager while the probe manager stands in for it. */
let swapped: { readonly registry: ContextRegistry; readonly registered: ContextManager } | undefined;
/** The probe's contexts, innermost last; {@link REGISTERED} where the registered manager's context is the active one. */
const stack: (Context | typeof REGISTERED)[] = [];
const REGISTERED = Symbol('the registered manager');

function runOnStack<R>(
  entry: Context | typeof REGISTERED,
  fn: (...args: never) => R,
  thisArg: unknown,
  args: readonly unknown[],
): R {
  stack.push(entry);
  try {
    return Reflect.apply(fn, thisArg, args) as R;
  } finally {
    stack.pop();
  }
}

/**
 * Enters `ctx` during a probe: a context with tracing suppressed (the
 * probe's, and those the instrumentation derives from it) on the stack;
 * any other (the caller's context the original runs in, a context the
 * application enters in code the call runs) through the registered
 * manager, so that what it starts propagates that context as always.
 */
function enter<R>(ctx: Context, fn: (...args: never) => R, thisArg: unknown, args: readonly unknown[]): R {
  if (isTracingSuppressed(ctx)) return runOnStack(ctx, fn, thisArg, args);
  const registered = (swapped as { registered: ContextManager }).registered;
  const call = (): R => Reflect.apply(fn, thisArg, args) as R;
  return runOnStack(REGISTERED, () => registered.with(ctx, call), undefined, []);
}

function bindFunction<T extends (...args: never[]) => unknown>(ctx: Context, target: T): T {
  const bound = function (this: unknown, ...args: unknown[]): unknown {
    if (swapped !== undefined) return runOnStack(ctx, target, this, args);
    return withProbeContext(ctx, () => Reflect.apply(target, this, args) as unknown);
  };
  Object.defineProperty(bound, 'length', { value: target.length });
  return bound as unknown as T;
}

const probeManager: ContextManager = {
  active: () => {
    const top = stack[stack.length - 1];
    return top === undefined || top === REGISTERED
      ? (swapped as { registered: ContextManager }).registered.active()
      : top;
  },
  with: (ctx, fn, thisArg, ...args) => enter(ctx, fn, thisArg, args),
  bind: (ctx, target) => {
    if (!isTracingSuppressed(ctx)) return (swapped as { registered: ContextManager }).registered.bind(ctx, target);
    return typeof target === 'function' ? bindFunction(ctx, target as never) : target;
  },
  enable: () => probeManager,
  disable: () => probeManager,
};
