import type { AnyFunction, HookSite } from './hook-site';
import { createWrapper } from './wrapper';

// How hooks on one property stack up: wrappers of ours, possibly with
// others' wrappers between them, installed and removed in any order
// without leaving retired wrappers in the chain.

/** A wrapper `hookFunction` made, live or retired. */
export interface Installed {
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

/**
 * Installs a wrapper on `parent[key]` (now `current`) for the site
 * `makeSite` builds around what the wrapper calls: `current`, or what lies
 * beneath it when it is a retired wrapper of ours. Throws a TypeError
 * (and leaves the property as it was, the site retired) if the parent
 * does not take the wrapper.
 */
export function placeHook(
  parent: object,
  key: PropertyKey,
  current: AnyFunction,
  label: string,
  makeSite: (below: AnyFunction) => HookSite,
): Installed {
  const descriptor = Reflect.getOwnPropertyDescriptor(parent, key);
  // A retired wrapper of ours on top (put back by someone who wrapped it) is skipped, not wrapped again.
  const below = skipRetired(current, parent, key, descriptor !== undefined);
  const site = makeSite(below.fn);
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
  return record;
}

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
export function removeHook(record: Installed): void {
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

/** Gives the wrapper the original's name, length, own properties, own symbols and prototype chain. */
export function copyFunctionProperties(original: object, wrapper: object): void {
  for (const property of Reflect.ownKeys(original)) {
    if (property === 'arguments' || property === 'caller') continue;
    const descriptor = Reflect.getOwnPropertyDescriptor(original, property);
    if (descriptor === undefined) continue;
    Reflect.defineProperty(wrapper, property, descriptor);
  }
  const proto = Object.getPrototypeOf(original) as object | null;
  if (proto !== Object.getPrototypeOf(wrapper)) Object.setPrototypeOf(wrapper, proto);
}
