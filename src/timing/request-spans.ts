import {
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
import { now, toHrTime } from './clock';

/**
 * Span attribute that marks a debugged request's root span, and the SERVER
 * span the sampler records for it (the sampler reads and writes it).
 */
export const DEBUG_ATTRIBUTE = 'dynamic_hooks.request_debug';
/** Root span attribute: the request id of the timing output. */
export const REQUEST_ID_ATTRIBUTE = 'dynamic_hooks.request_id';
/** Attribute of a span whose timing context the request left open (closed by the output). */
export const DANGLING_ATTRIBUTE = 'dynamic_hooks.dangling';
/** Root span attribute: how many spans the request did not record, over its `maxSpans`. */
export const SPANS_DROPPED_ATTRIBUTE = 'dynamic_hooks.spans_dropped';

/**
 * Set while `RequestSpans` starts a timing context's span: the sampling
 * decision the SDK asks for next is that span's (see `startingOwnSpan`).
 */
let ownSpanStarting = false;

/**
 * Whether the span being sampled is a timing context's (the flag is then
 * consumed, so a span a processor might start inside `startSpan` is not
 * taken for one). `RequestDebugSampler` records those without looking
 * further: they took from the request's span budget when they started.
 * Such a span carries no attribute of its own to say so; the request's
 * root span carries `dynamic_hooks.request_debug` for the whole trace.
 */
export function startingOwnSpan(): boolean {
  if (!ownSpanStarting) return false;
  ownSpanStarting = false;
  return true;
}

/**
 * The latest child and root spans a debugged request ended, kept so that
 * the SDK's span shapes, and its code optimised for them, outlive the
 * request when nothing else records spans (an always-off base sampler):
 * see `shape-keeper.ts`. Two ended spans, a few hundred bytes each.
 */
const lastEnded: { child: Span | undefined; root: Span | undefined } = { child: undefined, root: undefined };

/** How a debugged request's root span starts. */
export interface RootSpanOptions {
  readonly requestId: string;
  readonly tracer: Tracer;
  /**
   * Context whose span (or extracted remote parent) the root span
   * continues when no local span is active where the root starts.
   */
  readonly parentContext: Context;
  readonly rootSpanName: string;
  /**
   * The HTTP server attributes, set on the root span only when it is the
   * request's SERVER span. The root span takes the object over (its own
   * two attributes are added to it): one made for this request.
   */
  readonly rootAttributes: Attributes;
  /**
   * How many spans the request may record, the root included (see
   * {@link RequestSpans.take}); default unbounded.
   */
  readonly maxSpans?: number;
}

/**
 * The span emission of one debugged request: every timing context is a
 * span, stamped from the timing clock, under the request's root span. The
 * context tree calls it; it knows nothing of the tree.
 */
export class RequestSpans {
  /** Whether the root span is the request's SERVER span (no local span was active where it started). */
  private serverSpan = false;
  private root: Span | undefined;
  /** The last parent context made (see `parentContext`), and what it was made from. */
  private lastBase: Context | undefined;
  private lastParent: Span | undefined;
  private lastContext: Context | undefined;
  /** Spans the request may still record. */
  private left: number;
  /** Spans refused over the budget (see {@link take}). */
  dropped = 0;

  constructor(private readonly options: RootSpanOptions) {
    this.left = options.maxSpans ?? Infinity;
  }

  /**
   * Takes one span from the request's budget (`maxSpans`): false, counting
   * it in `dropped`, once the budget is spent. Every span of the request
   * takes one, its own and those other instrumentations start in it (the
   * sampler asks).
   */
  take(): boolean {
    if (this.left > 0) {
      this.left--;
      return true;
    }
    this.dropped++;
    return false;
  }

  /**
   * Starts the root span at `at` in `active`: as an INTERNAL child of a
   * local span active there (an HTTP server instrumentation's SERVER span),
   * else as the request's SERVER span, child of the incoming remote parent
   * if any.
   */
  startRoot(active: Context, at: number): Span {
    const activeSpan = trace.getSpan(active)?.spanContext();
    const local = activeSpan !== undefined && isSpanContextValid(activeSpan) && activeSpan.isRemote !== true;
    this.serverSpan = !local;
    const parent =
      local || (activeSpan !== undefined && isSpanContextValid(activeSpan)) ? active : this.options.parentContext;
    // Added to the request's own object, not spread into a new one: an
    // object spread with computed keys after it is built as a dictionary,
    // which made the SDK's two attribute copies cost ~6 us per request.
    const attributes: Attributes = local ? {} : this.options.rootAttributes;
    attributes[DEBUG_ATTRIBUTE] = true;
    attributes[REQUEST_ID_ATTRIBUTE] = this.options.requestId;
    // Always recorded: what the request's other spans hang from, and where their drop is counted.
    this.left--;
    this.root = this.options.tracer.startSpan(
      this.options.rootSpanName,
      { startTime: toHrTime(at), kind: local ? SpanKind.INTERNAL : SpanKind.SERVER, attributes },
      parent,
    );
    return this.root;
  }

  /**
   * Starts the span of one timing context under `parent`'s, in `ctx` (the
   * running hooked call's context, else the active one); none over the
   * request's budget (see {@link take}), nor under a parent that has none.
   */
  startChild(
    parent: Span | undefined,
    name: string,
    at: number,
    attributes: Attributes | undefined,
    kind: SpanKind | undefined,
    ctx: Context,
  ): Span | undefined {
    if (!this.take() || parent === undefined) return undefined;
    const parentContext = this.parentContext(ctx, parent);
    ownSpanStarting = true;
    try {
      return this.options.tracer.startSpan(name, { startTime: toHrTime(at), kind, attributes }, parentContext);
    } finally {
      ownSpanStarting = false;
    }
  }

  /**
   * `base` with `parent` as its span: the same object for siblings started
   * in one context under one parent (a loop of contexts), instead of a
   * new context (a copy of every value in it) per span.
   */
  private parentContext(base: Context, parent: Span | undefined): Context {
    if (base !== this.lastBase || parent !== this.lastParent) {
      this.lastBase = base;
      this.lastParent = parent;
      this.lastContext = trace.setSpan(base, parent as Span);
    }
    return this.lastContext as Context;
  }

  /** Ends a timing context's span at `at`; a dangling one (closed by an output) says so. */
  end(span: Span | undefined, at: number, dangling: boolean): void {
    if (span === undefined) return;
    if (dangling) span.setAttribute(DANGLING_ATTRIBUTE, true);
    span.end(toHrTime(at));
    lastEnded.child = span;
  }

  /** Ends the root span now (saying how many spans went over the budget, if any did). */
  endRoot(span: Span | undefined): void {
    if (span === undefined) return;
    if (this.dropped > 0) span.setAttribute(SPANS_DROPPED_ATTRIBUTE, this.dropped);
    span.end(toHrTime(now()));
    lastEnded.root = span;
  }

  /**
   * The response's status: on the root span when it is the SERVER span
   * (`http.response.status_code`, status ERROR on 5xx, as OpenTelemetry's
   * HTTP server instrumentation writes it); an instrumentation's SERVER
   * span above it already says so.
   */
  setResponseStatus(statusCode: number): void {
    if (!this.serverSpan || this.root === undefined) return;
    this.root.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, statusCode);
    if (statusCode >= 500) this.root.setStatus({ code: SpanStatusCode.ERROR });
  }

  /** Sets `http.route` on the root span (an adapter that matched a route knows it). */
  setRoute(route: string): void {
    this.root?.setAttribute(ATTR_HTTP_ROUTE, route);
  }
}
