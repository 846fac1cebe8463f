import { context, type Context, type ContextManager } from '@opentelemetry/api';
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
 * So while those hooks are still off, a probe runs under a synchronous
 * context manager put in the registered one's place for the call's
 * duration: `with()` keeps a stack, `active()` reads its top. Nothing
 * escapes the call that could need the hooks: with them off, no context
 * is propagated to async continuations anyway (every one runs in the root
 * context), so the process observes what it would without the probe. A
 * function the instrumentation binds to a context during the call (a
 * callback to run in its caller's context) runs later in that context the
 * same way, or through the registered manager once its hooks are on. An
 * event emitter it binds is left as it is (its listeners run in the root
 * context, as they would with the hooks off). What the instrumentation
 * leaves behind to run later (a listener that binds the response to the
 * context active then, the root one) enters the root context, which the
 * registered manager is made to do without its hooks
 * ({@link shortcutRootWhileIdle}). Once anything has switched the hooks on
 * (a request scope, a debugged request, an enabled group), probes simply
 * use `context.with`.
 */
export function withProbeContext<A extends unknown[], R>(ctx: Context, fn: (...args: A) => R, ...args: A): R {
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
const stack: Context[] = [];

function runOnStack<R>(ctx: Context, fn: (...args: never) => R, thisArg: unknown, args: readonly unknown[]): R {
  stack.push(ctx);
  try {
    return Reflect.apply(fn, thisArg, args) as R;
  } finally {
    stack.pop();
  }
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
  active: () => stack[stack.length - 1] ?? (swapped?.registered.active() as Context),
  with: (ctx, fn, thisArg, ...args) => runOnStack(ctx, fn, thisArg, args),
  bind: (ctx, target) => (typeof target === 'function' ? bindFunction(ctx, target as never) : target),
  enable: () => probeManager,
  disable: () => probeManager,
};
