// Pins what src/patching/otel-internals.ts reads of @opentelemetry/instrumentation
// beyond its documented API, for the installed version: an upgrade that
// changes it fails here, in one place, not across the instrumentations.
import { expect } from 'chai';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  type InstrumentationModuleDefinition,
} from '@opentelemetry/instrumentation';
import { context, createContextKey, ROOT_CONTEXT, trace, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  isShimmerWrapped,
  makesRequestContext,
  onlyRequestContextsBetween,
  ownModuleDefinitions,
  setValueInPlace,
  shimmerOriginal,
  wrapperChainIncludes,
} from '../../src/patching/otel-internals';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('@opentelemetry/instrumentation/package.json') as { version: string };

/** The versions whose internals this file has checked (the package's dependency range). */
const SUPPORTED = /^0\.2\d\d\.\d+$/;

type Target = { run: (n: number) => number };

class Probe extends InstrumentationBase {
  readonly unpatched: unknown[] = [];

  constructor() {
    super('dynamic-hooks-pinned-probe', '0.0.0', { enabled: false });
  }

  protected init(): InstrumentationModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        'dynamic-hooks-no-such-module',
        ['*'],
        (exports: unknown) => exports,
        (exports: unknown) => {
          this.unpatched.push(exports);
        },
      ),
    ];
  }

  wrapTwice(target: Target): void {
    this._wrap(target, 'run', (original) => (n: number) => original(n) + 1);
    this._wrap(target, 'run', (original) => (n: number) => original(n) * 10);
  }
}

describe(`@opentelemetry/instrumentation ${version}: the internals dynamic-hooks reads`, () => {
  it('is a version this file checked', () => {
    expect(version).to.match(SUPPORTED);
  });

  it('keeps its own module definitions in _modules: disable() unpatches the moduleExports set there', () => {
    const probe = new Probe();
    const definitions = ownModuleDefinitions(probe);
    expect(definitions).to.have.length(1);
    expect(ownModuleDefinitions(probe)[0], 'the same objects, not copies').to.equal(definitions[0]);
    expect(probe.getModuleDefinitions()[0], 'getModuleDefinitions() returns copies').to.not.equal(definitions[0]);
    const exports = { loaded: true };
    probe.enable();
    definitions[0].moduleExports = exports;
    probe.disable();
    expect(probe.unpatched).to.deep.equal([exports]);
  });

  it("marks shimmer's wrappers with __wrapped and __original, and _wrap replaces a marked wrapper", () => {
    const original = (n: number): number => n;
    const ours = Object.assign((n: number) => original(n), { ours: true });
    const target: Target = { run: ours };
    expect(isShimmerWrapped(target.run)).to.equal(false);
    new Probe().wrapTwice(target);
    expect(isShimmerWrapped(target.run)).to.equal(true);
    // The second _wrap unwrapped the first (why TimingInstrumentation leaves its own wrapper unmarked).
    expect(target.run(1)).to.equal(10);
    expect(shimmerOriginal(target.run)).to.equal(ours);
    expect(wrapperChainIncludes(target.run, (fn) => (fn as { ours?: boolean }).ours === true)).to.equal(true);
    expect(wrapperChainIncludes(target.run, (fn) => fn === original)).to.equal(false);
  });
});

/** The installed version of a package that does not export its package.json (its main is build/src/index.js). */
function installedVersion(name: string): string {
  const file = join(dirname(require.resolve(name)), '..', '..', 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}
const apiVersion = installedVersion('@opentelemetry/api');
const httpVersion = installedVersion('@opentelemetry/instrumentation-http');

describe(`@opentelemetry/api ${apiVersion}: a context's own value map`, () => {
  const A = createContextKey('otel-internals a');
  const B = createContextKey('otel-internals b');

  it('setValueInPlace writes into the context itself, which its children copy, and nowhere else', () => {
    const parent = ROOT_CONTEXT.setValue(A, 1);
    const ctx = parent.setValue(A, 2);
    expect(setValueInPlace(ctx, B, 'b')).to.equal(true);
    expect(ctx.getValue(B)).to.equal('b');
    expect(ctx.setValue(A, 3).getValue(B), 'a child made afterwards').to.equal('b');
    expect(parent.getValue(B)).to.equal(undefined);
    expect(ROOT_CONTEXT.getValue(B)).to.equal(undefined);
  });

  it('setValueInPlace refuses a key the context has, and a context of another shape', () => {
    const ctx = ROOT_CONTEXT.setValue(A, 1);
    expect(setValueInPlace(ctx, A, 2)).to.equal(false);
    expect(ctx.getValue(A)).to.equal(1);
    const foreign = { getValue: () => undefined, setValue: () => foreign, deleteValue: () => foreign };
    expect(setValueInPlace(foreign, B, 'b')).to.equal(false);
    // A map getValue does not read: the write is undone.
    const values = new Map<symbol, unknown>();
    const detached = { ...foreign, _currentContext: values };
    expect(setValueInPlace(detached, B, 'b')).to.equal(false);
    expect(values.size).to.equal(0);
    // A plain object that reads its map does not vouch for the next one, which does not.
    const readable = new Map<symbol, unknown>();
    expect(
      setValueInPlace({ _currentContext: readable, getValue: (key: symbol) => readable.get(key) }, B, 'b'),
    ).to.equal(true);
    expect(setValueInPlace(detached, B, 'b')).to.equal(false);
    expect(values.size).to.equal(0);
  });

  it('setValueInPlace still checks a context of another class after trusting BaseContext', () => {
    expect(setValueInPlace(ROOT_CONTEXT.setValue(A, 1), B, 'b')).to.equal(true);
    class Unreadable {
      readonly _currentContext = new Map<symbol, unknown>();
      getValue(): unknown {
        return undefined;
      }
    }
    const other = new Unreadable();
    expect(setValueInPlace(other, B, 'b')).to.equal(false);
    expect(other._currentContext.size).to.equal(0);
  });
});

describe(`@opentelemetry/instrumentation-http ${httpVersion}: its Server#emit wrapper`, () => {
  type Emit = (this: unknown, event: string, ...args: unknown[]) => boolean;

  /** HttpInstrumentation's patch applied to a stand-in of node:http, not to the real one (the process's other tests use it). */
  function wrappedEmit(original: Emit): Emit {
    const instrumentation = new HttpInstrumentation({ enabled: false });
    const definition = ownModuleDefinitions(instrumentation).find((each) => each.name === 'http');
    const exports = {
      Server: { prototype: { emit: original } },
      request: () => undefined,
      get: () => undefined,
    };
    definition?.patch?.(exports);
    return exports.Server.prototype.emit;
  }

  function incoming(): [EventEmitter, EventEmitter] {
    const req = Object.assign(new EventEmitter(), {
      method: 'GET',
      url: '/',
      headers: { host: '127.0.0.1:1' },
      httpVersion: '1.1',
      socket: { remoteAddress: '127.0.0.1', remotePort: 2, localAddress: '127.0.0.1', localPort: 1 },
    });
    const res = Object.assign(new EventEmitter(), { statusCode: 200, getHeaders: () => ({}) });
    return [req, res];
  }

  before(() => {
    // Contexts only propagate with a manager: the process's, or this one.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });

  it('is recognised as a wrapper that makes a context per request, and runs each request in a new one', () => {
    const seen: Context[] = [];
    const emit = wrappedEmit(function (this: unknown) {
      seen.push(context.active());
      return true;
    });
    expect(makesRequestContext(emit)).to.equal(true);
    expect(onlyRequestContextsBetween(emit, shimmerOriginal(emit))).to.equal(true);
    const around = ROOT_CONTEXT.setValue(createContextKey('otel-internals around'), true);
    context.with(around, () => {
      emit.call({}, 'request', ...incoming());
      emit.call({}, 'request', ...incoming());
    });
    expect(seen).to.have.length(2);
    expect(seen[0]).to.not.equal(seen[1]);
    for (const ctx of seen) {
      expect(ctx).to.not.equal(around);
      expect(ctx).to.not.equal(ROOT_CONTEXT);
      expect(trace.getSpan(ctx), 'its SERVER span').to.not.equal(undefined);
    }
  });

  it('tells it from other wrappers, a shimmer-marked one included', () => {
    const original: Emit = () => true;
    const other = Object.assign(
      function incomingRequest(this: unknown, event: string) {
        return original.call(this, event);
      },
      { __wrapped: true, __original: original },
    );
    expect(makesRequestContext(other)).to.equal(false);
    expect(makesRequestContext(original)).to.equal(false);
    expect(onlyRequestContextsBetween(original, original), 'no wrapper at all').to.equal(false);
    expect(onlyRequestContextsBetween(wrappedEmit(other), original), 'an unknown one beneath').to.equal(false);
  });
});
