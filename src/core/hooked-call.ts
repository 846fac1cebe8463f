import { isPromise } from 'node:util/types';
import { runInCallFrame, type CallFrame } from './call-frame';
import { reportHandlerFailure, reportRejection } from './report-failure';
import type { AnyFunction, Handler, HookSite } from './hook-site';
import { activeContext, withContext } from './context-manager';

const apply = Reflect.apply;
const construct = Reflect.construct;

type Phase = 'before' | 'after' | 'error';

/** One enabled call in flight: what its handlers need until it completes. */
interface HookedCall {
  readonly site: HookSite;
  readonly frame: CallFrame;
  readonly thisArg: unknown;
  readonly handlerArgs: unknown[];
}

/**
 * The enabled path of a hooked call: befores, the original, then afters or
 * errors once the operation completes in the shape the site's mode names.
 * Handler failures are reported and never reach the caller.
 */
export function runHookedCall(site: HookSite, thisArg: unknown, args: IArguments, newTarget: unknown): unknown {
  const outer = activeContext();
  const call: HookedCall = {
    site,
    frame: { context: outer, state: undefined },
    thisArg,
    handlerArgs: argumentsForHandlers(site, args),
  };
  runHandlers(call, 'before');
  if (call.frame.context === outer) return callOriginal(call, args, newTarget);
  return withContext(call.frame.context, callOriginal, undefined, call, args, newTarget);
}

function callOriginal(call: HookedCall, args: IArguments, newTarget: unknown): unknown {
  const { site } = call;
  let callArgs: ArrayLike<unknown> = args;
  let awaitsCallback = false;
  if (site.mode === 'callback' && args.length > 0 && typeof args[args.length - 1] === 'function') {
    const copy = Array.from(args);
    copy[copy.length - 1] = completionCallback(call, copy[copy.length - 1] as AnyFunction);
    callArgs = copy;
    awaitsCallback = true;
  }

  let result: unknown;
  try {
    result =
      newTarget === undefined
        ? apply(site.original, call.thisArg, callArgs)
        : construct(site.original as unknown as new (...a: unknown[]) => object, callArgs, newTarget as () => void);
  } catch (error) {
    runHandlers(call, 'error', error);
    throw error;
  }

  if (awaitsCallback) return result;
  if (site.mode === 'sync') {
    runHandlers(call, 'after', result);
    return result;
  }
  // The caller gets the result back untouched, whatever observing it does.
  observeResult(call, result);
  return result;
}

/**
 * Runs the afters (or errors) once `result` settles, in the shape the
 * site's mode names. A native promise is observed through the intrinsic
 * `then`, never its own `then` property; in `'promise'` mode a thenable
 * is observed through its `then`, read once. When observing throws (a
 * `then` getter or call that throws, a hostile species constructor), the
 * call ends with the errors given that error: a caller awaiting the result
 * gets the same one.
 */
function observeResult(call: HookedCall, result: unknown): void {
  if ((typeof result !== 'object' && typeof result !== 'function') || result === null) {
    runHandlers(call, 'after', result);
    return;
  }
  let then: unknown;
  try {
    if (isPromise(result)) then = promiseThen;
    else if (call.site.mode === 'promise') then = (result as { then?: unknown }).then;
  } catch (error) {
    runHandlers(call, 'error', error);
    return;
  }
  if (typeof then !== 'function') {
    runHandlers(call, 'after', result);
    return;
  }
  // A thenable may call back twice, or both ways, or call back and then throw: the first counts.
  let settled = false;
  const settle = (phase: Phase, value: unknown): void => {
    if (settled) return;
    settled = true;
    runHandlers(call, phase, value);
  };
  try {
    apply(then, result, [
      (value: unknown) => {
        settle('after', value);
      },
      (error: unknown) => {
        settle('error', error);
      },
    ]);
  } catch (error) {
    settle('error', error);
  }
}

const promiseThen = Promise.prototype.then;

function argumentsForHandlers(site: HookSite, args: IArguments): unknown[] {
  if (site.handlerArity < 0) return Array.from(args);
  const out = new Array<unknown>(site.handlerArity);
  for (let i = 0; i < site.handlerArity; i++) out[i] = args[i];
  return out;
}

/** The callback the original receives: completes the call, then calls the caller's callback as it was called. */
function completionCallback(call: HookedCall, callback: AnyFunction): AnyFunction {
  let completed = false;
  return function (this: unknown, ...callbackArgs: unknown[]): unknown {
    if (!completed) {
      completed = true;
      const error = callbackArgs[0];
      if (error !== null && error !== undefined) runHandlers(call, 'error', error);
      else runHandlers(call, 'after', callbackArgs[1]);
    }
    return apply(callback, this, callbackArgs);
  };
}

/** Runs one phase's handlers in the call's frame and context, isolating each failure. */
function runHandlers(call: HookedCall, phase: Phase, first?: unknown): void {
  const { site, frame } = call;
  const handlers = phase === 'before' ? site.befores : phase === 'after' ? site.afters : site.errors;
  if (handlers.length === 0) return;
  const args = phase === 'before' ? call.handlerArgs : [first, ...call.handlerArgs];
  const runAll = (): void => {
    for (let i = 0; i < handlers.length; i++) runOne(call, phase, handlers, i, args);
  };
  if (activeContext() === frame.context) runInCallFrame(frame, runAll);
  else withContext(frame.context, runInCallFrame, undefined, frame, runAll);
}

function runOne(call: HookedCall, phase: Phase, handlers: readonly Handler[], i: number, args: unknown[]): void {
  let returned: unknown;
  try {
    returned = apply(handlers[i], call.thisArg, args);
  } catch (error) {
    reportHandlerFailure(call.site.groupName, hookName(call, phase, handlers, i), error);
    return;
  }
  // An async handler: its rejection is reported like a throw, not left unhandled.
  if ((typeof returned === 'object' && returned !== null) || typeof returned === 'function') {
    reportRejection(returned, call.site.groupName, () => hookName(call, phase, handlers, i));
  }
}

function hookName(call: HookedCall, phase: Phase, handlers: readonly Handler[], i: number): string {
  return `${phase}:${call.site.label}${handlers.length > 1 ? `[${i}]` : ''}`;
}
