import {
  context,
  createContextKey,
  diag,
  isSpanContextValid,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE } from '@opentelemetry/semantic-conventions';
import { currentCallFrame } from '../core/call-frame';
import { requestScopeOf, type RequestScope } from '../core/request-scope';
import { now, toHrTime } from './clock';
import { MAX_DOWNSTREAM_BYTES } from './output';
import { setSpanAttribute } from './span-attributes';
import { TimingOperation } from './timing-operation';
import { MAX_TREE_DEPTH, TimingInstance, TimingNode, type PropValue } from './timing-tree';

const INSTANCE_KEY = createContextKey('dynamic-hooks timing context');
/**
 * In a hooked call's context, in place of a timing context: an enter that
 * went over the depth limit, over what was there before (its leave
 * restores that).
 */
class DroppedEntry {
  constructor(
    readonly previous: unknown,
    readonly owner: object,
  ) {}
}
/** On the phase stack: an enter that went over the depth limit (its leave pops it and closes nothing). */
const DROPPED = Symbol('dynamic-hooks dropped timing context');
/** Where a request scope keeps its debug state. */
const DEBUG_DATA = Symbol('dynamic-hooks request debug');

/** Span attribute that marks every span of a debugged request (the sampler reads and writes it). */
export const DEBUG_ATTRIBUTE = 'dynamic_hooks.request_debug';
/** Root span attribute: the request id of the timing output. */
export const REQUEST_ID_ATTRIBUTE = 'dynamic_hooks.request_id';
/** Attribute of a span whose timing context the request left open (closed by the output). */
export const DANGLING_ATTRIBUTE = 'dynamic_hooks.dangling';

/** The debug state of a request scope, if the request is debugged. */
export function debugRequestOfScope(scope: RequestScope | undefined): DebugRequest | undefined {
  return scope?.data?.get(DEBUG_DATA) as DebugRequest | undefined;
}

/** Marks the request of `scope` as debugged. */
export function attachDebugRequest(scope: RequestScope, debug: DebugRequest): void {
  scope.data ??= new Map();
  scope.data.set(DEBUG_DATA, debug);
}

/** The context handlers act in: the running hooked call's, else the active one. */
function handlerContext(): Context {
  return currentCallFrame()?.context ?? context.active();
}

/** The debugged request the current code belongs to, if any. */
export function activeDebugRequest(): DebugRequest | undefined {
  const debug = debugRequestOfScope(requestScopeOf(handlerContext()));
  return debug !== undefined && !debug.finished ? debug : undefined;
}

/** True if `ctx` belongs to a debugged request (the sampler asks). */
export function isDebugContext(ctx: Context): boolean {
  return debugRequestOfScope(requestScopeOf(ctx)) !== undefined;
}

/** What the auth hook learned about a request it let through. */
export interface DebugRequestOptions {
  readonly requestId: string;
  readonly loopback: boolean;
  readonly log: boolean;
  readonly tracer: Tracer;
  /**
   * Context whose span (or extracted remote parent) the root span
   * continues when no local span is active where the root starts.
   */
  readonly parentContext: Context;
  readonly rootSpanName: string;
  /** The HTTP server attributes, set on the root span only when it is the request's SERVER span. */
  readonly rootAttributes: Attributes;
  /** Where this request's outputs go. */
  readonly output: OutputTarget;
}

/** Where a debugged request's timing output goes. */
export interface OutputTarget {
  /** The response header that carries the tree. */
  readonly headerName: string;
  /** The response the header output goes with (the response phases' hooks are given it). */
  readonly response: object;
  /** Sets a response header if headers were not sent yet. */
  readonly setHeader: (name: string, value: string) => void;
  readonly logger: (line: string) => void;
}

/**
 * The timing tree and spans of one debugged request.
 *
 * Two kinds of entries meet here: phases, entered and left in sequence
 * by the request's own code (a stack, as in Kong), and operations, entered
 * and left by the before and after handlers of one hooked call (kept in
 * that call's OpenTelemetry context, so concurrent operations nest under
 * the right parent). The current timing context is whichever open one of
 * the two was entered last.
 */
export class DebugRequest {
  readonly root = new TimingNode('', undefined);
  readonly requestId: string;
  readonly loopback: boolean;
  /** Whether the output also goes to the log (`<prefix>-Log: true`, or a truncated header). */
  log: boolean;
  finished = false;
  readonly output: OutputTarget;
  private started: TimingInstance | undefined;
  /** Whether the root span is the request's SERVER span (no local span was active where it started). */
  private serverSpan = false;
  private readonly options: DebugRequestOptions;
  private readonly tracer: Tracer;
  private readonly stack: (TimingInstance | typeof DROPPED)[] = [];
  private readonly open = new Set<TimingInstance>();
  private seq = 0;
  /** Contexts not added because they were deeper than `MAX_TREE_DEPTH`. */
  private dropped = 0;
  /** Bytes of downstream outputs nested so far. */
  private downstreamBytes = 0;

  constructor(options: DebugRequestOptions) {
    this.options = options;
    this.requestId = options.requestId;
    this.loopback = options.loopback;
    this.log = options.log;
    this.tracer = options.tracer;
    this.output = options.output;
    this.root.props.set('request_id', this.requestId);
  }

  /**
   * Starts the root span (once; later calls return the same root) in
   * `active`: as an INTERNAL child of a local span active there (an HTTP
   * server instrumentation's SERVER span), else as the request's SERVER
   * span, child of the incoming remote parent if any. The server
   * integration starts it where the request's listeners run, so that it
   * nests under whatever span an instrumentation made for the request.
   */
  start(active: Context): TimingInstance {
    if (this.started !== undefined) return this.started;
    const at = now();
    const activeSpan = trace.getSpan(active)?.spanContext();
    const local = activeSpan !== undefined && isSpanContextValid(activeSpan) && activeSpan.isRemote !== true;
    this.serverSpan = !local;
    const parent =
      local || (activeSpan !== undefined && isSpanContextValid(activeSpan)) ? active : this.options.parentContext;
    const span = this.tracer.startSpan(
      this.options.rootSpanName,
      {
        startTime: toHrTime(at),
        kind: local ? SpanKind.INTERNAL : SpanKind.SERVER,
        attributes: {
          ...(local ? undefined : this.options.rootAttributes),
          [DEBUG_ATTRIBUTE]: true,
          [REQUEST_ID_ATTRIBUTE]: this.requestId,
        },
      },
      parent,
    );
    this.started = new TimingInstance(this.root, undefined, at, 0, span, this);
    // No trace id without a tracer provider (the spans are then no-ops).
    if (isSpanContextValid(span.spanContext())) this.root.props.set('trace_id', span.spanContext().traceId);
    return this.started;
  }

  /** The root timing context (its span started with the parent given at construction if not started yet). */
  private get rootInstance(): TimingInstance {
    return this.started ?? this.start(this.options.parentContext);
  }

  /** The trace id of the root span. */
  get traceId(): string {
    return (this.rootInstance.span as Span).spanContext().traceId;
  }

  /**
   * The response's status: on the root span when it is the SERVER span
   * (`http.response.status_code`, status ERROR on 5xx, as OpenTelemetry's
   * HTTP server instrumentation writes it); an instrumentation's SERVER
   * span above it already says so.
   */
  setResponseStatus(statusCode: number): void {
    const span = this.rootInstance.span;
    if (!this.serverSpan || span === undefined) return;
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, statusCode);
    if (statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  }

  /** Sets `http.route` on the root span (an adapter that matched a route knows it). */
  setRoute(route: string): void {
    this.rootInstance.span?.setAttribute(ATTR_HTTP_ROUTE, route);
  }

  /** The context in which the rest of the request runs: the root span active. */
  contextFor(ctx: Context): Context {
    return trace.setSpan(ctx, this.rootInstance.span as Span);
  }

  /** Enters timing context `name` under the current one. */
  enter(name: string): void {
    const frame = currentCallFrame();
    const parent = this.current();
    if (!this.mayOpenUnder(parent, 1)) {
      if (frame !== undefined) {
        const previous = frame.context.getValue(INSTANCE_KEY);
        frame.context = frame.context.setValue(INSTANCE_KEY, new DroppedEntry(previous, this));
      } else this.stack.push(DROPPED);
      return;
    }
    const instance = this.openInstance(parent, name, undefined);
    if (frame !== undefined) frame.context = frame.context.setValue(INSTANCE_KEY, instance);
    else this.stack.push(instance);
  }

  /**
   * Whether `count` more contexts fit under `parent` within the depth
   * limit; counts (on the root's `contexts_dropped`) those that do not.
   */
  mayOpenUnder(parent: TimingInstance, count: number): boolean {
    const over = parent.depth + count - MAX_TREE_DEPTH;
    if (over <= 0) return true;
    if (this.dropped === 0) {
      diag.debug(`dynamic-hooks timing: contexts deeper than ${MAX_TREE_DEPTH} dropped in request ${this.requestId}`);
    }
    this.dropped += Math.min(over, count);
    this.root.props.set('contexts_dropped', this.dropped);
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

  /**
   * Starts an operation: the nested contexts `names` under the current
   * context, where the innermost current contexts that already carry the
   * leading names are reused (so a TLS connection's TCP connect lands next
   * to its handshake, not inside it, and an operation inside the same
   * operation adds nothing). In a hooked call's before-handler,
   * what the call does next nests under the operation. `attributes` go to
   * the innermost span only (they are not timing-tree props).
   */
  startOperation(names: readonly string[], attributes: Attributes | undefined, kind?: SpanKind): TimingOperation {
    const frame = currentCallFrame();
    let parent = this.current();
    const reused = reusableDepth(parent, names);
    const opened: TimingInstance[] = [];
    // Over the depth limit, the operation opens what fits (maybe nothing).
    const fits = Math.min(names.length - reused, MAX_TREE_DEPTH - parent.depth);
    this.mayOpenUnder(parent, names.length - reused);
    for (let i = reused; i < reused + fits; i++) {
      const innermost = i === names.length - 1;
      parent = this.openInstance(
        parent,
        names[i],
        innermost ? attributes : undefined,
        now(),
        innermost ? kind : undefined,
      );
      opened.push(parent);
    }
    const operation = new TimingOperation(this, opened);
    if (frame !== undefined) {
      frame.state = operation;
      if (opened.length > 0) frame.context = frame.context.setValue(INSTANCE_KEY, parent);
    }
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
    if (frame === undefined || !instance.open || debugRequestOfScope(requestScopeOf(frame.context)) !== this)
      return false;
    frame.context = frame.context.setValue(INSTANCE_KEY, instance);
    return true;
  }

  /** The operation the running hooked call started (read in its after and error handlers). */
  callOperation(): TimingOperation | undefined {
    const frame = currentCallFrame();
    return frame?.state instanceof TimingOperation ? frame.state : undefined;
  }

  /**
   * Adds contexts measured elsewhere, `path` from the root down, each from
   * `start` to `end` (monotonic milliseconds, `performance.now()`): Kong's
   * `upstream` timings, which a proxy knows only after the fact.
   */
  record(path: readonly string[], start: number, end: number): void {
    // On the output's 0.01 ms grid, so that recorded parts add up exactly.
    start = Math.round(start * 100) / 100;
    end = Math.round(end * 100) / 100;
    let parent = this.rootInstance;
    const opened: TimingInstance[] = [];
    this.mayOpenUnder(parent, path.length);
    for (const name of path.slice(0, MAX_TREE_DEPTH)) {
      parent = this.openInstance(parent, name, undefined, start);
      opened.push(parent);
    }
    for (let i = opened.length - 1; i >= 0; i--) this.close(opened[i], end, false);
  }

  /** Opens one timing context under `parent`, with its span. */
  openInstance(
    parent: TimingInstance,
    name: string,
    attributes: Attributes | undefined,
    start = now(),
    kind?: SpanKind,
  ): TimingInstance {
    const parentContext = trace.setSpan(currentCallFrame()?.context ?? context.active(), parent.span as Span);
    const span = this.tracer.startSpan(
      name,
      { startTime: toHrTime(start), kind, attributes: { ...attributes, [DEBUG_ATTRIBUTE]: true } },
      parentContext,
    );
    const instance = new TimingInstance(parent.node.child(name), parent, start, ++this.seq, span, this);
    this.open.add(instance);
    return instance;
  }

  /** Leaves the current timing context (in a hooked call: the one that call entered last). */
  leave(): void {
    const frame = currentCallFrame();
    if (frame !== undefined) {
      const value = frame.context.getValue(INSTANCE_KEY);
      if (value instanceof DroppedEntry && value.owner === this) {
        frame.context = frame.context.setValue(INSTANCE_KEY, value.previous);
        return;
      }
      const entered = this.own(value);
      if (entered !== undefined && entered !== this.rootInstance) {
        this.close(entered, now(), false);
        frame.context = frame.context.setValue(INSTANCE_KEY, entered.parent);
        return;
      }
    }
    while (this.stack.length > 0) {
      const top = this.stack.pop() as TimingInstance | typeof DROPPED;
      if (top === DROPPED) return;
      if (top.open) {
        this.close(top, now(), false);
        return;
      }
      if (top.closedEarly) return; // closed by the response start or an output; this leave is its own
    }
    diag.debug(`dynamic-hooks timing: leaveContext() without a matching enterContext() in request ${this.requestId}`);
  }

  /**
   * Leaves phase context `name` (its `after:` hook): the innermost entry of
   * that name on the phase stack, closing what the request's code left
   * open inside it first (those end with their phase, not dangling; their
   * own leaves, when they come, pop them). A plain leave if no such entry
   * is there (inside a hooked call, or entered over the depth limit).
   */
  leavePhase(name: string): void {
    if (currentCallFrame() === undefined) {
      for (let i = this.stack.length - 1; i >= 0; i--) {
        const entry = this.stack[i];
        if (entry === DROPPED || entry.node.name !== name || !(entry.open || entry.closedEarly)) continue;
        const at = now();
        for (let j = this.stack.length - 1; j > i; j--) this.closeEarly(this.stack[j], at);
        this.close(entry, at, false);
        this.stack.splice(i, 1);
        return;
      }
    }
    this.leave();
  }

  setProp(key: string, value: PropValue): void {
    const instance = this.current();
    instance.node.props.set(key, value);
    setSpanAttribute(instance.span, key, value);
  }

  setRootProp(key: string, value: PropValue): void {
    this.root.props.set(key, value);
    setSpanAttribute(this.rootInstance.span, key, value);
  }

  getProp(key: string): unknown {
    return this.current().node.props.get(key);
  }

  /**
   * The tree as Kong prints it. Contexts still open are closed now and
   * marked `dangling`, and so is the root.
   */
  toOutput(): Record<string, unknown> {
    this.closeDangling();
    return this.root.toJSON();
  }

  /**
   * The response starts: the phases the request's code entered and has not
   * left end now, as Kong ends `access` when a plugin exits the request, so
   * that the response phases (header_filter first) run at the top level and
   * the tree has nothing dangling. Their leaves, when they come, pop them.
   * Operations in flight (a hooked call's contexts) end with their call.
   */
  exitPhases(): void {
    const at = now();
    for (let i = this.stack.length - 1; i >= 0; i--) this.closeEarly(this.stack[i], at);
  }

  /** Closes a phase-stack entry before its own leave, which then only pops it. */
  private closeEarly(entry: TimingInstance | typeof DROPPED, at: number): void {
    if (entry === DROPPED || !entry.open) return;
    this.close(entry, at, false);
    entry.closedEarly = true;
  }

  /** Closes every context still open, marking them and the root `dangling`. */
  closeDangling(): void {
    if (this.open.size === 0) return;
    const at = now();
    for (const instance of [...this.open].reverse()) this.close(instance, at, true);
    this.root.props.set('dangling', true);
    diag.debug(`dynamic-hooks timing: dangling timing context(s) in request ${this.requestId}`);
  }

  /** Whether `value` is this request's response (given to the response phases' hooks by the server integration). */
  isResponse(value: unknown): value is { readonly statusCode: number } {
    return value !== undefined && value === this.output.response;
  }

  /** Ends the root span; later timing calls for this request do nothing. */
  finish(): void {
    if (this.finished) return;
    this.closeDangling();
    this.finished = true;
    this.rootInstance.span?.end(toHrTime(now()));
  }

  /** The innermost open timing context: the latest entered of the call's and the phase stack's. */
  private current(): TimingInstance {
    let local = this.own(handlerContext().getValue(INSTANCE_KEY));
    while (local !== undefined && !local.open) local = local.parent;
    let top: TimingInstance | undefined;
    for (let i = this.stack.length - 1; i >= 0 && top === undefined; i--) {
      const entry = this.stack[i];
      if (entry !== DROPPED && entry.open) top = entry;
    }
    if (local === undefined) return top ?? this.rootInstance;
    if (top === undefined) return local;
    return top.seq > local.seq ? top : local;
  }

  private own(value: unknown): TimingInstance | undefined {
    while (value instanceof DroppedEntry) value = value.previous;
    return value instanceof TimingInstance && value.owner === this ? value : undefined;
  }

  /** Closes one open timing context, adding its duration to its node. */
  close(instance: TimingInstance, at: number, dangling: boolean): void {
    if (!instance.open) return;
    instance.open = false;
    this.open.delete(instance);
    instance.node.totalTime += at - instance.start;
    if (dangling) {
      instance.closedEarly = true;
      instance.node.props.set('dangling', true);
      instance.span?.setAttribute(DANGLING_ATTRIBUTE, true);
    }
    instance.span?.end(toHrTime(at));
  }
}

/** How many of `names`' leading entries the current chain (ending at `current`) already has open. */
function reusableDepth(current: TimingInstance, names: readonly string[]): number {
  // All of them: the same operation inside itself (a cache's timed lookup
  // calling the timed dns.lookup) is one context, not two nested ones.
  for (let k = Math.min(names.length, current.depth); k > 0; k--) {
    let instance: TimingInstance | undefined = current;
    let j = k - 1;
    while (j >= 0 && instance !== undefined && instance.open && instance.node.name === names[j]) {
      instance = instance.parent;
      j--;
    }
    if (j < 0) return k;
  }
  return 0;
}
