import { isPromise } from 'node:util/types';
import { reportHandlerFailure } from './report-failure';
import type { AnyFunction, Handler, HookSite } from './hook-site';

const apply = Reflect.apply;
const construct = Reflect.construct;

/**
 * The enabled path of a hooked call: befores, the original, then afters or
 * errors once the operation completes in the shape the site's mode names.
 * Handler failures are reported and never reach the caller.
 */
export function runHookedCall(site: HookSite, thisArg: unknown, args: IArguments, newTarget: unknown): unknown {
  const handlerArgs = argumentsForHandlers(site, args);
  runHandlers(site, 'before', site.befores, thisArg, handlerArgs);

  let callArgs: ArrayLike<unknown> = args;
  let awaitsCallback = false;
  if (site.mode === 'callback' && args.length > 0 && typeof args[args.length - 1] === 'function') {
    const copy = Array.from(args);
    copy[copy.length - 1] = completionCallback(site, thisArg, handlerArgs, copy[copy.length - 1] as AnyFunction);
    callArgs = copy;
    awaitsCallback = true;
  }

  let result: unknown;
  try {
    result =
      newTarget === undefined
        ? apply(site.original, thisArg, callArgs)
        : construct(site.original as unknown as new (...a: unknown[]) => object, callArgs, newTarget as () => void);
  } catch (error) {
    runHandlers(site, 'error', site.errors, thisArg, handlerArgs, error);
    throw error;
  }

  if (awaitsCallback) return result;
  if (site.mode === 'sync' || !settlesLater(site, result)) {
    runHandlers(site, 'after', site.afters, thisArg, handlerArgs, result);
    return result;
  }
  // The caller gets the original promise back, untouched; we only observe it.
  (result as PromiseLike<unknown>).then(
    (value) => {
      runHandlers(site, 'after', site.afters, thisArg, handlerArgs, value);
    },
    (error: unknown) => {
      runHandlers(site, 'error', site.errors, thisArg, handlerArgs, error);
    },
  );
  return result;
}

function settlesLater(site: HookSite, result: unknown): boolean {
  if (site.mode === 'auto' || site.mode === 'callback') return isPromise(result);
  return (
    (typeof result === 'object' || typeof result === 'function') &&
    result !== null &&
    typeof (result as { then?: unknown }).then === 'function'
  );
}

function argumentsForHandlers(site: HookSite, args: IArguments): unknown[] {
  if (site.handlerArity < 0) return Array.from(args);
  const out = new Array<unknown>(site.handlerArity);
  for (let i = 0; i < site.handlerArity; i++) out[i] = args[i];
  return out;
}

function completionCallback(
  site: HookSite,
  thisArg: unknown,
  handlerArgs: unknown[],
  callback: AnyFunction,
): AnyFunction {
  let completed = false;
  return function (this: unknown, ...callbackArgs: unknown[]): unknown {
    if (!completed) {
      completed = true;
      const error = callbackArgs[0];
      if (error !== null && error !== undefined) {
        runHandlers(site, 'error', site.errors, thisArg, handlerArgs, error);
      } else {
        runHandlers(site, 'after', site.afters, thisArg, handlerArgs, callbackArgs[1]);
      }
    }
    return apply(callback, this, callbackArgs);
  };
}

function runHandlers(
  site: HookSite,
  kind: 'before' | 'after' | 'error',
  handlers: readonly Handler[],
  thisArg: unknown,
  args: unknown[],
  first?: unknown,
): void {
  if (handlers.length === 0) return;
  const handlerArgs = kind === 'before' ? args : [first, ...args];
  for (let i = 0; i < handlers.length; i++) {
    try {
      apply(handlers[i], thisArg, handlerArgs);
    } catch (error) {
      const which = handlers.length > 1 ? `[${i}]` : '';
      reportHandlerFailure(site.groupName, `${kind}:${site.label}${which}`, error);
    }
  }
}
