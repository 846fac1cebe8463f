import { context, diag, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';

/**
 * Runs `fn` with `ctx` active. If no context manager propagates contexts
 * (the application registered no OpenTelemetry SDK), installs the
 * AsyncLocalStorage one first; a manager the application registered is
 * never replaced.
 */
export function runInContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, () => {
    if (context.active() === ctx) return fn();
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
