import { findGroup, groupState, permanentGroupCount, type GroupState, type NamedHookHandler } from './group-state';
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
  const state = lastPermanent.name === group ? lastPermanent.state : findPermanentFirst(group);
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

type AnyHandler = (...args: unknown[]) => unknown;

/**
 * The group `runHook` last found as a permanent entry of the table (which
 * it then stays): a hook point runs the same group over and over, and a
 * string comparison costs less than the lookup by name.
 */
const lastPermanent: { name: string | undefined; state: GroupState | undefined } = {
  name: undefined,
  state: undefined,
};

/** `findGroup(group)`, remembered in `lastPermanent` if permanent. */
function findPermanentFirst(group: string): GroupState | undefined {
  const state = findGroup(group);
  if (state !== undefined && !state.transient) {
    lastPermanent.name = group;
    lastPermanent.state = state;
  }
  return state;
}

function runNamedHook(state: GroupState, name: string, ...args: unknown[]): unknown {
  const handler = state.namedHooks.get(name) as AnyHandler | undefined;
  if (handler === undefined) return undefined;
  let returned: unknown;
  try {
    returned = handler(...args);
  } catch (error) {
    reportHandlerFailure(state.name, name, error);
    return undefined;
  }
  return watched(state, name, returned);
}

/**
 * What a handler returned, its rejection reported if it is a promise: the
 * caller gets the promise back and may await it; a rejection nobody
 * awaits is reported, never unhandled.
 */
function watched(state: GroupState, name: string, returned: unknown): unknown {
  // Only an object can be a thenable: a plain answer (auth's boolean, per request) allocates nothing here.
  if ((typeof returned === 'object' && returned !== null) || typeof returned === 'function') {
    reportRejection(returned, state.name, () => name);
  }
  return returned;
}

/**
 * One group its caller asks about on every call (whether it may run
 * anywhere), without looking it up by name each time: it keeps the
 * group's state once the group is a permanent entry of the table (which
 * it then stays), and looks again only when a new group became permanent.
 */
export class GroupHandle {
  private state: GroupState | undefined;
  /** {@link permanentGroupCount} when the group was last looked up and not found. */
  private missedAt = -1;

  constructor(readonly group: string) {}

  /** `hooksMayRun(group)`. */
  mayRun(): boolean {
    const state = this.groupState();
    return state !== undefined && state.active !== 0;
  }

  /** The group's state, once it is a permanent entry of the table. */
  protected groupState(): GroupState | undefined {
    if (this.state !== undefined) return this.state;
    const count = permanentGroupCount();
    if (count === this.missedAt) return undefined;
    const state = findGroup(this.group);
    // A transient entry may leave the table, and has no hooks: not kept, and looked up again once it is permanent.
    if (state === undefined || state.transient) {
      this.missedAt = count;
      return undefined;
    }
    this.state = state;
    return state;
  }
}

/**
 * One named hook that its caller runs on every request (the server
 * integration's auth and dispatch hooks): {@link runHook} and
 * {@link hooksMayRun} for that group and name, with the group held as
 * {@link GroupHandle} holds it.
 */
export class NamedHookCaller extends GroupHandle {
  constructor(
    group: string,
    readonly name: string,
  ) {
    super(group);
  }

  /**
   * `runHook(group, name, first, second)`: the handler gets exactly these
   * two arguments.
   */
  run(first?: unknown, second?: unknown): unknown {
    const state = this.groupState();
    if (state === undefined || state.active === 0 || !isActive(state)) return undefined;
    const handler = state.namedHooks.get(this.name) as AnyHandler | undefined;
    if (handler === undefined) return undefined;
    let returned: unknown;
    try {
      returned = handler(first, second);
    } catch (error) {
      reportHandlerFailure(state.name, this.name, error);
      return undefined;
    }
    return watched(state, this.name, returned);
  }
}
