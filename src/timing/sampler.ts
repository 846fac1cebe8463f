import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import { SamplingDecision, type Sampler, type SamplingResult } from '@opentelemetry/sdk-trace-base';
import { describe } from '../core/validate';
import { DEBUG_ATTRIBUTE, isDebugContext } from './debug-request';

/**
 * A sampler that records and samples every span of a debugged request,
 * and asks `base` about everything else. Wrap the application's sampler
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

  shouldSample(
    context: Context,
    traceId: string,
    spanName: string,
    spanKind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    if (attributes[DEBUG_ATTRIBUTE] === true || isDebugContext(context)) {
      return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    }
    return this.base.shouldSample(context, traceId, spanName, spanKind, attributes, links);
  }

  toString(): string {
    return `RequestDebugSampler{${this.base.toString()}}`;
  }
}
