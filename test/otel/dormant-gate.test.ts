import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { isTracingSuppressed } from '@opentelemetry/core';
import { InstrumentationBase, InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import { expect } from 'chai';
import type querystring from 'node:querystring';
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

/** Patches node:querystring's `escape`, counting the runs of its patched function; may install a patch on each run. */
class QuerystringInstrumentation extends InstrumentationBase {
  runs = 0;
  installOnCall = false;
  constructor() {
    super('querystring-test', '0.0.0', { enabled: false });
  }
  protected init(): InstrumentationNodeModuleDefinition {
    return new InstrumentationNodeModuleDefinition(
      'querystring',
      ['*'],
      (exports: typeof querystring) => {
        const run = (text: string): void => {
          this.runs++;
          if (this.installOnCall) this._wrap({ layer: () => text }, 'layer', (own) => own);
        };
        this._wrap(
          exports,
          'escape',
          (original: (text: string) => string) =>
            function (this: unknown, text: string): string {
              run(text);
              return original.call(this, text);
            },
        );
        return exports;
      },
      (exports: typeof querystring) => {
        this._unwrap(exports, 'escape');
      },
    );
  }
}

describe('the dormant gate around a function of a built-in module', () => {
  let instrumentation: QuerystringInstrumentation;
  let qs: typeof querystring;

  beforeEach(() => {
    instrumentation = dormant(new QuerystringInstrumentation(), { group: 'test:querystring' });
    instrumentation.enable();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    qs = require('node:querystring') as typeof querystring;
  });
  afterEach(() => {
    instrumentation.disable();
  });

  it('skips the first-call probe: the instrumentation runs only where the group is enabled', () => {
    expect(qs.escape('a b')).to.equal('a%20b');
    expect(qs.escape('c d')).to.equal('c%20d');
    expect(instrumentation.runs).to.equal(0);
    expect(withGroupsEnabled('test:querystring', () => qs.escape('e f'))).to.equal('e%20f');
    expect(instrumentation.runs).to.equal(1);
  });

  it('still finds an installer the first time it runs enabled, and runs it on every call from then on', () => {
    instrumentation.installOnCall = true;
    qs.escape('dormant');
    expect(instrumentation.runs).to.equal(0);
    withGroupsEnabled('test:querystring', () => qs.escape('enabled'));
    qs.escape('dormant again');
    expect(instrumentation.runs).to.equal(2);
  });
});
