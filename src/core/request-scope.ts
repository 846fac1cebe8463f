import { context, createContextKey, type Context } from '@opentelemetry/api';
import { runInContext } from './context-manager';
import type { GroupState } from './group-state';

/** The per-request state: groups enabled by `enableOnThisRequest`. */
export interface RequestScope {
  /**
   * Groups enabled on this request (a handful at most), retained until the
   * scope ends or is collected; created on first use, as most requests
   * enable nothing.
   */
  held: GroupState[] | undefined;
  ended: boolean;
  /** What other modules keep per request (the timing module's debug state), by their own keys. */
  data: Map<symbol, unknown> | undefined;
}

/**
 * What the active OTel context carries: the request scope and the groups
 * that `withGroupsEnabled` frames add on top of it.
 */
interface ScopeFrame {
  readonly request: RequestScope | undefined;
  readonly overlay: ReadonlySet<GroupState> | undefined;
}

const FRAME_KEY = createContextKey('dynamic-hooks scope frame');

/**
 * Releases what a scope or frame retained once nothing can reach it any
 * more, so the hooked functions of its groups go back to the dormant path
 * even if nobody ended the scope explicitly.
 */
const collector = new FinalizationRegistry<GroupState[]>((held) => {
  for (const group of held) group.release();
  held.length = 0;
});

function activeFrame(): ScopeFrame | undefined {
  return context.active().getValue(FRAME_KEY) as ScopeFrame | undefined;
}

/** True if `group` is enabled process-wide or in the active context. */
export function isActive(group: GroupState): boolean {
  if (group.always) return true;
  const frame = activeFrame();
  if (frame === undefined) return false;
  if (frame.overlay?.has(group) === true) return true;
  const request = frame.request;
  return request?.held !== undefined && !request.ended && request.held.includes(group);
}

/** The request scope of the active context, if any. */
export function activeRequestScope(): RequestScope | undefined {
  return activeFrame()?.request;
}

/** The request scope `ctx` belongs to, if any. */
export function requestScopeOf(ctx: Context): RequestScope | undefined {
  return (ctx.getValue(FRAME_KEY) as ScopeFrame | undefined)?.request;
}

/** Runs `fn` in a fresh request scope; returns what `fn` returns. */
export function runInRequestScope<T>(fn: () => T): T {
  return runInContext(contextWithNewScope().context, fn);
}

/**
 * Opens a request scope whose end the caller controls (the server
 * integration ends it when the response closes).
 */
export function contextWithNewScope(): { context: Context; scope: RequestScope } {
  const scope: RequestScope = { held: undefined, ended: false, data: undefined };
  const frame: ScopeFrame = { request: scope, overlay: undefined };
  return { context: context.active().setValue(FRAME_KEY, frame), scope };
}

/** Enables `group` in `scope` until the scope ends. */
export function enableInScope(scope: RequestScope, group: GroupState): void {
  if (scope.held === undefined) {
    scope.held = [];
    collector.register(scope, scope.held, scope);
  } else if (scope.held.includes(group)) {
    return;
  }
  scope.held.push(group);
  group.retain();
}

/** Ends `scope`: its groups stop being enabled in every continuation. */
export function endScope(scope: RequestScope): void {
  if (scope.ended) return;
  scope.ended = true;
  if (scope.held === undefined) return;
  collector.unregister(scope);
  for (const group of scope.held) group.release();
  scope.held.length = 0;
}

/** Runs `fn` in a child context in which `groups` are also enabled. */
export function runWithGroups<T>(groups: readonly GroupState[], fn: () => T): T {
  const parent = activeFrame();
  const overlay = new Set(parent?.overlay);
  for (const group of groups) overlay.add(group);
  const frame: ScopeFrame = { request: parent?.request, overlay };
  const held = [...overlay];
  for (const group of held) group.retain();
  collector.register(frame, held);
  return runInContext(context.active().setValue(FRAME_KEY, frame), fn);
}
