import { InstrumentationBase } from '@opentelemetry/instrumentation';
import { expect } from 'chai';
import { dormant } from '../../src';
import { MAX_SPAN_PLACES } from '../../src/timing/spans-in-tree';
import { nodeAt, runInRequest } from '../helpers/debugged';
import { timingHarness } from '../helpers/timing-harness';

/** A library whose calls nest: `run(name, fn)` calls `fn`. */
function library() {
  return {
    run: (_name: string, fn: () => void): void => {
      fn();
    },
  };
}

/** An instrumentation that makes each `run` an active span named by its first argument, as client instrumentations do. */
class NestingInstrumentation extends InstrumentationBase {
  constructor() {
    super('span-places-test', '0.0.0', { enabled: false });
  }
  protected init(): [] {
    return [];
  }
  patchLibrary(target: ReturnType<typeof library>): void {
    const tracer = () => this.tracer;
    const wrap = (original: ReturnType<typeof library>['run']) =>
      function (this: unknown, name: string, fn: () => void): void {
        tracer().startActiveSpan(name, (span) => {
          try {
            Reflect.apply(original, this, [name, fn]);
          } finally {
            span.end();
          }
        });
      };
    this._wrap(target, 'run', wrap);
  }
}

describe("the places of other instrumentations' spans in a debugged request's tree", () => {
  const harness = timingHarness();
  let instrumentation: NestingInstrumentation;
  let target: ReturnType<typeof library>;

  before(() => {
    harness.instrumentation.enable();
    harness.configure({});
    instrumentation = dormant(new NestingInstrumentation(), { group: 'otel:span-places-test' });
    instrumentation.setTracerProvider(harness.provider);
    target = library();
    instrumentation.patchLibrary(target);
  });
  after(() => {
    instrumentation.disable();
  });
  beforeEach(() => {
    harness.reset();
  });

  it('nests a span under its parent span until the request keeps MAX_SPAN_PLACES places, then under the current context', async () => {
    const { tree, error } = await runInRequest(() => {
      target.run('outer', () => target.run('inner', () => undefined));
      // Each span takes a place: two above, then as many as fill the request's places.
      for (let i = 2; i < MAX_SPAN_PLACES; i++) target.run('filler', () => undefined);
      target.run('late-outer', () => target.run('late-inner', () => undefined));
      return Promise.resolve();
    });
    expect(error).to.equal(undefined);
    expect(nodeAt(tree, 'outer', 'inner').total_time).to.be.a('number');
    expect(nodeAt(tree, 'filler').total_time).to.be.a('number');
    // Past the cap: late-outer is in the tree, but no place is kept for it, so what starts under it nests beside it.
    expect(nodeAt(tree, 'late-outer').child).to.equal(undefined);
    expect(nodeAt(tree, 'late-inner').total_time).to.be.a('number');
    // The trace keeps the real nesting: the cap only bounds the tree's memory of it.
    const spans = harness.spans();
    const lateOuter = spans.find((span) => span.name === 'late-outer');
    const lateInner = spans.find((span) => span.name === 'late-inner');
    expect(lateInner?.parentSpanContext?.spanId).to.equal(lateOuter?.spanContext().spanId);
  });
});
