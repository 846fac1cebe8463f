import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { isTracingSuppressed } from '@opentelemetry/core';
import { InstrumentationBase } from '@opentelemetry/instrumentation';
import { expect } from 'chai';
import { dormant, enableOnThisRequest, isGroupEnabled, withGroupsEnabled, withRequestScope } from '../../src';
import { recordingProvider } from '../helpers/recording-provider';

type Callback = (seen: { suppressed: boolean; value: unknown }) => void;

/** A library with an asynchronous operation and a class, as instrumentations find them. */
function library() {
  return {
    /** Calls back later, in the context it was called in (as any Node callback API does). */
    start(callback: Callback): string {
      setImmediate(() =>
        callback({ suppressed: isTracingSuppressed(context.active()), value: context.active().getValue(KEY) }),
      );
      return 'started';
    },
    Client: class {
      constructor(readonly name: string) {}
    },
  };
}
const KEY = createContextKey('dormant-gate test value');

/** An instrumentation that records a span around each call it patched. */
class SpanAroundInstrumentation extends InstrumentationBase {
  constructor() {
    super('span-around-test', '0.0.0', { enabled: false });
  }
  protected init(): [] {
    return [];
  }
  patchLibrary(target: ReturnType<typeof library>): void {
    for (const name of ['start', 'Client'] as const) {
      this._wrap(target, name, ((original: (...args: unknown[]) => unknown) => {
        const tracer = () => this.tracer;
        return function (this: unknown, ...args: unknown[]): unknown {
          const span = tracer().startSpan(name);
          try {
            if (new.target === undefined) return original.apply(this, args);
            return Reflect.construct(original, args, new.target) as object;
          } finally {
            span.end();
          }
        };
      }) as never);
    }
  }
}

describe('the dormant gate around a patched function', () => {
  const { exporter, provider } = recordingProvider();
  let instrumentation: SpanAroundInstrumentation;
  let target: ReturnType<typeof library>;

  before(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  beforeEach(() => {
    exporter.reset();
    instrumentation = dormant(new SpanAroundInstrumentation(), { group: 'test:span-around' });
    instrumentation.setTracerProvider(provider);
    target = library();
    instrumentation.patchLibrary(target);
  });

  const startIn = (value: string) =>
    new Promise<{ suppressed: boolean; value: unknown }>((resolve) => {
      context.with(context.active().setValue(KEY, value), () => target.start(resolve));
    });

  it('runs the first call through the instrumentation without a span, and what the original starts keeps the caller context', async () => {
    // The first call probes whether the patch installs others: tracing is suppressed for the instrumentation only.
    expect(await startIn('first')).to.deep.equal({ suppressed: false, value: 'first' });
    expect(await startIn('second')).to.deep.equal({ suppressed: false, value: 'second' });
    expect(exporter.getFinishedSpans()).to.deep.equal([]);
  });

  it('records where the group is enabled, with result and context intact', async () => {
    await startIn('warm-up');
    const seen = await withGroupsEnabled('test:span-around', () => startIn('enabled'));
    expect(seen).to.deep.equal({ suppressed: false, value: 'enabled' });
    expect(exporter.getFinishedSpans().map((span) => span.name)).to.deep.equal(['start']);
    expect(withGroupsEnabled('test:span-around', () => target.start(() => undefined))).to.equal('started');
  });

  it('keeps new working on a patched class, dormant or enabled', () => {
    const dormantClient = new target.Client('a');
    const enabledClient = withGroupsEnabled('test:span-around', () => new target.Client('b'));
    expect(dormantClient).to.be.instanceOf(target.Client);
    expect(enabledClient.name).to.equal('b');
    expect(exporter.getFinishedSpans().map((span) => span.name)).to.deep.equal(['Client']);
  });

  it("puts the caller's request scope back when the instrumentation ran the original in a context of its own", () => {
    /** As HttpInstrumentation's server side does: a context built from scratch (from the incoming headers). */
    class FreshContextInstrumentation extends InstrumentationBase {
      constructor() {
        super('fresh-context-test', '0.0.0', { enabled: false });
      }
      protected init(): [] {
        return [];
      }
      patchTarget(target: { handle: () => boolean }): void {
        this._wrap(
          target,
          'handle',
          (original: () => boolean) =>
            function (this: unknown) {
              return context.with(ROOT_CONTEXT, () => original.call(this));
            },
        );
      }
    }
    const fresh = dormant(new FreshContextInstrumentation(), { group: 'test:fresh' });
    // The original looks at the request: is the request's own group enabled, can it enable another?
    const handled = {
      handle: () => {
        enableOnThisRequest('test:later');
        return isGroupEnabled('test:request');
      },
    };
    fresh.patchTarget(handled);
    const seen = withRequestScope(() => {
      enableOnThisRequest('test:request');
      enableOnThisRequest('test:fresh');
      return [handled.handle(), handled.handle(), isGroupEnabled('test:later')];
    });
    expect(seen).to.deep.equal([true, true, true]);
  });
});
