import { ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';
import { EventEmitter } from 'node:events';

// The one place that reads the private parts of OpenTelemetry's context
// propagation that the gates' probe needs (test/otel/context-internals.test.ts
// pins them for the installed versions):
// - `@opentelemetry/api` 1.x keeps its globals in one registry object under
//   `Symbol.for('opentelemetry.js.api.1')`; every copy of the API reads the
//   registered context manager from its `context` field on each call;
// - `AsyncLocalStorageContextManager` (`@opentelemetry/context-async-hooks`)
//   runs on the AsyncLocalStorage in its `_asyncLocalStorage` field, which on
//   Node 20 and 22 says in `enabled` whether its async hooks are switched on
//   (they are from its first `run()`, for every async operation of the
//   process, until it is disabled). On Node 24 AsyncLocalStorage runs on
//   AsyncContextFrame, has no `enabled` and no hooks to switch on.

const API_REGISTRY = Symbol.for('opentelemetry.js.api.1');

/** The API's registry of globals: the field the gates' probe swaps. */
export interface ContextRegistry {
  context?: ContextManager;
}

/** The registry of `@opentelemetry/api` 1.x globals, if a global was ever registered. */
export function contextRegistry(): ContextRegistry | undefined {
  const registry = (globalThis as Record<symbol, unknown>)[API_REGISTRY];
  return typeof registry === 'object' && registry !== null ? registry : undefined;
}

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
 * While its AsyncLocalStorage's hooks are off, makes `manager.with(ROOT_CONTEXT,
 * fn)` call `fn` directly instead of switching them on, and
 * `manager.bind(ROOT_CONTEXT, emitter)` leave the event emitter as it is
 * instead of patching its listener methods (own `with` and `bind` on the
 * instance, in front of its class's). With the hooks off, nothing can have
 * entered a context through this manager, so every continuation already
 * runs in the root context and `active()` reads it either way.
 *
 * Instrumentation code left behind by a gate's probe (a listener bound to
 * the context that was active, which is the root one) would otherwise
 * switch the hooks on at its first event. And HttpInstrumentation binds
 * the response of the request it traced, which would give the probe's one
 * response its own `on`, `once`, `removeListener`... methods: one more
 * object shape through Node's stream and HTTP code, whose shared
 * property-access sites stay megamorphic for the life of the process
 * (under callgrind, a proxying gateway with http dormant on Node 20: an
 * eighth of the extra megamorphic property-access work the probe leaves).
 *
 * Once the hooks are on (for good: only `disable()` turns them off), both
 * remove themselves and the class's run as before, at no cost. An emitter
 * left unbound while they were off then runs its listeners in the context
 * it emits in, as it did while they were off.
 */
export function shortcutRootWhileIdle(manager: ContextManager): void {
  if (shortcut.has(manager) || Object.hasOwn(manager, 'with') || Object.hasOwn(manager, 'bind')) return;
  const storage = (manager as { _asyncLocalStorage?: { enabled?: unknown } })._asyncLocalStorage;
  if (storage === undefined) return;
  const classWith = manager.with;
  const classBind = manager.bind;
  const idle = (): boolean => {
    if (storage.enabled === false) return true;
    Reflect.deleteProperty(manager, 'with');
    Reflect.deleteProperty(manager, 'bind');
    return false;
  };
  const withOrShortcut: ContextManager['with'] = function (this: ContextManager, ctx, fn, thisArg, ...args) {
    if (idle() && ctx === ROOT_CONTEXT) return Reflect.apply(fn, thisArg, args);
    return Reflect.apply(classWith, this, [ctx, fn, thisArg, ...args]);
  };
  const bindOrShortcut: ContextManager['bind'] = function <T>(this: ContextManager, ctx: Context, target: T): T {
    if (idle() && ctx === ROOT_CONTEXT && target instanceof EventEmitter) return target;
    return Reflect.apply<ContextManager, [Context, T], T>(classBind, this, [ctx, target]);
  };
  Object.defineProperty(manager, 'with', { value: withOrShortcut, writable: true, configurable: true });
  Object.defineProperty(manager, 'bind', { value: bindOrShortcut, writable: true, configurable: true });
  shortcut.add(manager);
}
