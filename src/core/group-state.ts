import type { HookSite } from './hook-site';

/** Handler registered with `hook(group, name, handler)`. */
export type NamedHookHandler = (...args: never[]) => unknown;

/**
 * Everything the library knows about one hook group.
 *
 * `active` is the single number a hooked call reads before doing anything
 * else: 0 means "no request anywhere and not the process enables this
 * group", so the original runs alone without a context lookup.
 */
export class GroupState {
  /** `(always ? 1 : 0) + scopeRefs`; 0 is the dormant fast path. */
  active = 0;
  always = false;
  /** Live request scopes and `withGroupsEnabled` frames that enable the group. */
  scopeRefs = 0;
  readonly namedHooks = new Map<string, NamedHookHandler>();
  readonly sites = new Set<HookSite>();
  /** Told when the group goes from dormant to enabled somewhere, and back. */
  readonly activityListeners = new Set<(active: boolean) => void>();
  /**
   * Created by remote input only (see {@link transientGroupState}) and
   * mentioned by nothing in the process: leaves the table as soon as no
   * scope holds it.
   */
  transient = false;

  constructor(readonly name: string) {}

  setAlways(on: boolean): void {
    this.always = on;
    this.refresh();
  }

  retain(): void {
    this.scopeRefs++;
    this.refresh();
  }

  release(): void {
    if (this.scopeRefs > 0) this.scopeRefs--;
    this.refresh();
    if (this.transient) dropIfUnused(this);
  }

  private refresh(): void {
    const wasActive = this.active !== 0;
    this.active = (this.always ? 1 : 0) + this.scopeRefs;
    const isActive = this.active !== 0;
    if (wasActive !== isActive) {
      for (const listener of this.activityListeners) listener(isActive);
    }
  }
}

const groups = new Map<string, GroupState>();

/** A group that nothing can enable: retired hooks point at it. */
export const NEVER_ENABLED = new GroupState('');

/**
 * How many groups remote input alone may have in the table at once (see
 * {@link transientGroupState}).
 */
export const MAX_TRANSIENT_GROUPS = 256;

/** Transient groups in the table. */
let transientCount = 0;

/** How many groups became permanent entries of the table so far (see {@link permanentGroupCount}). */
let permanentCount = 0;

/**
 * How many groups have become permanent entries of the table: it changes
 * whenever a lookup by name that found nothing (or a transient entry)
 * could now find a permanent one. Permanent entries never leave the table.
 */
export function permanentGroupCount(): number {
  return permanentCount;
}

/**
 * The state of `name`, created on first use. Any mention by the process
 * (hooks, hooked functions, listeners, `alwaysEnable`, `enableOnThisRequest`,
 * `withGroupsEnabled`) goes through here and makes the group permanent.
 */
export function groupState(name: string): GroupState {
  let state = groups.get(name);
  if (state === undefined) {
    state = new GroupState(name);
    groups.set(name, state);
    permanentCount++;
  } else if (state.transient) {
    state.transient = false;
    transientCount--;
    permanentCount++;
  }
  return state;
}

/**
 * The state of `name` for remote input (groups a calling service
 * propagated): the group as it is if the table has it; else a new
 * transient entry, which leaves the table as soon as no request scope
 * holds it, unless the process mentions the group meanwhile (then it is
 * permanent). `undefined` when {@link MAX_TRANSIENT_GROUPS} transient
 * groups are in the table already: remote input cannot grow the table
 * without bound. The caller must hold what it gets (or call
 * {@link releaseIfUnused}), or the entry stays.
 */
export function transientGroupState(name: string): GroupState | undefined {
  const existing = groups.get(name);
  if (existing !== undefined) return existing;
  if (transientCount >= MAX_TRANSIENT_GROUPS) return undefined;
  const state = new GroupState(name);
  state.transient = true;
  groups.set(name, state);
  transientCount++;
  return state;
}

/** Drops `state` from the table if it is transient and nothing holds it. */
export function releaseIfUnused(state: GroupState): void {
  if (state.transient) dropIfUnused(state);
}

function dropIfUnused(state: GroupState): void {
  if (
    state.active !== 0 ||
    state.namedHooks.size !== 0 ||
    state.sites.size !== 0 ||
    state.activityListeners.size !== 0 ||
    groups.get(state.name) !== state
  ) {
    return;
  }
  groups.delete(state.name);
  state.transient = false;
  transientCount--;
}

/** The state of `name` if anything ever mentioned the group. */
export function findGroup(name: string): GroupState | undefined {
  return groups.get(name);
}

/** Every known group, in the order they were first mentioned. */
export function allGroups(): IterableIterator<GroupState> {
  return groups.values();
}

/**
 * How long a subscription to a diagnostics channel (or anything as dear to
 * start and stop) should stay on after its group was last enabled
 * anywhere. Debugged requests come and go: with every request of a
 * hello-world server debugged, no request was live between almost every
 * two, and subscribing and unsubscribing each time cost more than the rest
 * of the request's instrumentation (a CPU profile: ~8 us per request).
 */
export const SUBSCRIPTION_LINGER_MS = 1000;

/**
 * Calls `listener(true)` when `name` becomes enabled anywhere (process-wide
 * or by any live request scope) and `listener(false)` when it is dormant
 * again, or, with `lingerMs`, once it has stayed dormant that long (an
 * unref'd timer: it never keeps the process alive); at once with the
 * current state. Returns a function that stops it.
 */
export function watchGroupActivity(name: string, listener: (active: boolean) => void, lingerMs = 0): () => void {
  const state = groupState(name);
  let reported = state.active !== 0;
  let linger: NodeJS.Timeout | undefined;
  const settle = (): void => {
    linger = undefined;
    if (state.active === 0 && reported) {
      reported = false;
      listener(false);
    }
  };
  const watcher = (active: boolean): void => {
    if (active) {
      clearTimeout(linger);
      linger = undefined;
      if (!reported) {
        reported = true;
        listener(true);
      }
    } else if (lingerMs <= 0) settle();
    else linger ??= setTimeout(settle, lingerMs).unref();
  };
  state.activityListeners.add(watcher);
  listener(reported);
  return () => {
    clearTimeout(linger);
    state.activityListeners.delete(watcher);
  };
}
