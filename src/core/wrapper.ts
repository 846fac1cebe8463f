import type { AnyFunction, HookSite } from './hook-site';
import { runHookedCall } from './hooked-call';
import { isActive } from './request-scope';

type Construct = (target: AnyFunction, args: unknown[], newTarget: unknown) => object;
type WrapperFactory = (
  site: HookSite,
  original: AnyFunction,
  enabled: AnyFunction,
  active: typeof isActive,
  construct: Construct,
) => AnyFunction;

let wrappersMade = 0;

/**
 * The wrapper `hookFunction` installs. Its dormant path is one property
 * read and a call of the original, and it stays free of allocation in V8:
 * - the rest array only ever reaches a spread or `Reflect.construct`, so
 *   V8 never creates it; the enabled path is entered through another
 *   function, `enabled`, where the arguments are finally collected;
 * - every wrapper is compiled from its own source text, so each has its
 *   own type feedback: one hooked function taking the enabled path, or
 *   calling a different original, does not slow the others down.
 *
 * One shape serves every `maxArgs`: measured (`npm run bench`), a wrapper
 * with named parameters per arity was no faster and, once the enabled
 * path had run, allocated on every dormant call.
 *
 * `original` is never assigned in the wrapper's closure: V8 then treats
 * it as a constant of this one closure and inlines it. A wrapper whose
 * target must change is replaced by a new one (see `hookFunction`'s
 * unhook); measured, a reassignable `original` made the dormant call
 * about ten times slower.
 *
 * `enabled` is what runs once the group is enabled for the call: by
 * default the site's handlers around the original (`hookFunction`); the
 * dormant OpenTelemetry gate passes the instrumentation's own wrapper, so
 * both share this one dormant path. `active` is the check made once the
 * group is enabled somewhere (`isActive`, or the gate's, which also asks
 * the request being dispatched).
 */
export function createWrapper(
  site: HookSite,
  original = site.original,
  enabled = hookedCallOf(site),
  active: typeof isActive = isActive,
): AnyFunction {
  const source = `
    // dynamic-hooks wrapper #${++wrappersMade}
    return function (...args) {
      const group = site.group;
      if (group.active === 0 || !active(group)) {
        return new.target === undefined ? original.call(this, ...args) : construct(original, args, new.target);
      }
      return new.target === undefined ? enabled.call(this, ...args) : construct(enabled, args, new.target);
    };`;
  let factory: WrapperFactory;
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    factory = new Function('site', 'original', 'enabled', 'active', 'construct', source) as WrapperFactory;
  } catch {
    // --disallow-code-generation-from-strings: the same wrapper, with shared type feedback.
    factory = sharedWrapper;
  }
  return factory(site, original, enabled, active, Reflect.construct as unknown as Construct);
}

/** The enabled path of `hookFunction`'s wrappers: the site's handlers around the original. */
function hookedCallOf(site: HookSite): AnyFunction {
  return function (this: unknown, ..._args: unknown[]): unknown {
    // eslint-disable-next-line prefer-rest-params
    return runHookedCall(site, this, arguments, new.target);
  };
}

const sharedWrapper: WrapperFactory = (site, original, enabled, active, construct) =>
  function (this: unknown, ...args: unknown[]): unknown {
    const group = site.group;
    if (group.active === 0 || !active(group)) {
      return new.target === undefined ? original.call(this, ...args) : construct(original, args, new.target);
    }
    return new.target === undefined ? enabled.call(this, ...args) : construct(enabled, args, new.target);
  };
