import { InstrumentationBase, InstrumentationNodeModuleDefinition, isWrapped } from '@opentelemetry/instrumentation';
import { expect } from 'chai';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import type querystring from 'node:querystring';
import {
  interceptChannelSubscriptions,
  interceptIsEnabled,
  interceptModulePatches,
  interceptPatching,
  interceptTracer,
  patchesNoModule,
  subscribesToChannels,
  type PatchFactory,
} from '../../src/otel/instrumentation-internals';

// Pins what src/otel/instrumentation-internals.ts relies on in the installed
// @opentelemetry/instrumentation: if an upgrade changes it, this fails first.

class Patcher extends InstrumentationBase {
  constructor() {
    super('patcher-under-test', '0.0.0', { enabled: false });
  }
  protected init(): [] {
    return [];
  }
  wrapOne(target: object, name: string, factory: PatchFactory): void {
    this._wrap(target as Record<string, () => unknown>, name, factory as never);
  }
  wrapMany(targets: object[], names: string[], factory: PatchFactory): void {
    this._massWrap(targets as Record<string, () => unknown>[], names, factory as never);
  }
  unwrapOne(target: object, name: string): void {
    this._unwrap(target as Record<string, () => unknown>, name);
  }
}

describe('OpenTelemetry instrumentation internals the dormant gate uses', () => {
  const calls: string[] = [];
  const patch: PatchFactory = (original, name) =>
    function (this: unknown, ...args: unknown[]) {
      calls.push(`patched ${name}`);
      return original.apply(this, args);
    };
  const target = () => ({ one: () => 'one', two: () => 'two' });

  beforeEach(() => {
    calls.length = 0;
  });

  it('has _wrap and _unwrap as own fields of each instance', () => {
    const a = new Patcher();
    const b = new Patcher();
    expect(Object.prototype.hasOwnProperty.call(a, '_wrap')).to.equal(true);
    expect(Object.prototype.hasOwnProperty.call(a, '_unwrap')).to.equal(true);
    expect((a as unknown as { _wrap: unknown })._wrap).to.not.equal((b as unknown as { _wrap: unknown })._wrap);
  });

  it('routes _wrap, _massWrap and _unwrap through the replaced fields of that instance only', () => {
    const seen: string[] = [];
    const intercepted = new Patcher();
    const other = new Patcher();
    interceptPatching(intercepted, {
      wrap: (own) => (exports, name, factory) => {
        seen.push(`wrap ${name}`);
        return own(exports, name, factory);
      },
      unwrap: (own) => (exports, name) => {
        seen.push(`unwrap ${name}`);
        return own(exports, name);
      },
    });
    const a = target();
    const b = target();
    intercepted.wrapOne(a, 'one', patch);
    intercepted.wrapMany([a, b], ['two'], patch);
    other.wrapOne(b, 'one', patch);
    expect(seen).to.deep.equal(['wrap one', 'wrap two', 'wrap two']);

    expect(a.one()).to.equal('one');
    expect(calls).to.deep.equal(['patched one']);
    // shimmer marks what it installed, and keeps the original.
    expect(isWrapped(a.one)).to.equal(true);
    expect((a.one as unknown as { __original: unknown }).__original).to.be.a('function');

    // Wrapping again unwraps first, through the same instance.
    intercepted.wrapOne(a, 'one', patch);
    expect(seen.slice(3)).to.deep.equal(['wrap one', 'unwrap one']);
    intercepted.unwrapOne(a, 'one');
    expect(isWrapped(a.one)).to.equal(false);
    calls.length = 0;
    expect(a.one()).to.equal('one');
    expect(calls).to.deep.equal([]);
  });

  it('keeps what init() returned in _modules: empty for one that patches no module', () => {
    expect(patchesNoModule(new Patcher())).to.equal(true);
    expect(patchesNoModule(new UndiciInstrumentation({ enabled: false }))).to.equal(true);
    expect(patchesNoModule({})).to.equal(false);
  });

  it("calls each module definition's patch through _modules, on require and on enable()", () => {
    class ModulePatcher extends InstrumentationBase {
      constructor() {
        super('module-patcher-under-test', '0.0.0', { enabled: false });
      }
      protected init(): InstrumentationNodeModuleDefinition {
        return new InstrumentationNodeModuleDefinition(
          'querystring',
          ['*'],
          (exports: typeof querystring) => {
            calls.push('patch');
            this._wrap(exports, 'unescape', patch as never);
            return exports;
          },
          (exports: typeof querystring) => {
            this._unwrap(exports, 'unescape');
          },
        );
      }
    }
    const instance = new ModulePatcher();
    const seen: string[] = [];
    interceptModulePatches(instance, (moduleName, run) => {
      seen.push(`around ${moduleName}`);
      const result = run();
      seen.push(`after ${String(result === undefined)}`);
      return result;
    });
    instance.enable();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const qs = require('node:querystring') as typeof querystring;
    expect(qs.unescape('a%20b')).to.equal('a b');
    instance.disable();
    instance.enable(); // patches again what was loaded
    instance.disable();
    expect(seen).to.deep.equal(['around querystring', 'after false', 'around querystring', 'after false']);
    expect(calls).to.deep.equal(['patch', 'patched unescape', 'patch']);
    expect(isWrapped(qs.unescape)).to.equal(false);
  });

  it('hands its tracer through the tracer accessor, which setTracerProvider feeds', () => {
    const instance = new Patcher();
    const seen: unknown[] = [];
    interceptTracer(instance, (tracer: unknown) => {
      seen.push(tracer);
      return tracer;
    });
    const tracer = (instance as unknown as { tracer: unknown }).tracer;
    expect(seen).to.deep.equal([tracer]);
    expect(tracer).to.have.property('startSpan').that.is.a('function');
  });

  it('answers isEnabled() through the replaced method, given its own', () => {
    const instance = new Patcher();
    interceptIsEnabled(instance, (own) => () => !own());
    expect(instance.isEnabled()).to.equal(true);
    instance.enable();
    expect(instance.isEnabled()).to.equal(false);
    instance.disable();
  });

  it('refuses an object that does not patch through own _wrap and _unwrap', () => {
    expect(() => interceptPatching({}, { wrap: (own) => own, unwrap: (own) => own })).to.throw(
      TypeError,
      /InstrumentationBase/,
    );
  });

  it("subscribes undici's instrumentation to its channels through subscribeToChannel, undone by disable()", () => {
    const undici = new UndiciInstrumentation({ enabled: false });
    expect(subscribesToChannels(undici)).to.equal(true);
    expect(subscribesToChannels(new Patcher())).to.equal(false);
    const subscribed: string[] = [];
    let unsubscribed = 0;
    interceptChannelSubscriptions(undici, (name) => {
      subscribed.push(name);
      return () => unsubscribed++;
    });
    undici.enable();
    expect(subscribed).to.include.members(['undici:request:create', 'undici:request:headers']);
    undici.enable();
    expect(unsubscribed).to.equal(0);
    undici.disable();
    expect(unsubscribed).to.equal(subscribed.length);
  });
});
