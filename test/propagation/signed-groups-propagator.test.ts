import {
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  propagation,
  ROOT_CONTEXT,
  trace,
  TraceFlags,
  type Context,
} from '@opentelemetry/api';
import { core } from '@opentelemetry/sdk-node';
import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import {
  alwaysEnable,
  disableByDefault,
  enableOnThisRequest,
  SignedGroupsPropagator,
  withRequestScope,
} from '../../src';
import { releaseRequestScopes } from '../helpers/scopes';
import { timingHarness } from '../helpers/timing-harness';

const TOKEN = 'shared-secret';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;

function composite(ours = new SignedGroupsPropagator({ token: TOKEN }), oursFirst = false) {
  const w3c = [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()];
  return new core.CompositePropagator({ propagators: oursFirst ? [ours, ...w3c] : [...w3c, ours] });
}

/** Runs `fn` in a request scope with `groups` enabled on it and a sampled span of TRACE_ID active. */
function inRequest<T>(groups: readonly string[], fn: (ctx: Context) => T, baggage?: Record<string, string>): T {
  return withRequestScope(() => {
    for (const group of groups) enableOnThisRequest(group);
    let ctx = trace.setSpanContext(context.active(), {
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: TraceFlags.SAMPLED,
    });
    if (baggage !== undefined) {
      const entries = Object.fromEntries(Object.entries(baggage).map(([k, v]) => [k, { value: v }]));
      ctx = propagation.setBaggage(ctx, propagation.createBaggage(entries));
    }
    return fn(ctx);
  });
}

function injected(groups: readonly string[], baggage?: Record<string, string>, ours?: SignedGroupsPropagator) {
  const carrier: Record<string, string> = {};
  inRequest(groups, (ctx) => composite(ours).inject(ctx, carrier, defaultTextMapSetter), baggage);
  return carrier;
}

function extracted(carrier: Record<string, string>, ours?: SignedGroupsPropagator, oursFirst = false): Context {
  return composite(ours, oursFirst).extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
}

/** The signature as the README documents it, computed independently. */
function documentedSignature(token: string, traceId: string, groups: string, log: boolean, issuedAt: number): string {
  const message = `dynamic-hooks/v1\n${traceId}\n${groups}\n${log ? 'log' : ''}\n${issuedAt}`;
  return `${issuedAt}.${createHmac('sha256', token).update(message).digest('base64url')}`;
}

function baggageKeys(ctx: Context): string[] {
  return (propagation.getBaggage(ctx)?.getAllEntries() ?? []).map(([key]) => key);
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The last character of a 32-byte base64url value with its unused low bits set: decodes to the same bytes. */
function respell(last: string): string {
  return BASE64URL[BASE64URL.indexOf(last) | 3];
}

describe('SignedGroupsPropagator', () => {
  // The scopes opened here are left to the garbage collector; release them for the suites that follow.
  after(() => releaseRequestScopes());

  it('injects the request groups, signed, after the application baggage', () => {
    const carrier = injected(['timing', 'my_group'], { tenant: 'acme' });
    expect(carrier.traceparent).to.equal(TRACEPARENT);
    const members = carrier.baggage.split(',');
    expect(members[0]).to.equal('tenant=acme');
    expect(members[1]).to.equal('dynamic-hooks.groups=timing%2Cmy_group');
    const [, signature] = members[2].split('=');
    const issuedAt = Number(signature.split('.')[0]);
    expect(Math.abs(issuedAt - Date.now() / 1000)).to.be.below(5);
    expect(signature).to.equal(documentedSignature(TOKEN, TRACE_ID, 'timing,my_group', false, issuedAt));
    expect(members).to.have.length(3);
  });

  it('round-trips: extract returns the verified groups and hides its entries from the application baggage', () => {
    const ctx = extracted(injected(['timing', 'my_group'], { tenant: 'acme' }));
    expect(SignedGroupsPropagator.verifiedGroups(ctx)).to.deep.equal({
      traceId: TRACE_ID,
      groups: ['timing', 'my_group'],
      log: false,
    });
    expect(baggageKeys(ctx)).to.deep.equal(['tenant']);
    expect(trace.getSpanContext(ctx)?.traceId).to.equal(TRACE_ID);
  });

  it('round-trips group names with commas and non-ASCII characters', () => {
    const ctx = extracted(injected(['a,b', 'grüße;x=1']));
    expect(SignedGroupsPropagator.verifiedGroups(ctx)?.groups).to.deep.equal(['a,b', 'grüße;x=1']);
  });

  it('declares the baggage header as its field, once in a composite', () => {
    expect(new SignedGroupsPropagator({ token: TOKEN }).fields()).to.deep.equal(['baggage']);
    expect(composite().fields()).to.have.members(['traceparent', 'tracestate', 'baggage']);
  });

  it('injects nothing without per-request groups, without a span context, or outside a request', () => {
    alwaysEnable('process_group');
    try {
      expect(injected([]).baggage).to.equal(undefined);
    } finally {
      disableByDefault('process_group');
    }
    const carrier: Record<string, string> = {};
    withRequestScope(() => {
      enableOnThisRequest('my_group');
      composite().inject(context.active(), carrier, defaultTextMapSetter);
    });
    expect(carrier).to.deep.equal({});
    const outside: Record<string, string> = {};
    const spanCtx = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1 });
    composite().inject(spanCtx, outside, defaultTextMapSetter);
    expect(outside.baggage).to.equal(undefined);
  });

  it('replaces entries of ours already in the carrier instead of doubling them', () => {
    const carrier: Record<string, string> = { Baggage: 'dynamic-hooks.groups=old,k=v,dynamic-hooks.sig=1.x' };
    inRequest(['my_group'], (ctx) =>
      new SignedGroupsPropagator({ token: TOKEN }).inject(ctx, carrier, defaultTextMapSetter),
    );
    expect(Object.keys(carrier)).to.deep.equal(['Baggage']);
    expect(carrier.Baggage).to.match(/^k=v,dynamic-hooks\.groups=my_group,dynamic-hooks\.sig=\d+\.[\w-]{43}$/);
  });

  it("carries the application's baggage itself: no W3C baggage propagator needed, in either order", () => {
    for (const oursFirst of [false, true]) {
      const ours = new SignedGroupsPropagator({ token: TOKEN });
      const traceContext = new core.W3CTraceContextPropagator();
      const alone = new core.CompositePropagator({
        propagators: oursFirst ? [ours, traceContext] : [traceContext, ours],
      });
      const carrier: Record<string, string> = {};
      inRequest(['my_group'], (ctx) => alone.inject(ctx, carrier, defaultTextMapSetter), { tenant: 'a c,me' });
      expect(carrier.baggage).to.match(/^tenant=a%20c%2Cme,dynamic-hooks\.groups=my_group,dynamic-hooks\.sig=/);
      const ctx = alone.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
      expect(SignedGroupsPropagator.verifiedGroups(ctx)?.groups, `ours first: ${oursFirst}`).to.deep.equal([
        'my_group',
      ]);
      expect(propagation.getBaggage(ctx)?.getEntry('tenant')?.value).to.equal('a c,me');
      expect(baggageKeys(ctx)).to.deep.equal(['tenant']);
    }
  });

  it('verifies whichever order it runs in: before the trace-context propagator it reads traceparent', () => {
    const ctx = extracted(injected(['my_group']), undefined, true);
    expect(SignedGroupsPropagator.verifiedGroups(ctx)?.groups).to.deep.equal(['my_group']);
  });

  it('drops unsigned, tampered, re-targeted, expired or foreign-token entries, silently', () => {
    const good = injected(['timing'], { tenant: 'acme' });
    const refused: Record<string, Record<string, string>> = {
      unsigned: { ...good, baggage: 'tenant=acme,dynamic-hooks.groups=timing' },
      'groups changed': { ...good, baggage: good.baggage.replace('groups=timing', 'groups=timing%2Cmy_group') },
      'signature changed': { ...good, baggage: good.baggage.replace(/.(?=$)/, (c) => (c === 'A' ? 'B' : 'A')) },
      // The same MAC bytes, spelled with the last character's two unused bits set.
      'signature re-spelled': { ...good, baggage: good.baggage.replace(/.$/, respell) },
      'log flag added': { ...good, baggage: `${good.baggage},dynamic-hooks.log=1` },
      'other trace': { ...good, traceparent: `00-${'1'.repeat(32)}-${SPAN_ID}-01` },
      'no trace': { baggage: good.baggage },
      duplicated: { ...good, baggage: `${good.baggage},dynamic-hooks.groups=timing` },
      garbage: { ...good, baggage: 'dynamic-hooks.groups=%E0%A4%A,dynamic-hooks.sig=;;,=,' },
      expired: {
        ...good,
        baggage: `dynamic-hooks.groups=timing,dynamic-hooks.sig=${documentedSignature(TOKEN, TRACE_ID, 'timing', false, Math.floor(Date.now() / 1000) - 301)}`,
      },
    };
    for (const [name, carrier] of Object.entries(refused)) {
      const ctx = extracted(carrier);
      expect(SignedGroupsPropagator.verifiedGroups(ctx), name).to.equal(undefined);
      expect(
        baggageKeys(ctx).filter((key) => key.startsWith('dynamic-hooks.')),
        name,
      ).to.deep.equal([]);
    }
    const foreign = extracted(good, new SignedGroupsPropagator({ token: 'another-secret' }));
    expect(SignedGroupsPropagator.verifiedGroups(foreign)).to.equal(undefined);
    const fresh = `dynamic-hooks.groups=timing,dynamic-hooks.sig=${documentedSignature(TOKEN, TRACE_ID, 'timing', false, Math.floor(Date.now() / 1000) - 200)}`;
    expect(SignedGroupsPropagator.verifiedGroups(extracted({ ...good, baggage: fresh }))?.groups).to.deep.equal([
      'timing',
    ]);
  });

  it('signs with the TimingInstrumentation token by default', () => {
    const harness = timingHarness();
    harness.configure({ token: 'instrumentation-token' });
    try {
      const byDefault = new SignedGroupsPropagator();
      const carrier = injected(['my_group'], undefined, byDefault);
      const withToken = new SignedGroupsPropagator({ token: 'instrumentation-token' });
      expect(SignedGroupsPropagator.verifiedGroups(extracted(carrier, withToken))?.groups).to.deep.equal(['my_group']);
      expect(SignedGroupsPropagator.verifiedGroups(extracted(carrier))).to.equal(undefined);
    } finally {
      harness.configure({});
    }
  });

  it('rejects bad configuration', () => {
    expect(() => new SignedGroupsPropagator({ token: '' })).to.throw(TypeError, /token/);
    expect(() => new SignedGroupsPropagator({ maxAgeSeconds: 0 })).to.throw(RangeError, /maxAgeSeconds/);
  });
});
