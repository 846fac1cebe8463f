import { context, diag, ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { contextRegistry } from '../patching/otel-internals';

/** The registered context manager last seen to make a context active (see runInContext). */
let propagating: unknown;

/**
 * Runs `fn` with `ctx` active. If no context manager propagates contexts
 * (the application registered no OpenTelemetry SDK), installs the
 * AsyncLocalStorage one first; a manager the application registered is
 * never replaced. Whether the manager propagates is read back once per
 * registered manager: reading the active context costs more than the
 * rest of this together.
 */
export function runInContext<T>(ctx: Context, fn: () => T): T {
  const manager = contextRegistry()?.context;
  if (manager !== undefined && manager === propagating) return context.with(ctx, fn);
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
