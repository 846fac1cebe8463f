import { propagation, SpanKind, trace, type Context } from '@opentelemetry/api';
import { requestScopeOf, type TimingOperation } from '../../src/instrumentation-api';

/** The W3C trace-context header: whoever sets it on an outgoing request made that request's CLIENT span. */
export const TRACEPARENT = 'traceparent';

/**
 * The span kind of an `http_request` context: `CLIENT`, unless the request
 * already carries a `traceparent` (OpenTelemetry's HttpInstrumentation or
 * instrumentation-undici ran first, made its own CLIENT span and injected
 * it) or `clientSpanInside` (such an instrumentation wraps the function
 * inside ours and will make it): one outgoing request, one CLIENT span.
 */
export function clientSpanKind(propagated: boolean, clientSpanInside = false): SpanKind {
  return propagated || clientSpanInside ? SpanKind.INTERNAL : SpanKind.CLIENT;
}

/**
 * The headers that carry `operation`'s context to the called service,
 * written by the global propagator (`traceparent`, and with
 * `SignedGroupsPropagator` registered the signed groups in `baggage`) with
 * the operation's span as the parent. `undefined` unless the request of
 * `ctx` holds groups enabled on it (process-wide groups are not
 * propagated): other requests send nothing from here. `existingBaggage`,
 * the request's own `baggage` header, is kept, our entries added to it.
 */
export function propagationHeaders(
  operation: TimingOperation,
  ctx: Context,
  existingBaggage?: string,
): Record<string, string> | undefined {
  const span = operation.span;
  const scope = requestScopeOf(ctx);
  if (span === undefined || scope?.held === undefined || scope.held.length === 0 || scope.ended) return undefined;
  const carrier: Record<string, string> = {};
  if (existingBaggage !== undefined) carrier.baggage = existingBaggage;
  propagation.inject(trace.setSpan(ctx, span), carrier);
  if (carrier.baggage === existingBaggage) delete carrier.baggage;
  return carrier;
}
