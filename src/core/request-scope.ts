import { ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { setValueInPlace } from '../patching/otel-internals';
import { activeContext, runInContext } from './context-manager';
import type { GroupState } from './group-state';
import { contextWithFrame, FRAME_KEY } from './scope-context';

/** The per-request state: groups enabled by `enableOnThisRequest`. */
export interface RequestScope {
  /**
   * Groups enabled on this request (a handful at most), retained until the
   * scope ends or is collected; created on first use, as most requests
   * enable nothing.
   */
  held: GroupState[] | undefined;
  ended: boolean;
  /** What other modules keep per request (the timing module's debug state), by their own keys; dropped when the scope ends. */
  data: Map<symbol, unknown> | undefined;
  /**
   * The timing module's state of a debugged request: kept apart from
   * `data` because every timing call and every span's sampling reads it;
   * dropped when the scope ends.
   */
  debug: object | undefined;
  /**
   * Set by whoever opened the scope and owns its end (the server
   * integration, which ends it with the response): called once, just
   * before the scope first holds a group, so that only the few scopes that
   * hold something pay for arranging their end. It may end the scope at
   * once (its request is already over), in which case nothing is held.
   */
  onFirstHold: ((scope: RequestScope) => void) | undefined;
  /** What `onFirstHold` needs to arrange the end (the server's response); opaque here. */
  owner: unknown;
}

/**
 * A {@link RequestScope} as {@link newRequestScope} makes it: an instance
 * of a class, not an object literal, on purpose. V8 may decide that what
 * an object literal's allocation site makes tends to survive young-
 * generation collections and allocate it straight in the old generation
 * from then on ("allocation-site pretenuring"); objects made by `new` are
 * never pretenured. A pretenured scope dies with its request but stays in
 * the old generation until the next full GC, and what it referenced (the
 * response, the debug state, through them the whole request) was kept
 * alive by it through every young collection meanwhile and promoted. Seen
 * on Node 20 with every request debugged in the in-process bench harness:
 * the scope was in the old generation right after it was made.
 */
class Scope implements RequestScope {
  held: GroupState[] | undefined = undefined;
  ended = false;
  data: Map<symbol, unknown> | undefined = undefined;
  debug: object | undefined = undefined;
  constructor(
    public onFirstHold: ((scope: RequestScope) => void) | undefined,
    public owner: unknown,
  ) {}
}

/**
 * What the active OTel context carries: the request scope and the groups
 * that `withGroupsEnabled` frames add on top of it. A class for the
 * reason {@link Scope} is one: a frame references its request's scope.
 */
class ScopeFrame {
  constructor(
    readonly request: RequestScope | undefined,
    readonly overlay: ReadonlySet<GroupState> | undefined,
  ) {}
}

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
  return activeContext().getValue(FRAME_KEY) as ScopeFrame | undefined;
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

/**
 * `ctx` carrying the request scope and `withGroupsEnabled` groups that
 * `from` carries, when `ctx` carries none: for code that replaced the
 * active context by one built from scratch (an HTTP server
 * instrumentation's, from the incoming headers) and then calls back into
 * the request.
 */
export function withScopeFrameOf(ctx: Context, from: Context): Context {
  const frame = from.getValue(FRAME_KEY);
  if (frame === undefined || ctx.getValue(FRAME_KEY) !== undefined) return ctx;
  return contextWithFrame(ctx, frame);
}

/** Runs `fn` in a fresh request scope; returns what `fn` returns. */
export function runInRequestScope<T>(fn: () => T): T {
  return runInContext(contextWithNewScope().context, fn);
}

/**
 * Opens a request scope whose end the caller controls (the server
 * integration ends it when the response is over). `onFirstHold(scope)`,
 * if given, runs once before the scope first holds a group, with
 * `scope.owner === owner`: the place to arrange the end (see
 * {@link RequestScope.onFirstHold}). A scope nobody ends is released when
 * it is garbage-collected.
 */
export function contextWithNewScope(
  onFirstHold?: (scope: RequestScope) => void,
  owner?: unknown,
): { context: Context; scope: RequestScope } {
  const scope = newRequestScope(onFirstHold, owner);
  return { context: contextWithScope(activeContext(), scope), scope };
}

/**
 * A request scope not yet in any context: give it one with
 * {@link contextWithScope}, or {@link rideOnContext}. The parameters are
 * {@link contextWithNewScope}'s.
 */
export function newRequestScope(onFirstHold?: (scope: RequestScope) => void, owner?: unknown): RequestScope {
  return new Scope(onFirstHold, owner);
}

/**
 * Makes `scope` the request scope of `ctx` itself, instead of a child
 * context's: for a context that another instrumentation made for this
 * request alone and runs the request in (OpenTelemetry
 * HttpInstrumentation's), so the request needs no `context.with` of its
 * own. The caller answers for `ctx` being made for this request: a
 * context another request, a connection or the process can reach would
 * carry the scope there too. False, with `ctx` unchanged, for the root
 * context, a context that already carries a scope frame (another
 * request's, or one of `withGroupsEnabled`), or one the installed
 * OpenTelemetry API does not let us write (see `setValueInPlace`).
 */
export function rideOnContext(ctx: Context, scope: RequestScope): boolean {
  // setValueInPlace refuses a context that carries a frame already.
  if (ctx === ROOT_CONTEXT) return false;
  return setValueInPlace(ctx, FRAME_KEY, new ScopeFrame(scope, undefined));
}

/**
 * The scope whose request is being prepared (see {@link beginPreparing}),
 * while that runs.
 */
let preparing: RequestScope | undefined;

/**
 * Makes `scope` the request being prepared, until `endPreparing(outer)`
 * with what this returned (in a `finally`): while the hooks that decide
 * whether a request is debugged run, before any instrumentation saw it,
 * and without entering a context. The hooks that act on the request enter
 * its scope with {@link inPreparedScope}; the others (most requests) cost
 * no `context.with`.
 */
export function beginPreparing(scope: RequestScope): RequestScope | undefined {
  const outer = preparing;
  preparing = scope;
  return outer;
}

/** Ends what {@link beginPreparing} began: `outer` is what it returned. */
export function endPreparing(outer: RequestScope | undefined): void {
  preparing = outer;
}

/**
 * Runs `fn` in the request scope being prepared (see
 * {@link beginPreparing}), if one is and it is not already active; else
 * just runs `fn`.
 */
export function inPreparedScope<T>(fn: () => T): T {
  const scope = preparing;
  if (scope === undefined) return fn();
  const active = activeContext();
  if (requestScopeOf(active) === scope) return fn();
  return runInContext(contextWithScope(active, scope), fn);
}

/** A child of `ctx` in which `scope` (opened by `contextWithNewScope`) is the request scope. */
export function contextWithScope(ctx: Context, scope: RequestScope): Context {
  return contextWithFrame(ctx, new ScopeFrame(scope, undefined));
}

/**
 * Whether `scope` can hold a group: runs its `onFirstHold` if that has not
 * run yet (which may end the scope), then answers `!scope.ended`.
 */
export function readyToHold(scope: RequestScope): boolean {
  const onFirstHold = scope.onFirstHold;
  if (onFirstHold !== undefined) {
    scope.onFirstHold = undefined;
    onFirstHold(scope);
  }
  return !scope.ended;
}

/**
 * Enables `group` in `scope` until the scope ends; false (and nothing
 * held) if the scope has ended.
 */
export function enableInScope(scope: RequestScope, group: GroupState): boolean {
  if (!readyToHold(scope)) return false;
  if (scope.held === undefined) {
    scope.held = [];
    collector.register(scope, scope.held, scope);
  } else if (scope.held.includes(group)) {
    return true;
  }
  scope.held.push(group);
  group.retain();
  return true;
}

/**
 * Ends `scope`: its groups stop being enabled in every continuation (and
 * go back to the dormant path if nothing else enables them), its data is
 * dropped, even while sockets or timers of the request still reach it.
 */
export function endScope(scope: RequestScope): void {
  if (scope.ended) return;
  scope.ended = true;
  scope.onFirstHold = undefined;
  scope.owner = undefined;
  scope.data = undefined;
  scope.debug = undefined;
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
  const frame = new ScopeFrame(parent?.request, overlay);
  const held = [...overlay];
  for (const group of held) group.retain();
  collector.register(frame, held);
  return runInContext(contextWithFrame(activeContext(), frame), fn);
}
