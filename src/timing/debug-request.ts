import { trace, type Attributes, type Context, type Span, type SpanKind } from '@opentelemetry/api';
import { currentCallFrame } from '../core/call-frame';
import { GroupHandle } from '../core/named-hooks';
import { requestScopeOf, type RequestScope } from '../core/request-scope';
import { TIMING_GROUP } from '../names/hooks';
import { ContextTree, handlerContext } from './context-tree';
import type { OutputTarget } from './debug-output';
import { MAX_DOWNSTREAM_BYTES } from './output';
import { RequestSpans, type RootSpanOptions } from './request-spans';
import { TimingOperation } from './timing-operation';
import type { TimingInstance, TimingNode } from './timing-tree';

export { DANGLING_ATTRIBUTE, DEBUG_ATTRIBUTE, REQUEST_ID_ATTRIBUTE } from './request-spans';

/** The debug state of a request scope, if the request is debugged. */
export function debugRequestOfScope(scope: RequestScope | undefined): DebugRequest | undefined {
  return scope?.debug as DebugRequest | undefined;
}

/** Marks the request of `scope` as debugged. */
export function attachDebugRequest(scope: RequestScope, debug: DebugRequest): void {
  scope.debug = debug;
}

/**
 * Whether any request may be debugged now: the `timing` group is enabled
 * somewhere (every debugged request holds it until its scope ends, which
 * also detaches its debug state). False, the usual answer, lets a timing
 * call return without reading the active context.
 */
export function debugMayBeActive(): boolean {
  return timingGroup.mayRun();
}

const timingGroup = new GroupHandle(TIMING_GROUP);

/** The debugged request the current code (or `ctx`, the handler context) belongs to, if any (in a hooked call: the call's). */
export function activeDebugRequest(ctx?: Context): DebugRequest | undefined {
  return debugMayBeActive() ? debugRequestIn(ctx ?? handlerContext()) : undefined;
}

/**
 * The handler context `debugRequestIn` last found a debugged request in,
 * and that request: the timing calls of one stretch of code ask for the
 * same context over and over (a context is immutable, so what it belongs
 * to does not change). Cleared when the request finishes; at most one
 * request is held.
 */
let lastContext: Context | undefined;
let lastScope: RequestScope | undefined;
let lastDebug: DebugRequest | undefined;

/** The debugged request `ctx` (a handler context) belongs to, if any: `activeDebugRequest` once `debugMayBeActive()`. */
export function debugRequestIn(ctx: Context): DebugRequest | undefined {
  // The scope drops its request when it ends, even one whose log phase failed before finishing it.
  if (ctx === lastContext && (lastScope as RequestScope).debug === lastDebug && !(lastDebug as DebugRequest).finished) {
    return lastDebug;
  }
  const scope = requestScopeOf(ctx);
  const debug = debugRequestOfScope(scope);
  if (debug === undefined || debug.finished) return undefined;
  lastContext = ctx;
  lastScope = scope;
  lastDebug = debug;
  return debug;
}

/** Forgets `debug` as the last request found (see `debugRequestIn`). */
function forget(debug: DebugRequest): void {
  if (lastDebug !== debug) return;
  lastContext = undefined;
  lastScope = undefined;
  lastDebug = undefined;
}

/**
 * Where a span that another instrumentation started in a debugged request
 * went in its tree (see `spans-in-tree.ts`), for the spans started under
 * it. Kept by the request rather than in a WeakMap keyed by every span,
 * whose values would hold the request's tree: a WeakMap keyed by each
 * debugged response, its values holding the request, cost about 16 us of
 * CPU per request in the garbage collector of a real server.
 */
export class SpanPlace {
  constructor(
    readonly node: TimingNode,
    /** How many ancestors its node has (the root has none). */
    readonly depth: number,
  ) {}
}

/** What the auth hook learned about a request it let through. */
export interface DebugRequestOptions extends RootSpanOptions {
  readonly loopback: boolean;
  readonly log: boolean;
  /** Where this request's outputs go. */
  readonly output: OutputTarget;
}

/**
 * One debugged request, from the auth hook that let it through to its log
 * phase: its timing contexts (`contexts`, Kong's context tree), their
 * spans (`RequestSpans`), where its outputs go, and the operations the
 * instrumentations time in it.
 */
export class DebugRequest {
  readonly requestId: string;
  readonly loopback: boolean;
  /** Whether the output also goes to the log (`<prefix>-Log: true`, or a truncated header). */
  log: boolean;
  finished = false;
  readonly output: OutputTarget;
  readonly contexts: ContextTree;
  private readonly spans: RequestSpans;
  /** Bytes of downstream outputs nested so far. */
  private downstreamBytes = 0;
  /** Where the spans other instrumentations started in this request went in its tree (see `SpanPlace`). */
  spanPlaces: Map<Span, SpanPlace> | undefined = undefined;

  constructor(options: DebugRequestOptions) {
    this.requestId = options.requestId;
    this.loopback = options.loopback;
    this.log = options.log;
    this.output = options.output;
    this.spans = new RequestSpans(options);
    this.contexts = new ContextTree(options.requestId, this.spans, options.parentContext);
  }

  /**
   * Starts the root context and span (once) in `active`: the server
   * integration starts it where the request's listeners run, so that it
   * nests under whatever span an instrumentation made for the request.
   */
  start(active: Context): void {
    this.contexts.start(active);
  }

  /** The context in which the rest of the request runs: the root span active. */
  contextFor(ctx: Context): Context {
    return trace.setSpan(ctx, this.contexts.rootInstance.span as Span);
  }

  /** The response's status, on the root span when it is the request's SERVER span. */
  setResponseStatus(statusCode: number): void {
    this.spans.setResponseStatus(statusCode);
  }

  /** Sets `http.route` on the root span (an adapter that matched a route knows it). */
  setRoute(route: string): void {
    this.spans.setRoute(route);
  }

  /**
   * Starts an operation: the contexts `names` under the current one (see
   * `ContextTree.openChain`). In a hooked call's before-handler, its after
   * and error handlers find it with `callOperation()`.
   */
  startOperation(
    names: readonly string[],
    attributes: Attributes | undefined,
    kind?: SpanKind,
    ctx: Context = handlerContext(),
  ): TimingOperation {
    const operation = new TimingOperation(this, this.contexts.openChain(names, attributes, kind, ctx));
    const frame = currentCallFrame();
    if (frame !== undefined) frame.state = operation;
    return operation;
  }

  /**
   * Makes what the running hooked call does next nest under `instance`, an
   * operation's context opened elsewhere (the connection undici opens for a
   * fetch, outside the fetch's own call). False, changing nothing, outside a
   * hooked call of this request or once `instance` closed.
   */
  adoptCall(instance: TimingInstance): boolean {
    const frame = currentCallFrame();
    if (frame === undefined || debugRequestOfScope(requestScopeOf(frame.context)) !== this) return false;
    return this.contexts.adopt(instance);
  }

  /** The operation the running hooked call started (read in its after and error handlers). */
  callOperation(): TimingOperation | undefined {
    const frame = currentCallFrame();
    return frame?.state instanceof TimingOperation ? frame.state : undefined;
  }

  /**
   * Takes one span from the request's budget for a span another
   * instrumentation starts in it (the sampler asks): false once the budget
   * (`maxSpansPerRequest`) is spent, and the root counts it in
   * `spans_dropped`.
   */
  takeSpan(): boolean {
    if (this.spans.take()) return true;
    this.contexts.countDroppedSpans();
    return false;
  }

  /**
   * Takes `bytes` of downstream output from the request's budget
   * (`MAX_DOWNSTREAM_BYTES`); false, taking nothing, when it would go over.
   */
  takeDownstreamBytes(bytes: number): boolean {
    if (this.downstreamBytes + bytes > MAX_DOWNSTREAM_BYTES) return false;
    this.downstreamBytes += bytes;
    return true;
  }

  /** Whether `value` is this request's response (given to the response phases' hooks by the server integration). */
  isResponse(value: unknown): value is { readonly statusCode: number } {
    return value !== undefined && value === this.output.response;
  }

  /** The tree as Kong prints it; contexts still open are closed now and marked `dangling`, and so is the root. */
  toOutput(): Record<string, unknown> {
    return this.contexts.toJSON();
  }

  /** `JSON.stringify(this.toOutput())`, written straight from the tree. */
  toOutputJSON(): string {
    return this.contexts.toJSONString();
  }

  /** Ends the root span; later timing calls for this request do nothing. */
  finish(): void {
    if (this.finished) return;
    this.contexts.closeDangling();
    this.finished = true;
    forget(this);
    this.spanPlaces = undefined;
    this.spans.endRoot(this.contexts.rootInstance.span);
  }
}
