import { ROOT_CONTEXT, defaultTextMapGetter, defaultTextMapSetter, trace, TraceFlags } from '@opentelemetry/api';
import { CompositePropagator } from '@opentelemetry/core';
import { expect } from 'chai';
import { SignedGroupsPropagator } from '../../src';
import { propagatorFromEnv } from '../../src/register/propagator-from-env';

/** The composite's propagators, in order (a private field: the order is the point here). */
function members(propagator: unknown): string[] {
  return ((propagator as { _propagators: object[] })._propagators ?? []).map((p) => p.constructor.name);
}

describe("dynamic-hooks/register's propagator (OTEL_PROPAGATORS, then SignedGroupsPropagator)", () => {
  const spanContext = { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), traceFlags: TraceFlags.SAMPLED };

  it('defaults to tracecontext and baggage, with the signed groups last', () => {
    const warnings: string[] = [];
    const propagator = propagatorFromEnv({}, warnings);
    expect(propagator).to.be.instanceOf(CompositePropagator);
    expect(members(propagator)).to.deep.equal([
      'W3CTraceContextPropagator',
      'W3CBaggagePropagator',
      SignedGroupsPropagator.name,
    ]);
    const carrier: Record<string, string> = {};
    propagator?.inject(trace.setSpanContext(ROOT_CONTEXT, spanContext), carrier, defaultTextMapSetter);
    expect(carrier.traceparent).to.equal(`00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01`);
    expect(warnings).to.deep.equal([]);
  });

  it('keeps the order and names of OTEL_PROPAGATORS, once each', () => {
    const propagator = propagatorFromEnv({ OTEL_PROPAGATORS: ' Baggage, tracecontext,baggage ' }, []);
    expect(members(propagator)).to.deep.equal([
      'W3CBaggagePropagator',
      'W3CTraceContextPropagator',
      SignedGroupsPropagator.name,
    ]);
    const extracted = propagator?.extract(
      ROOT_CONTEXT,
      { traceparent: `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01` },
      defaultTextMapGetter,
    );
    expect(trace.getSpanContext(extracted ?? ROOT_CONTEXT)?.traceId).to.equal('ab'.repeat(16));
  });

  it('leaves none, and propagators other than the W3C two, to NodeSDK, saying that groups do not travel then', () => {
    const warnings: string[] = [];
    expect(propagatorFromEnv({ OTEL_PROPAGATORS: 'none' }, warnings)).to.equal(undefined);
    expect(warnings).to.deep.equal([]);
    expect(propagatorFromEnv({ OTEL_PROPAGATORS: 'tracecontext,b3' }, warnings)).to.equal(undefined);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.contain('b3').and.contain('SignedGroupsPropagator');
  });
});
