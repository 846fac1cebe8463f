import { trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import type { Tree } from '../helpers/debugged';
import { timingHarness } from '../helpers/timing-harness';
import { debugRequest } from './timing-helpers';

// A debugged request records at most maxSpansPerRequest spans (default
// 1,000): its own contexts' and those other instrumentations start in it.
// Past the budget the request goes on as before and its timing tree stays
// whole; the log output's root and the root span say how many were not
// recorded. Real servers (debugRequest), spans through a real SDK.

/** The spans of the one request whose tree this is. */
function spansOf(tree: Tree): ReadableSpan[] {
  return timingHarness()
    .spans()
    .filter((span) => span.spanContext().traceId === tree.trace_id);
}

function rootOf(spans: readonly ReadableSpan[]): ReadableSpan {
  const root = spans.find((span) => span.attributes['dynamic_hooks.request_id'] !== undefined);
  expect(root, 'the root span').to.not.equal(undefined);
  return root as ReadableSpan;
}

/** A handler that writes its response in `pieces` writes: each a body_filter context, so a span. */
function writesInPieces(pieces: number) {
  return (_req: unknown, res: { write(chunk: string): void; end(): void }): void => {
    for (let i = 0; i < pieces; i++) res.write('x');
    res.end();
  };
}

describe('the span budget of a debugged request', function () {
  this.timeout(30_000);
  const harness = timingHarness();
  beforeEach(() => harness.reset());
  afterEach(() => {
    delete process.env.DYNAMIC_HOOKS_MAX_SPANS_PER_REQUEST;
    harness.configure({});
  });

  it('a response written in 3,000 pieces records maxSpansPerRequest spans and counts the rest', async () => {
    harness.configure({ maxSpansPerRequest: 50 });
    const { reply, tree } = await debugRequest(writesInPieces(3000), { log: true });
    expect(reply.body).to.equal('x'.repeat(3000));
    const root = tree as Tree;
    const spans = spansOf(root);
    expect(spans).to.have.length(50);
    // Every context still in the tree: the body_filter node sums all 3,000 writes.
    expect(root.child).to.include.keys('rewrite', 'header_filter', 'body_filter');
    const dropped = root.spans_dropped as number;
    // The contexts past the 50th (the log phase among them, which the output is written in).
    expect(dropped).to.be.greaterThan(3000 - 50 - 1);
    expect(rootOf(spans).attributes['dynamic_hooks.spans_dropped']).to.be.at.least(dropped);
    // Every recorded span hangs from the request's own spans.
    const ids = new Set(spans.map((span) => span.spanContext().spanId));
    for (const span of spans) {
      if (span !== rootOf(spans)) expect(ids.has(span.parentSpanContext?.spanId as string)).to.equal(true);
    }
  });

  it('is 1,000 by default', async () => {
    const { tree } = await debugRequest(writesInPieces(1500), { log: true });
    const root = tree as Tree;
    expect(spansOf(root)).to.have.length(1000);
    expect(root.spans_dropped).to.be.a('number');
  });

  it("counts other instrumentations' spans in the request against the same budget", async () => {
    harness.configure({ maxSpansPerRequest: 20 });
    const tracer = harness.provider.getTracer('another-instrumentation');
    const recording: boolean[] = [];
    const { tree } = await debugRequest(
      (_req, res) => {
        for (let i = 0; i < 100; i++) {
          const span = tracer.startSpan(`call ${i}`);
          recording.push(span.isRecording());
          span.end();
        }
        res.end('served');
      },
      { log: true },
    );
    const root = tree as Tree;
    const spans = spansOf(root);
    expect(spans).to.have.length(20);
    // The root and the rewrite phase's span came first; the others took the rest of the budget.
    const others = spans.filter((span) => span.name.startsWith('call '));
    expect(recording.filter(Boolean)).to.have.length(others.length);
    expect(recording.slice(0, others.length).every(Boolean)).to.equal(true);
    expect(root.spans_dropped).to.be.at.least(100 - others.length);
    // Outside any debugged request the sampler is the base one's (here: records nothing), as before.
    expect(tracer.startSpan('outside').isRecording()).to.equal(false);
    expect(trace.getActiveSpan()).to.equal(undefined);
  });

  it('takes DYNAMIC_HOOKS_MAX_SPANS_PER_REQUEST over the configuration, and ignores a bad value', async () => {
    process.env.DYNAMIC_HOOKS_MAX_SPANS_PER_REQUEST = '30';
    harness.configure({ maxSpansPerRequest: 500 });
    const first = await debugRequest(writesInPieces(100), { log: true });
    expect(spansOf(first.tree as Tree)).to.have.length(30);

    harness.reset();
    process.env.DYNAMIC_HOOKS_MAX_SPANS_PER_REQUEST = 'lots';
    harness.configure({ maxSpansPerRequest: 40 });
    const second = await debugRequest(writesInPieces(100), { log: true });
    expect(spansOf(second.tree as Tree)).to.have.length(40);
  });

  it('rejects a budget that is not an integer from 1 to 1,000,000, naming the option', () => {
    harness.configure({ maxSpansPerRequest: 7 });
    for (const bad of [0, -1, 1_000_001]) {
      expect(() => harness.configure({ maxSpansPerRequest: bad }), String(bad)).to.throw(
        RangeError,
        /maxSpansPerRequest must be from 1 to 1000000/,
      );
    }
    for (const bad of [1.5, Number.NaN, '10', true]) {
      expect(() => harness.configure({ maxSpansPerRequest: bad as never }), String(bad)).to.throw(
        TypeError,
        /maxSpansPerRequest must be an integer/,
      );
    }
  });
});
