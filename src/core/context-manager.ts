import { context, diag, ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { contextRegistry } from '../patching/otel-internals';

/** The registered context manager last seen to make a context active (see runInContext). */
let propagating: ContextManager | undefined;

/**
 * The registered context manager, if it is the one last seen to propagate
 * (see {@link runInContext}): the library then calls it directly. Through
 * the API, each `context.active()` and `context.with()` looks the manager
 * up in the API's globals and checks the registering API's version first:
 * about 900 instructions of an undebugged request's (bench `instructions`).
 * Any other manager, or a manager swapped in meanwhile, goes through the
 * API again.
 */
function provenManager(): ContextManager | undefined {
  const manager = contextRegistry()?.context;
  return manager !== undefined && manager === propagating ? manager : undefined;
}

/** The active context: what `context.active()` returns, for less. */
export function activeContext(): Context {
  const manager = provenManager();
  return manager !== undefined ? manager.active() : context.active();
}

/**
 * Runs `fn` with `ctx` active, as `context.with(ctx, fn, thisArg, ...args)`
 * does, for less. It installs nothing: code that may run before any
 * context manager exists calls {@link runInContext}.
 */
export function withContext<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
  ctx: Context,
  fn: F,
  thisArg?: ThisParameterType<F>,
  ...args: A
): ReturnType<F> {
  const manager = provenManager();
  if (manager !== undefined) return manager.with(ctx, fn, thisArg, ...args);
  return context.with(ctx, fn, thisArg, ...args);
}

/**
 * Runs `fn` with `ctx` active. If no context manager propagates contexts
 * (the application registered no OpenTelemetry SDK), installs the
 * AsyncLocalStorage one first; a manager the application registered is
 * never replaced. Whether the manager propagates is read back once per
 * registered manager: reading the active context costs more than the
 * rest of this together.
 */
export function runInContext<T>(ctx: Context, fn: () => T): T {
  const proven = provenManager();
  if (proven !== undefined) return proven.with(ctx, fn);
  const manager = contextRegistry()?.context;
  return context.with(ctx, () => {
    if (context.active() === ctx) {
      // The root context is active under any manager: it proves nothing.
      if (ctx !== ROOT_CONTEXT) propagating = manager;
      return fn();
    }
    installContextManager();
    return context.with(ctx, fn);
  });
}

function installContextManager(): void {
  const manager = new AsyncLocalStorageContextManager().enable();
  if (context.setGlobalContextManager(manager)) {
    diag.debug(
      'dynamic-hooks: no OpenTelemetry context manager was registered; installed AsyncLocalStorageContextManager',
    );
  } else {
    manager.disable();
    diag.warn(
      'dynamic-hooks: the registered OpenTelemetry context manager does not propagate contexts; request scopes will not work',
    );
  }
}
