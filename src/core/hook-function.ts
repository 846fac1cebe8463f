import { groupState } from './group-state';
import { HookSite, type AnyFunction, type Handler } from './hook-site';
import { createWrapper } from './wrapper';
import type { HookFunctionOptions, HookHandlers, HookMode, MaxArgs, Unhook } from './types';
import { checkFunction, checkGroupName, checkObject, checkOneOf, describe } from './validate';

const MODES: readonly HookMode[] = ['auto', 'sync', 'promise', 'callback'];

type MethodOf<P, K extends keyof P> = P[K];

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
  handlers: HookHandlers<MethodOf<P, K>, P>,
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
  const descriptor = Reflect.getOwnPropertyDescriptor(parent, key);
  // A retired wrapper of ours on top (put back by someone who wrapped it) is skipped, not wrapped again.
  const below = skipRetired(original as AnyFunction, parent, key, descriptor !== undefined);
  const site = new HookSite(state, name, below.fn, befores, afters, errors, handlerArity, mode);
  const wrapper = createWrapper(site);
  copyFunctionProperties(below.fn, wrapper);
  const record: Installed = { site, wrapper, parent, key: propertyKey(key), wasOwn: below.wasOwn };
  installed.set(wrapper, record);

  const failure = install(parent, key, wrapper, label);
  if (failure !== undefined) {
    // Leave nothing behind: no handler may run, even through a wrapper someone kept.
    site.retire();
    putBack(parent, key, descriptor);
    throw failure;
  }
  state.sites.add(site);

  let hooked = true;
  return function unhook(): void {
    if (!hooked) return;
    hooked = false;
    remove(record);
  };
}

/** A wrapper `hookFunction` made, live or retired. */
interface Installed {
  readonly site: HookSite;
  /** The wrapper installed for this hook (a new one after a hook beneath was removed). */
  wrapper: AnyFunction;
  readonly parent: object;
  readonly key: string | symbol;
  /** Whether `parent[key]` was an own property before the first of our hooks beneath this one. */
  wasOwn: boolean;
}

/** Our wrappers, so that hooking and unhooking see through the retired ones. */
const installed = new WeakMap<object, Installed>();

/** Assigns the wrapper and reads it back; the error to throw if either fails. */
function install(parent: object, key: PropertyKey, wrapper: AnyFunction, label: string): TypeError | undefined {
  try {
    (parent as Record<PropertyKey, unknown>)[key] = wrapper;
  } catch (error) {
    return new TypeError(`parent[${label}] cannot be replaced: ${errorMessage(error)}`, { cause: error });
  }
  let readBack: unknown;
  try {
    readBack = (parent as Record<PropertyKey, unknown>)[key];
  } catch (error) {
    return new TypeError(`parent[${label}] cannot be replaced: ${errorMessage(error)}`, { cause: error });
  }
  if (readBack !== wrapper) return new TypeError(`parent[${label}] cannot be replaced (read-only or frozen)`);
  return undefined;
}

/** After a failed install: the property as it was (its own descriptor, or none), as far as the parent lets us. */
function putBack(parent: object, key: PropertyKey, descriptor: PropertyDescriptor | undefined): void {
  try {
    if (descriptor === undefined) {
      Reflect.deleteProperty(parent, key);
    } else if (!Reflect.defineProperty(parent, key, descriptor) && 'value' in descriptor) {
      Reflect.set(parent, key, descriptor.value);
    }
  } catch {
    // The parent refuses: what stays is a retired wrapper, which only forwards.
  }
}

/** How many of our wrappers above a removed one `remove` replaces at most. */
const MAX_REBUILT = 64;

/**
 * Removes one hook. On top, the property gets back what the hook replaced.
 * Beneath other hooks of ours, those are replaced by new wrappers that
 * skip it, so that the chain never keeps a retired wrapper. Beneath
 * someone else's wrapper, ours stays, retired, as a plain forwarder.
 */
function remove(record: Installed): void {
  const { site, wrapper, parent, key } = record;
  site.retire();
  const top = readProperty(parent, key);
  if (top === wrapper) {
    const below = skipRetired(site.original, parent, key, record.wasOwn);
    if (below.wasOwn) (parent as Record<PropertyKey, unknown>)[key] = below.fn;
    else Reflect.deleteProperty(parent, key);
    return;
  }
  // Our live hooks on this property, from the top down to the one removed.
  const above: Installed[] = [];
  for (let fn = top; above.length < MAX_REBUILT;) {
    const hooked = installed.get(fn as object);
    if (hooked === undefined || hooked.wrapper !== fn || hooked.site.retired) return;
    if (hooked.parent !== parent || hooked.key !== key) return;
    above.push(hooked);
    if (hooked.site.original === wrapper) break;
    fn = hooked.site.original;
  }
  if (above.length === 0 || above[above.length - 1].site.original !== wrapper) return;

  // Rebuilt from the bottom up: each new wrapper calls the new one beneath it.
  const targets: AnyFunction[] = [];
  const rebuilt: AnyFunction[] = [];
  let target = site.original;
  for (let i = above.length - 1; i >= 0; i--) {
    const replacement = createWrapper(above[i].site, target);
    copyFunctionProperties(above[i].wrapper, replacement);
    targets[i] = target;
    rebuilt[i] = replacement;
    target = replacement;
  }
  if (install(parent, key, rebuilt[0], '') !== undefined) {
    // The parent no longer takes a new wrapper: the old chain stays, with ours forwarding.
    try {
      (parent as Record<PropertyKey, unknown>)[key] = top;
    } catch {
      // Nothing more to do: every wrapper in either chain forwards correctly.
    }
    return;
  }
  above.forEach((hooked, i) => {
    hooked.site.original = targets[i];
    hooked.wrapper = rebuilt[i];
    installed.set(rebuilt[i], hooked);
  });
  above[above.length - 1].wasOwn = record.wasOwn;
}

function readProperty(parent: object, key: PropertyKey): unknown {
  try {
    return (parent as Record<PropertyKey, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** The first function beneath `fn` that is not a retired wrapper of ours, and whether it was own on `parent`. */
function skipRetired(
  fn: AnyFunction,
  parent: object,
  key: PropertyKey,
  wasOwn: boolean,
): { fn: AnyFunction; wasOwn: boolean } {
  let result = { fn, wasOwn };
  const sameKey = propertyKey(key);
  for (let record = installed.get(fn); record?.site.retired === true; record = installed.get(result.fn)) {
    const own = record.parent === parent && record.key === sameKey ? record.wasOwn : result.wasOwn;
    result = { fn: record.site.original, wasOwn: own };
  }
  return result;
}

/** `key` as the property it names: `0` and `'0'` are one property. */
function propertyKey(key: PropertyKey): string | symbol {
  return typeof key === 'number' ? String(key) : key;
}

function errorMessage(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'the parent refused';
  }
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

/** Gives the wrapper the original's name, length, own properties, own symbols and prototype chain. */
function copyFunctionProperties(original: object, wrapper: object): void {
  for (const property of Reflect.ownKeys(original)) {
    if (property === 'arguments' || property === 'caller') continue;
    const descriptor = Reflect.getOwnPropertyDescriptor(original, property);
    if (descriptor === undefined) continue;
    Reflect.defineProperty(wrapper, property, descriptor);
  }
  const proto = Object.getPrototypeOf(original) as object | null;
  if (proto !== Object.getPrototypeOf(wrapper)) Object.setPrototypeOf(wrapper, proto);
}
