import { isSpanContextValid, SpanKind, trace, type Attributes, type Context, type Link } from '@opentelemetry/api';
import { SamplingDecision, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace-base';
import { describe } from '../core/validate';
import { dispatchingDebugScope } from '../server/http-server';
import { requestScopeOf } from '../core/request-scope';
import { DEBUG_ATTRIBUTE, debugRequestOfScope } from './debug-request';
import { startingOwnSpan } from './request-spans';

/** What the sampler adds to a request's SERVER span it records because the request is debugged. */
const DEBUG_MARK: Attributes = Object.freeze({ [DEBUG_ATTRIBUTE]: true });
/** The decision for every span of a debugged request: one object, not one per span (the SDK only reads it). */
const RECORDED: SamplingResult = Object.freeze({ decision: SamplingDecision.RECORD_AND_SAMPLED });
/** The decision for a span of a debugged request over its span budget (`maxSpansPerRequest`). */
const OVER_BUDGET: SamplingResult = Object.freeze({ decision: SamplingDecision.NOT_RECORD });
/** The decision for a debugged request's first span. */
const RECORDED_AND_MARKED: SamplingResult = Object.freeze({
  decision: SamplingDecision.RECORD_AND_SAMPLED,
  attributes: DEBUG_MARK,
});

/**
 * A sampler that records and samples every span of a debugged request,
 * and asks `base` about everything else. That includes the SERVER span an
 * HTTP server instrumentation (OpenTelemetry's HttpInstrumentation) starts
 * for the request before any of the request's code runs: the server
 * integration decides whether a request is debugged as soon as Node has
 * parsed it, and a SERVER span (or a span with no local parent) started
 * while that request is dispatched is recorded and marked
 * `dynamic_hooks.request_debug`, so the whole trace arrives connected. Wrap the application's sampler
 * with it so that a debug request reaches Jaeger even when the base
 * sampler would drop its trace:
 *
 * ```ts
 * new NodeSDK({ sampler: new RequestDebugSampler(new TraceIdRatioBasedSampler(0.01)), ... })
 * ```
 */
export class RequestDebugSampler implements Sampler {
  /** @throws TypeError if `base` is not a sampler (an object with a `shouldSample` method). */
  constructor(private readonly base: Sampler) {
    const candidate = base as unknown;
    if (
      (typeof candidate !== 'object' && typeof candidate !== 'function') ||
      candidate === null ||
      typeof (candidate as Partial<Sampler>).shouldSample !== 'function'
    ) {
      throw new TypeError(`base must be a Sampler (an object with a shouldSample method), got ${describe(candidate)}`);
    }
  }

  /**
   * Records and samples a span of a debugged request (within its span
   * budget, `maxSpansPerRequest`: past it, records none), and the first
   * span of a request being dispatched as a debug request (marked
   * `dynamic_hooks.request_debug`); leaves every other decision to `base`.
   */
  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    // The request's own spans took from its budget when they started.
    if (startingOwnSpan() || attributes[DEBUG_ATTRIBUTE] === true) return RECORDED;
    const debug = debugRequestOfScope(requestScopeOf(context));
    if (debug !== undefined) return debug.takeSpan() ? RECORDED : OVER_BUDGET;
    if (dispatchingDebugScope() !== undefined && startsRequest(context, spanKind)) return RECORDED_AND_MARKED;
    return this.base.shouldSample(context, traceId, spanName, spanKind, attributes, links);
  }

  /** `RequestDebugSampler{<base>}`, as the SDK logs its sampler. */
  toString(): string {
    return `RequestDebugSampler{${this.base.toString()}}`;
  }
}

/** Whether a span started in `context` may be the request's first: a SERVER span, or one with no local parent. */
function startsRequest(context: Context, spanKind: SpanKind): boolean {
  if (spanKind === SpanKind.SERVER) return true;
  const parent = trace.getSpanContext(context);
  return parent === undefined || !isSpanContextValid(parent) || parent.isRemote === true;
}
