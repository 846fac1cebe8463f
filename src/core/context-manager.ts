import { AsyncLocalStorage, executionAsyncId } from 'node:async_hooks';
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
  if (manager === undefined) return unprovenActive();
  return manager !== witnessed || runDepth === 0 ? manager.active() : countedRead(manager);
}

/**
 * `context.active()` while no manager is proven. A context other than the
 * root is one the registered manager made active (an instrumentation's
 * `context.with` around the caller, as OpenTelemetry HttpInstrumentation's
 * around every request), which proves that it propagates as
 * {@link runInContext}'s own check would: a process whose requests ride on
 * such contexts may never call `runInContext`, and went through the API
 * for every read.
 */
function unprovenActive(): Context {
  // Read first: the manager whose active() the API calls next.
  const manager = contextRegistry()?.context;
  const active = context.active();
  if (active !== ROOT_CONTEXT && manager !== undefined) prove(manager);
  return active;
}

/** Calls `manager` directly from now on (see {@link provenManager}), and counts its storage's calls if it can. */
function prove(manager: ContextManager): void {
  propagating = manager;
  witness(manager);
}

/** `manager.active()` inside a run of its witnessed storage: the context read last, if nothing changed it since. */
function countedRead(manager: ContextManager): Context {
  const asyncId = executionAsyncId();
  if (asyncId === seen.asyncId && storeEpoch === seen.epoch) return seen.context as Context;
  const active = manager.active();
  seen.context = active;
  seen.asyncId = asyncId;
  seen.epoch = storeEpoch;
  return active;
}

/*
 * Reading the active context costs Node 20 and 22 a call into C++
 * (async_hooks' `executionAsyncResource`) and a megamorphic load of the
 * store from the resource it returns: about 0.1 us per timing context,
 * where a debugged request enters and leaves thousands. On those lines an
 * AsyncLocalStorage keeps its store on the async resource whose callback
 * runs, so the store can change only with the execution (the id
 * `executionAsyncId()` reads from a typed array) or through the storage's
 * own methods. For the proven manager's storage, when it is that kind,
 * the library counts every call of those methods (`storeEpoch`), and
 * `activeContext` answers the context it read last while the execution
 * and the count are the same. Only inside a `run` (a `context.with`): the
 * remembered context is dropped when the outermost run returns, so it
 * never keeps a finished request's objects alive. Node 24's storage keeps
 * its store elsewhere and reads it cheaply: not witnessed.
 */

/** The manager whose storage is counted (see above), if any. */
let witnessed: ContextManager | undefined;
/** Calls of the witnessed storage's methods that change the store, at their start and end. */
let storeEpoch = 0;
/** How many runs of the witnessed storage are on the stack. */
let runDepth = 0;
/** The context `activeContext` read last, in which execution and at which count. */
const seen: { context: Context | undefined; asyncId: number; epoch: number } = {
  context: undefined,
  asyncId: -1,
  epoch: -1,
};

/** The methods of an AsyncLocalStorage that keeps its store on async resources (Node 20 and 22). */
const RESOURCE_STORE_METHODS = [
  '_enable',
  '_propagate',
  'constructor',
  'disable',
  'enterWith',
  'exit',
  'getStore',
  'run',
];

/**
 * The storage of OpenTelemetry's AsyncLocalStorage manager (any copy of
 * it, not a subclass, whose `active()` might read more than the store), if
 * the storage keeps its store on async resources, with no method unknown.
 */
function resourceStorage(manager: ContextManager): AsyncLocalStorage<unknown> | undefined {
  const prototype = Object.getPrototypeOf(manager) as { constructor?: { name?: unknown } } | null;
  if (prototype?.constructor?.name !== 'AsyncLocalStorageContextManager') return undefined;
  if (Object.hasOwn(manager, 'active') || Object.hasOwn(manager, 'with')) return undefined;
  const storage = (manager as { _asyncLocalStorage?: unknown })._asyncLocalStorage;
  if (!(storage instanceof AsyncLocalStorage) || Object.getPrototypeOf(storage) !== AsyncLocalStorage.prototype) {
    return undefined;
  }
  if (typeof (storage as { kResourceStore?: unknown }).kResourceStore !== 'symbol') return undefined;
  const methods = Object.getOwnPropertyNames(AsyncLocalStorage.prototype).sort();
  if (methods.join() !== RESOURCE_STORE_METHODS.join()) return undefined;
  // Methods of its own would bypass the counting below.
  if (Object.getOwnPropertyNames(storage).some((name) => RESOURCE_STORE_METHODS.includes(name))) return undefined;
  return storage as AsyncLocalStorage<unknown>;
}

/** Storages whose calls are counted already (a manager proven again after a swap). */
const countedStorages = new WeakSet();

/** Counts the calls of `manager`'s storage that change its store, and lets `activeContext` rely on the count. */
function witness(manager: ContextManager): void {
  witnessed = undefined;
  const own = (manager as { _asyncLocalStorage?: unknown })._asyncLocalStorage;
  if (typeof own === 'object' && own !== null && countedStorages.has(own)) {
    witnessed = manager;
    return;
  }
  const storage = resourceStorage(manager);
  if (storage === undefined) return;
  countedStorages.add(storage);
  const { run, exit, enterWith, disable } = AsyncLocalStorage.prototype;
  const counted = storage as unknown as Record<string, unknown>;
  counted.run = function (this: AsyncLocalStorage<unknown>, store: unknown, callback: () => unknown): unknown {
    runDepth++;
    storeEpoch++;
    try {
      // eslint-disable-next-line prefer-rest-params -- no array for the usual call, which passes no arguments
      return arguments.length > 2 ? (Reflect.apply(run, this, arguments) as unknown) : run.call(this, store, callback);
    } finally {
      storeEpoch++;
      if (--runDepth === 0) seen.context = undefined;
    }
  };
  counted.exit = function (this: AsyncLocalStorage<unknown>): unknown {
    storeEpoch++;
    try {
      // eslint-disable-next-line prefer-rest-params
      return Reflect.apply(exit, this, arguments) as unknown;
    } finally {
      storeEpoch++;
    }
  };
  counted.enterWith = function (this: AsyncLocalStorage<unknown>, store: unknown): void {
    storeEpoch++;
    enterWith.call(this, store);
  };
  counted.disable = function (this: AsyncLocalStorage<unknown>): void {
    storeEpoch++;
    disable.call(this);
  };
  witnessed = manager;
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
      if (ctx !== ROOT_CONTEXT && manager !== undefined) prove(manager);
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

/** Whether the library calls the registered context manager directly (see {@link provenManager}): for tests. */
export function contextManagerProven(): boolean {
  return provenManager() !== undefined;
}

/** Whether `activeContext` counts the proven manager's storage calls (see above): for tests. */
export function contextReadsCounted(): boolean {
  const manager = provenManager();
  return manager !== undefined && manager === witnessed;
}
