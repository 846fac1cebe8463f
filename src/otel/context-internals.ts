import { ROOT_CONTEXT, type ContextManager } from '@opentelemetry/api';

// The one place that reads the private parts of OpenTelemetry's context
// propagation that the gates' probe needs (test/otel/context-internals.test.ts
// pins them for the installed versions):
// - `@opentelemetry/api` 1.x keeps its globals in one registry object (read
//   by `contextRegistry`, in src/patching/otel-internals.ts, where the core
//   reads it too);
// - `AsyncLocalStorageContextManager` (`@opentelemetry/context-async-hooks`)
//   runs on the AsyncLocalStorage in its `_asyncLocalStorage` field, which on
//   Node 20 and 22 says in `enabled` whether its async hooks are switched on
//   (they are from its first `run()`, for every async operation of the
//   process, until it is disabled). On Node 24 AsyncLocalStorage runs on
//   AsyncContextFrame, has no `enabled` and no hooks to switch on.

export { contextRegistry, type ContextRegistry } from '../patching/otel-internals';

/**
 * Whether `manager` propagates contexts through an AsyncLocalStorage whose
 * async hooks are not switched on yet: true only on a Node line where they
 * exist (20, 22), for OpenTelemetry's AsyncLocalStorage manager before its
 * first `with()`.
 */
export function asyncHooksIdle(manager: ContextManager | undefined): boolean {
  const storage = (manager as { _asyncLocalStorage?: { enabled?: unknown } } | undefined)?._asyncLocalStorage;
  return storage?.enabled === false;
}

const shortcut = new WeakSet();

/**
 * Makes `manager.with(ROOT_CONTEXT, fn)` call `fn` directly while its
 * AsyncLocalStorage's hooks are off, instead of switching them on (an own
 * `with` on the instance, in front of its class's). The two are the same
 * to everything the process can observe: with the hooks off, every async
 * continuation already runs in the root context, and `active()` inside
 * `fn` reads the root context either way. Instrumentation code left behind
 * by a gate's probe (a listener bound to the context that was active,
 * which is the root one) would otherwise switch the hooks on at its first
 * event. Once they are on (for good: only `disable()` turns them off), the
 * own `with` removes itself and the class's runs as before, at no cost.
 */
export function shortcutRootWhileIdle(manager: ContextManager): void {
  if (shortcut.has(manager) || Object.hasOwn(manager, 'with')) return;
  const storage = (manager as { _asyncLocalStorage?: { enabled?: unknown } })._asyncLocalStorage;
  if (storage === undefined) return;
  const classWith = manager.with;
  const withOrShortcut: ContextManager['with'] = function (this: ContextManager, ctx, fn, thisArg, ...args) {
    if (storage.enabled !== false) Reflect.deleteProperty(manager, 'with');
    else if (ctx === ROOT_CONTEXT) return Reflect.apply(fn, thisArg, args);
    return Reflect.apply(classWith, this, [ctx, fn, thisArg, ...args]);
  };
  Object.defineProperty(manager, 'with', { value: withOrShortcut, writable: true, configurable: true });
  shortcut.add(manager);
}
