import { NEVER_ENABLED, type GroupState } from './group-state';
import type { HookMode } from './types';

/** A function call of any shape, as the wrapper forwards it. */
export type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

/** A handler, called with the hooked call's receiver. */
export type Handler = (this: unknown, ...args: unknown[]) => unknown;

/** One function replaced by `hookFunction`. */
export class HookSite {
  /** Where the wrapper reads its group; `NEVER_ENABLED` once retired. */
  group: GroupState;
  readonly groupName: string;
  /**
   * What the wrapper calls: the function it replaced, or, once a hook
   * beneath it was removed, what that hook called (its wrapper is then a
   * new one, made for this target).
   */
  original: AnyFunction;

  constructor(
    group: GroupState,
    readonly label: string,
    original: AnyFunction,
    readonly befores: readonly Handler[],
    readonly afters: readonly Handler[],
    readonly errors: readonly Handler[],
    /** Arguments handlers receive; -1 for all. */
    readonly handlerArity: number,
    readonly mode: HookMode,
  ) {
    this.group = group;
    this.groupName = group.name;
    this.original = original;
  }

  get retired(): boolean {
    return this.group === NEVER_ENABLED;
  }

  retire(): void {
    this.group.sites.delete(this);
    this.group = NEVER_ENABLED;
  }
}
