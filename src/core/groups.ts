import { diag } from '@opentelemetry/api';
import {
  allGroups,
  findGroup,
  groupState,
  MAX_TRANSIENT_GROUPS,
  releaseIfUnused,
  transientGroupState,
} from './group-state';
import {
  activeRequestScope,
  enableInScope,
  isActive,
  readyToHold,
  runInRequestScope,
  runWithGroups,
  type RequestScope,
} from './request-scope';
import { checkFunction, checkGroupName, describe } from './validate';

/** True if `group` is always enabled or enabled for the current request. */
export function isGroupEnabled(group: string): boolean {
  const state = findGroup(group);
  return state !== undefined && state.active !== 0 && isActive(state);
}

/**
 * Enables `group` for the current request scope: every async continuation
 * of the request sees it, other requests do not. In a request of a
 * node:http server the scope ends when the response is over (finished,
 * or closed early): from then on no continuation of the request sees the
 * group.
 *
 * @throws Error outside a request scope, or after its request ended.
 */
export function enableOnThisRequest(group: string): void {
  checkGroupName(group);
  const scope = activeRequestScope();
  if (scope === undefined) {
    throw new Error(
      `enableOnThisRequest('${group}') was called outside a request scope: ` +
        'run it inside withRequestScope(fn), or in a request of a node:http server ' +
        'while TimingInstrumentation is registered (it opens a scope per request); ' +
        'to enable a group for every request use alwaysEnable()',
    );
  }
  if (!readyToHold(scope)) {
    throw new Error(`enableOnThisRequest('${group}') was called after its request ended`);
  }
  enableInScope(scope, groupState(group));
}

/** When the last warning about the full transient table was logged (ms since epoch). */
let lastFullTableWarning = 0;

/**
 * Enables on `scope` the groups a calling service propagated (remote
 * input): a group the process knows is enabled as it is; an unknown one
 * gets a transient entry that leaves the table when the request ends (see
 * `transientGroupState`), and is skipped when
 * {@link MAX_TRANSIENT_GROUPS} such entries exist already. Returns how
 * many of `names` were skipped that way.
 */
export function enablePropagatedGroups(scope: RequestScope, names: readonly string[]): number {
  let skipped = 0;
  for (const name of names) {
    const state = transientGroupState(name);
    if (state === undefined) {
      skipped++;
      continue;
    }
    if (!enableInScope(scope, state)) releaseIfUnused(state);
  }
  if (skipped !== 0) {
    const now = Date.now();
    if (now - lastFullTableWarning >= 60_000) {
      lastFullTableWarning = now;
      diag.warn(
        `dynamic-hooks: ${skipped} propagated group(s) not enabled: ${MAX_TRANSIENT_GROUPS} groups ` +
          'that only propagation created are in use already (further ones are dropped silently for a minute)',
      );
    }
  }
  return skipped;
}

/** Enables `group` for every request, process-wide, from the next call on. */
export function alwaysEnable(group: string): void {
  checkGroupName(group);
  const state = groupState(group);
  if (!state.always) diag.debug(`dynamic-hooks: group ${group} always enabled`);
  state.setAlways(true);
}

/** Alias of {@link alwaysEnable}, as Kong names it. */
export const enableByDefault = alwaysEnable;

/** Undoes {@link alwaysEnable}: requests that enabled the group keep it. */
export function disableByDefault(group: string): void {
  checkGroupName(group);
  const state = findGroup(group);
  if (state === undefined || !state.always) return;
  diag.debug(`dynamic-hooks: group ${group} no longer always enabled`);
  state.setAlways(false);
}

/**
 * Runs `fn` in a fresh request scope, in which `enableOnThisRequest`
 * works; returns what `fn` returns. The server integration opens one per
 * incoming request.
 */
export function withRequestScope<T>(fn: () => T): T {
  checkFunction(fn, 'fn');
  return runInRequestScope(fn);
}

/**
 * Runs `fn` in a child context in which `groups` are enabled, without
 * touching the enclosing request scope; nothing leaks outside `fn` and
 * its async continuations.
 */
export function withGroupsEnabled<T>(groups: string | readonly string[], fn: () => T): T {
  const names: unknown = typeof groups === 'string' ? [groups] : groups;
  if (!Array.isArray(names)) {
    throw new TypeError(`groups must be a group name or an array of them, got ${describe(groups)}`);
  }
  names.forEach((name: unknown, i) => {
    checkGroupName(name, `groups[${i}]`);
  });
  checkFunction(fn, 'fn');
  return runWithGroups(
    (names as string[]).map((name) => groupState(name)),
    fn,
  );
}

/** What `listGroups()` tells about one group. */
export interface GroupInfo {
  /** The group's name. */
  readonly name: string;
  /** Enabled for every request (`alwaysEnable`). */
  readonly alwaysEnabled: boolean;
  /** Live request scopes and `withGroupsEnabled` calls that enable it. */
  readonly enabledScopes: number;
  /** Names registered with `hook(group, name, handler)`. */
  readonly hooks: readonly string[];
  /** Functions hooked with `hookFunction` (their keys or `options.name`), and those a `dormant` instrumentation patched. */
  readonly hookedFunctions: readonly string[];
}

/**
 * Every group the process knows of, with its state, hooks and hooked
 * functions; plus, while a request holds them, the transient groups that
 * only a calling service's propagated groups named (at most
 * `MAX_TRANSIENT_GROUPS`, 256, gone when their requests end).
 */
export function listGroups(): GroupInfo[] {
  const out: GroupInfo[] = [];
  for (const state of allGroups()) {
    out.push({
      name: state.name,
      alwaysEnabled: state.always,
      enabledScopes: state.scopeRefs,
      hooks: [...state.namedHooks.keys()],
      hookedFunctions: [...state.sites].map((site) => site.label),
    });
  }
  return out;
}
