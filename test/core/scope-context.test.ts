import { expect } from 'chai';
import {
  context,
  createContextKey,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  trace,
  type Context,
} from '@opentelemetry/api';
import { isTracingSuppressed, suppressTracing } from '@opentelemetry/core';
import { AlwaysOnSampler, BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { activeContext, runInContext } from '../../src/core/context-manager';
import { contextWithFrame, FRAME_KEY } from '../../src/core/scope-context';
import { prng } from '../helpers/prng';

const A = createContextKey('scope-context test a');
const B = createContextKey('scope-context test b');
const KEYS = [A, B, FRAME_KEY] as const;

/** What a context answers for every key the tests use. */
const read = (ctx: Context): unknown[] => KEYS.map((key) => ctx.getValue(key));

describe('scope contexts: a request scope frame without copying the parent context', () => {
  it('reads its frame itself and every other value from its parent', () => {
    const frame = { frame: 1 };
    const parent = ROOT_CONTEXT.setValue(A, 'a');
    const ctx = contextWithFrame(parent, frame);
    expect(ctx.getValue(FRAME_KEY)).to.equal(frame);
    expect(ctx.getValue(A)).to.equal('a');
    expect(ctx.getValue(B)).to.equal(undefined);
    expect(parent.getValue(FRAME_KEY)).to.equal(undefined);
  });

  it('answers as the API context would after any sequence of setValue and deleteValue', () => {
    const random = prng(7);
    for (let run = 0; run < 200; run++) {
      const frame = { run };
      let ours = contextWithFrame(ROOT_CONTEXT.setValue(A, 'parent'), frame);
      let theirs = ROOT_CONTEXT.setValue(A, 'parent').setValue(FRAME_KEY, frame);
      for (let step = 0; step < 12; step++) {
        const key = KEYS[Math.floor(random() * KEYS.length)];
        const before = { ours, theirs, read: read(ours) };
        if (random() < 0.3) {
          ours = ours.deleteValue(key);
          theirs = theirs.deleteValue(key);
        } else {
          const value = { run, step };
          ours = key === FRAME_KEY && random() < 0.5 ? contextWithFrame(ours, value) : ours.setValue(key, value);
          theirs = theirs.setValue(key, value);
        }
        expect(read(ours), `run ${run}, step ${step}`).to.deep.equal(read(theirs));
        // The context it came from is unchanged, as the API's are.
        expect(read(before.ours)).to.deep.equal(read(before.theirs));
        expect(read(before.ours)).to.deep.equal(before.read);
      }
    }
  });

  it('stays one step above its parent however many values and frames are set on it', () => {
    let ctx = contextWithFrame(ROOT_CONTEXT, { frame: 0 });
    for (let i = 0; i < 1000; i++) {
      ctx = i % 2 === 0 ? ctx.setValue(A, i) : contextWithFrame(ctx, { frame: i });
    }
    const parent = (ctx as unknown as { parent: Context }).parent;
    expect(Object.getPrototypeOf(parent)).to.not.equal(Object.getPrototypeOf(ctx));
    expect(ctx.getValue(A)).to.equal(998);
    expect(ctx.getValue(FRAME_KEY)).to.deep.equal({ frame: 999 });
  });

  it("works with the API's span, baggage and suppression helpers and with a real SDK tracer", () => {
    const provider = new BasicTracerProvider({ sampler: new AlwaysOnSampler() });
    const tracer = provider.getTracer('scope-context test');
    const parentSpan = tracer.startSpan('parent');
    const frame = { frame: 'request' };
    const ctx = contextWithFrame(ROOT_CONTEXT, frame);

    const withSpan = trace.setSpan(ctx, parentSpan);
    expect(trace.getSpan(withSpan)).to.equal(parentSpan);
    expect(withSpan.getValue(FRAME_KEY)).to.equal(frame);
    expect(trace.getSpan(ctx)).to.equal(undefined);

    const child = tracer.startSpan('child', {}, withSpan);
    const parentOf = (child as unknown as { parentSpanContext?: { spanId: string } }).parentSpanContext;
    expect(isSpanContextValid(child.spanContext())).to.equal(true);
    expect(child.spanContext().traceId).to.equal(parentSpan.spanContext().traceId);
    expect(parentOf?.spanId).to.equal(parentSpan.spanContext().spanId);

    const baggage = propagation.createBaggage({ tenant: { value: 'blue' } });
    const withBaggage = propagation.setBaggage(withSpan, baggage);
    expect(propagation.getBaggage(withBaggage)?.getEntry('tenant')?.value).to.equal('blue');
    expect(withBaggage.getValue(FRAME_KEY)).to.equal(frame);

    const suppressed = suppressTracing(withBaggage);
    expect(isTracingSuppressed(suppressed)).to.equal(true);
    expect(isTracingSuppressed(withBaggage)).to.equal(false);
    expect(trace.getSpan(suppressed)).to.equal(parentSpan);
    child.end();
    parentSpan.end();
  });

  it('is the active context inside context.with, and so are the contexts set from it', async () => {
    const frame = { frame: 'active' };
    const ctx = contextWithFrame(ROOT_CONTEXT.setValue(A, 'a'), frame);
    const seen = await runInContext(ctx, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      const inner = context.active().setValue(B, 'b');
      return context.with(inner, () => read(activeContext()));
    });
    expect(seen).to.deep.equal(['a', 'b', frame]);
  });
});
