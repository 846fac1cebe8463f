import { groupState } from './group-state';
import { placeHook, removeHook } from './hook-chain';
import { HookSite, type AnyFunction, type Handler } from './hook-site';
import type { HookFunctionOptions, HookHandlers, HookMode, MaxArgs, Unhook } from './types';
import { checkFunction, checkGroupName, checkObject, checkOneOf, describe } from './validate';

const MODES: readonly HookMode[] = ['auto', 'sync', 'promise', 'callback'];

/**
 * Replaces `parent[key]` by a wrapper that runs `handlers.befores` before
 * and `handlers.afters` (or `handlers.errors`) after the original, but
 * only while `group` is enabled, process-wide or for the current request;
 * otherwise the original runs alone, at the cost of one property read.
 *
 * The wrapper forwards every argument, `this`, `new`, the result and
 * thrown errors unchanged, and carries the original's `name`, `length`,
 * own properties and own symbols. `maxArgs` (`0..8` or `'varargs'`) is how
 * many arguments the handlers receive.
 *
 * If `parent[key]` cannot be replaced (frozen, read-only, a setter that
 * throws, a Proxy that returns something else on read), it throws a
 * TypeError and leaves nothing behind.
 *
 * @returns a function that restores the original; hooks on one function
 * may be removed in any order.
 */
export function hookFunction<P extends object, K extends keyof P>(
  group: string,
  parent: P,
  key: K,
  maxArgs: MaxArgs,
  handlers: HookHandlers<P[K], P>,
  options?: HookFunctionOptions,
): Unhook {
  checkGroupName(group);
  checkObject(parent, 'parent');
  if (typeof key !== 'string' && typeof key !== 'symbol' && typeof key !== 'number') {
    throw new TypeError(`key must be a string or a symbol, got ${describe(key)}`);
  }
  const label = typeof key === 'symbol' ? key.toString() : String(key);
  const original = parent[key] as unknown;
  if (typeof original !== 'function') {
    throw new TypeError(`parent[${label}] must be a function, got ${describe(original)}`);
  }
  const handlerArity = checkMaxArgs(maxArgs);
  checkObject(handlers, 'handlers');
  const befores = handlerList(handlers.befores, 'handlers.befores');
  const afters = handlerList(handlers.afters, 'handlers.afters');
  const errors = handlerList(handlers.errors, 'handlers.errors');
  if (options !== undefined) checkObject(options, 'options');
  const mode = options?.mode ?? 'auto';
  checkOneOf(mode, MODES, 'options.mode');
  const name = options?.name ?? label;
  if (typeof name !== 'string') throw new TypeError(`options.name must be a string, got ${describe(name)}`);

  const state = groupState(group);
  const hook = placeHook(
    parent,
    key,
    original as AnyFunction,
    label,
    (below) => new HookSite(state, name, below, befores, afters, errors, handlerArity, mode),
  );
  state.sites.add(hook.site);

  let hooked = true;
  return function unhook(): void {
    if (!hooked) return;
    hooked = false;
    removeHook(hook);
  };
}
function checkMaxArgs(maxArgs: unknown): number {
  if (maxArgs === 'varargs') return -1;
  if (typeof maxArgs !== 'number') {
    throw new TypeError(`maxArgs must be an integer from 0 to 8 or 'varargs', got ${describe(maxArgs)}`);
  }
  if (!Number.isInteger(maxArgs) || maxArgs < 0 || maxArgs > 8) {
    throw new RangeError(`maxArgs must be an integer from 0 to 8 or 'varargs', got ${maxArgs}`);
  }
  return maxArgs;
}

function handlerList(list: unknown, argument: string): Handler[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new TypeError(`${argument} must be an array of functions, got ${describe(list)}`);
  list.forEach((handler: unknown, i) => {
    checkFunction(handler, `${argument}[${i}]`);
  });
  return [...(list as Handler[])];
}
