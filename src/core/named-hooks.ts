import { findGroup, groupState, type GroupState, type NamedHookHandler } from './group-state';
import { reportHandlerFailure, reportRejection } from './report-failure';
import { isActive } from './request-scope';
import { checkFunction, checkGroupName } from './validate';

/**
 * Registers `handler` for `runHook(group, name, ...)`. One handler per
 * group and name: a later registration replaces the earlier one.
 *
 * @returns a function that removes this handler (if it is still the one registered).
 */
export function hook(group: string, name: string, handler: (...args: never[]) => unknown): () => void {
  checkGroupName(group);
  checkGroupName(name, 'name');
  checkFunction(handler, 'handler');
  const hooks = groupState(group).namedHooks;
  const registered: NamedHookHandler = handler;
  hooks.set(name, registered);
  return () => {
    if (hooks.get(name) === registered) hooks.delete(name);
  };
}

/**
 * Calls the handler registered for `group` and `name` with `args` if the
 * group is enabled for the current context, and returns what it returned.
 * Never throws: a failing handler is reported through `diag.warn`, and so
 * is the rejection of a promise it returned (which the caller may still
 * await).
 */
export function runHook(group: string, name: string, ...args: unknown[]): unknown {
  const state = findGroup(group);
  if (state === undefined || state.active === 0 || !isActive(state)) return undefined;
  // A spread, not the array itself: the rest array then costs nothing while dormant.
  return runNamedHook(state, name, ...args);
}

/**
 * Whether `runHook(group, ...)` could call a handler anywhere now (the
 * group is enabled process-wide or in some request), without reading the
 * active context: false means it would return `undefined` in every
 * context, so its arguments need not be computed.
 */
export function hooksMayRun(group: string): boolean {
  const state = findGroup(group);
  return state !== undefined && state.active !== 0;
}

function runNamedHook(state: GroupState, name: string, ...args: unknown[]): unknown {
  const handler = state.namedHooks.get(name) as ((...a: unknown[]) => unknown) | undefined;
  if (handler === undefined) return undefined;
  let returned: unknown;
  try {
    returned = handler(...args);
  } catch (error) {
    reportHandlerFailure(state.name, name, error);
    return undefined;
  }
  // The caller gets the promise back and may await it; a rejection nobody awaits is reported, never unhandled.
  // Only an object can be a thenable: a plain answer (auth's boolean, per request) allocates nothing here.
  if ((typeof returned === 'object' && returned !== null) || typeof returned === 'function') {
    reportRejection(returned, state.name, () => name);
  }
  return returned;
}
