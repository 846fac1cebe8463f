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

/** The state of `name`, created on first use. */
export function groupState(name: string): GroupState {
  let state = groups.get(name);
  if (state === undefined) {
    state = new GroupState(name);
    groups.set(name, state);
  }
  return state;
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
 * Calls `listener(true)` when `name` becomes enabled anywhere (process-wide
 * or by any live request scope) and `listener(false)` when it is dormant
 * again; at once with the current state. Returns a function that stops it.
 */
export function watchGroupActivity(name: string, listener: (active: boolean) => void): () => void {
  const state = groupState(name);
  state.activityListeners.add(listener);
  listener(state.active !== 0);
  return () => {
    state.activityListeners.delete(listener);
  };
}
