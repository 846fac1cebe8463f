import { expect } from 'chai';
import { promisify } from 'node:util';
import { EventEmitter } from 'node:events';
import { alwaysEnable, disableByDefault, hookFunction, listGroups, type HookHandlers } from '../../src';
import { DiagCapture } from '../helpers/diag-capture';

/** A fresh group name per test, so tests never see each other's state. */
let seq = 0;
function freshGroup(): string {
  return `hook-function-test-${++seq}`;
}

describe('hookFunction', () => {
  describe('while the group is disabled', () => {
    it('runs the original alone, with its arguments, this and result', () => {
      const calls: string[] = [];
      const target = {
        factor: 3,
        scale(a: number, b: number) {
          calls.push('original');
          return (a + b) * this.factor;
        },
      };
      hookFunction(freshGroup(), target, 'scale', 2, { befores: [() => calls.push('before')] });
      expect(target.scale(1, 2)).to.equal(9);
      expect(calls).to.deep.equal(['original']);
    });

    it('forwards every argument, beyond maxArgs too, and the arguments count', () => {
      const target = {
        count(...args: unknown[]) {
          return args;
        },
      };
      hookFunction(freshGroup(), target, 'count', 1, {});
      expect(target.count()).to.deep.equal([]);
      expect(target.count(1, 2, 3)).to.deep.equal([1, 2, 3]);
    });
  });

  describe('while the group is enabled', () => {
    it('runs befores with the arguments and this, then afters with the result first', () => {
      const group = freshGroup();
      const seen: unknown[][] = [];
      const target = {
        id: 'target',
        add(a: number, b: number) {
          seen.push(['original', a, b]);
          return a + b;
        },
      };
      hookFunction(group, target, 'add', 2, {
        befores: [
          function (this: typeof target, a, b) {
            seen.push(['before', this.id, a, b]);
          },
        ],
        afters: [
          function (this: typeof target, result, a, b) {
            seen.push(['after', this.id, result, a, b]);
          },
        ],
      });
      alwaysEnable(group);
      expect(target.add(2, 3)).to.equal(5);
      expect(seen).to.deep.equal([
        ['before', 'target', 2, 3],
        ['original', 2, 3],
        ['after', 'target', 5, 2, 3],
      ]);
    });

    it('gives handlers exactly maxArgs arguments with a fixed arity, and all with varargs', () => {
      const group = freshGroup();
      const fixed: unknown[][] = [];
      const all: unknown[][] = [];
      const target = { f: (..._args: unknown[]) => 0, g: (..._args: unknown[]) => 0 };
      hookFunction(group, target, 'f', 2, { befores: [(...args) => fixed.push(args)] });
      hookFunction(group, target, 'g', 'varargs', { befores: [(...args) => all.push(args)] });
      alwaysEnable(group);
      target.f(1, 2, 3, 4);
      target.f(1);
      target.g(1, 2, 3, 4);
      expect(fixed).to.deep.equal([
        [1, 2],
        [1, undefined],
      ]);
      expect(all).to.deep.equal([[1, 2, 3, 4]]);
    });

    it('runs several handlers in order', () => {
      const group = freshGroup();
      const order: string[] = [];
      const target = { f: () => order.push('original') };
      hookFunction(group, target, 'f', 0, {
        befores: [() => order.push('b1'), () => order.push('b2')],
        afters: [() => order.push('a1'), () => order.push('a2')],
      });
      alwaysEnable(group);
      target.f();
      expect(order).to.deep.equal(['b1', 'b2', 'original', 'a1', 'a2']);
    });

    it('runs errors handlers, not afters, when the original throws, and rethrows the same error', () => {
      const group = freshGroup();
      const failure = new Error('boom');
      const seen: unknown[] = [];
      const target = {
        fail(_x: number): number {
          throw failure;
        },
      };
      hookFunction(group, target, 'fail', 1, {
        afters: [() => seen.push('after')],
        errors: [(error, x) => seen.push(error, x)],
      });
      alwaysEnable(group);
      expect(() => target.fail(7)).to.throw(failure);
      expect(seen).to.deep.equal([failure, 7]);
    });

    it('stops running handlers at once when the group is disabled at runtime', () => {
      const group = freshGroup();
      let runs = 0;
      const target = { f: () => 1 };
      hookFunction(group, target, 'f', 0, { befores: [() => runs++] });
      target.f();
      alwaysEnable(group);
      target.f();
      target.f();
      disableByDefault(group);
      target.f();
      expect(runs).to.equal(2);
    });
  });

  describe('call shapes', () => {
    it("'auto' runs afters when a returned promise fulfils, and returns the very same promise", async () => {
      const group = freshGroup();
      const seen: unknown[] = [];
      let settle!: (v: string) => void;
      const pending = new Promise<string>((resolve) => (settle = resolve));
      const target = { load: (_key: string) => pending };
      hookFunction(group, target, 'load', 1, { afters: [(result, key) => seen.push(result, key)] });
      alwaysEnable(group);
      const returned = target.load('k');
      expect(returned).to.equal(pending);
      await Promise.resolve();
      expect(seen).to.deep.equal([]);
      settle('value');
      expect(await returned).to.equal('value');
      await new Promise((r) => setImmediate(r));
      expect(seen).to.deep.equal(['value', 'k']);
    });

    it("'auto' runs errors handlers when the promise rejects, and the caller still sees the rejection", async () => {
      const group = freshGroup();
      const failure = new Error('rejected');
      const seen: unknown[] = [];
      const target = {
        async load(): Promise<never> {
          await new Promise((r) => setTimeout(r, 5));
          throw failure;
        },
      };
      hookFunction(group, target, 'load', 0, {
        afters: [() => seen.push('after')],
        errors: [(error) => seen.push(error)],
      });
      alwaysEnable(group);
      let caught: unknown;
      try {
        await target.load();
      } catch (error) {
        caught = error;
      }
      expect(caught).to.equal(failure);
      await new Promise((r) => setImmediate(r));
      expect(seen).to.deep.equal([failure]);
    });

    it("'auto' treats a non-native thenable as a plain value and never calls its then", () => {
      const group = freshGroup();
      let thenCalls = 0;
      const lazy = {
        then(resolve: (v: number) => void) {
          thenCalls++;
          resolve(1);
        },
      };
      const seen: unknown[] = [];
      const target = { query: () => lazy };
      hookFunction(group, target, 'query', 0, { afters: [(result) => seen.push(result)] });
      alwaysEnable(group);
      expect(target.query()).to.equal(lazy);
      expect(thenCalls).to.equal(0);
      expect(seen).to.deep.equal([lazy]);
    });

    it("'promise' waits for any thenable", async () => {
      const group = freshGroup();
      const seen: unknown[] = [];
      const thenable = {
        then(resolve: (v: number) => void) {
          setTimeout(() => resolve(42), 5);
        },
      };
      const target = { query: () => thenable };
      hookFunction(group, target, 'query', 0, { afters: [(result) => seen.push(result)] }, { mode: 'promise' });
      alwaysEnable(group);
      expect(target.query()).to.equal(thenable);
      expect(seen).to.deep.equal([]);
      await new Promise((r) => setTimeout(r, 20));
      expect(seen).to.deep.equal([42]);
    });

    it("'sync' runs afters at return even for a promise", async () => {
      const group = freshGroup();
      const seen: unknown[] = [];
      const promise = Promise.resolve(5);
      const target = { f: () => promise };
      hookFunction(group, target, 'f', 0, { afters: [(result) => seen.push(result)] }, { mode: 'sync' });
      alwaysEnable(group);
      expect(target.f()).to.equal(promise);
      expect(seen).to.deep.equal([promise]);
      await promise;
    });

    it("'callback' runs afters when the callback is called, before the callback, with its value", async () => {
      const group = freshGroup();
      const order: unknown[] = [];
      const target = {
        read(key: string, callback: (error: Error | null, value?: string) => void) {
          setTimeout(() => callback(null, `value of ${key}`), 5);
        },
      };
      hookFunction(
        group,
        target,
        'read',
        2,
        { befores: [(key) => order.push(['before', key])], afters: [(value: unknown) => order.push(['after', value])] },
        { mode: 'callback' },
      );
      alwaysEnable(group);
      const value = await new Promise((resolve, reject) => {
        target.read('a', (error, v) => {
          order.push(['callback', v]);
          if (error) reject(error);
          else resolve(v);
        });
        order.push(['returned']);
      });
      expect(value).to.equal('value of a');
      expect(order).to.deep.equal([['before', 'a'], ['returned'], ['after', 'value of a'], ['callback', 'value of a']]);
    });

    it("'callback' runs errors handlers for an error-first callback and passes the error on", async () => {
      const group = freshGroup();
      const failure = new Error('ENOENT');
      const seen: unknown[] = [];
      const target = {
        read(callback: (error: Error | null) => void) {
          setImmediate(() => callback(failure));
        },
      };
      hookFunction(
        group,
        target,
        'read',
        1,
        { afters: [() => seen.push('after')], errors: [(error) => seen.push(error)] },
        { mode: 'callback' },
      );
      alwaysEnable(group);
      const received = await new Promise((resolve) => target.read(resolve));
      expect(received).to.equal(failure);
      expect(seen).to.deep.equal([failure]);
    });

    it("'callback' keeps the callback's this and return value, and completes only once", () => {
      const group = freshGroup();
      let afters = 0;
      const emitter = new EventEmitter();
      const target = {
        listen(callback: (this: EventEmitter) => string) {
          emitter.on('tick', callback);
        },
      };
      hookFunction(group, target, 'listen', 1, { afters: [() => afters++] }, { mode: 'callback' });
      alwaysEnable(group);
      const thisValues: unknown[] = [];
      target.listen(function (this: EventEmitter) {
        thisValues.push(this);
        return 'r';
      });
      emitter.emit('tick');
      emitter.emit('tick');
      expect(thisValues).to.deep.equal([emitter, emitter]);
      expect(afters).to.equal(1);
    });

    it("'callback' without a trailing function falls back to the promise shape", async () => {
      const group = freshGroup();
      const seen: unknown[] = [];
      const target = { read: (x: number) => Promise.resolve(x * 2) };
      hookFunction(group, target, 'read', 1, { afters: [(result) => seen.push(result)] }, { mode: 'callback' });
      alwaysEnable(group);
      expect(await target.read(4)).to.equal(8);
      await new Promise((r) => setImmediate(r));
      expect(seen).to.deep.equal([8]);
    });
  });

  describe('what the wrapper preserves', () => {
    it('keeps name, length, own properties and own symbols such as util.promisify.custom', async () => {
      function legacy(_a: number, _b: number, _c: (e: null, v: number) => void): void {
        /* callback API */
      }
      const custom = (a: number, b: number) => Promise.resolve(a * b);
      Object.defineProperty(legacy, promisify.custom, { value: custom });
      const marker = Symbol('marker');
      Object.assign(legacy, { extra: 'x', [marker]: 7 });
      const holder = { legacy };
      hookFunction(freshGroup(), holder, 'legacy', 3, {});
      expect(holder.legacy).to.not.equal(legacy);
      expect(holder.legacy.name).to.equal('legacy');
      expect(holder.legacy.length).to.equal(3);
      expect((holder.legacy as unknown as { extra: string }).extra).to.equal('x');
      expect((holder.legacy as unknown as Record<symbol, number>)[marker]).to.equal(7);
      const promisified = promisify(holder.legacy);
      expect(promisified).to.equal(custom);
      expect(await promisified(6, 7)).to.equal(42);
    });

    it('hooks a method on a prototype for every instance', () => {
      const group = freshGroup();
      class Counter {
        constructor(private readonly step: number) {}
        next(n: number): number {
          return n + this.step;
        }
      }
      const receivers: Counter[] = [];
      hookFunction(group, Counter.prototype, 'next', 1, {
        befores: [
          function (this: Counter) {
            receivers.push(this);
          },
        ],
      });
      alwaysEnable(group);
      const one = new Counter(1);
      const ten = new Counter(10);
      expect(one.next(1)).to.equal(2);
      expect(ten.next(1)).to.equal(11);
      expect(receivers).to.deep.equal([one, ten]);
      expect(receivers[0]).to.equal(one);
    });

    it('keeps a hooked class constructible with new, and instanceof working', () => {
      const group = freshGroup();
      class Point {
        constructor(
          readonly x: number,
          readonly y: number,
        ) {}
      }
      const holder = { Point };
      const seen: unknown[] = [];
      hookFunction(group, holder, 'Point', 2, { befores: [(x, y) => seen.push(x, y)] });
      for (const enabled of [false, true]) {
        if (enabled) alwaysEnable(group);
        const p = new holder.Point(1, 2);
        expect(p).to.be.instanceOf(Point);
        expect(p).to.be.instanceOf(holder.Point);
        expect(p.x + p.y).to.equal(3);
      }
      expect(seen).to.deep.equal([1, 2]);
    });

    it('keeps the errors a disabled hook lets through', () => {
      const failure = new RangeError('bad');
      const target = {
        f(): never {
          throw failure;
        },
      };
      hookFunction(freshGroup(), target, 'f', 0, {});
      expect(() => target.f()).to.throw(failure);
    });
  });

  describe('unhook', () => {
    it('restores the original own property', () => {
      const group = freshGroup();
      const original = (x: number) => x + 1;
      const holder = { f: original };
      const unhook = hookFunction(group, holder, 'f', 1, {});
      expect(holder.f).to.not.equal(original);
      unhook();
      expect(holder.f).to.equal(original);
      unhook();
      expect(holder.f).to.equal(original);
    });

    it('removes the shadowing property when the method was inherited', () => {
      class Base {
        greet(): string {
          return 'hi';
        }
      }
      const instance = new Base();
      const unhook = hookFunction(freshGroup(), instance, 'greet', 0, {});
      expect(Object.prototype.hasOwnProperty.call(instance, 'greet')).to.equal(true);
      unhook();
      expect(Object.prototype.hasOwnProperty.call(instance, 'greet')).to.equal(false);
      expect(instance.greet()).to.equal('hi');
    });

    it('leaves a later wrapper in place and turns its own handlers off', () => {
      const group = freshGroup();
      let runs = 0;
      const holder = { f: (x: number) => x * 2 };
      const unhook = hookFunction(group, holder, 'f', 1, { befores: [() => runs++] });
      const ours = holder.f;
      const theirs = (x: number) => ours(x) + 1;
      holder.f = theirs;
      alwaysEnable(group);
      unhook();
      expect(holder.f).to.equal(theirs);
      expect(holder.f(5)).to.equal(11);
      expect(runs).to.equal(0);
    });

    it('nests: two hooks on one function unhook in any order', () => {
      const a = freshGroup();
      const b = freshGroup();
      const order: string[] = [];
      const original = () => order.push('original');
      const holder = { f: original };
      const unhookA = hookFunction(a, holder, 'f', 0, { befores: [() => order.push('a')] });
      const unhookB = hookFunction(b, holder, 'f', 0, { befores: [() => order.push('b')] });
      alwaysEnable(a);
      alwaysEnable(b);
      holder.f();
      unhookA();
      holder.f();
      unhookB();
      expect(holder.f).to.equal(original);
      holder.f();
      expect(order).to.deep.equal(['b', 'a', 'original', 'b', 'original', 'original']);
    });

    it('drops the function from listGroups()', () => {
      const group = freshGroup();
      const holder = { f: () => 0 };
      const unhook = hookFunction(group, holder, 'f', 0, {}, { name: 'holder.f' });
      expect(listGroups().find((g) => g.name === group)?.hookedFunctions).to.deep.equal(['holder.f']);
      unhook();
      expect(listGroups().find((g) => g.name === group)?.hookedFunctions).to.deep.equal([]);
    });
  });

  describe('failing handlers', () => {
    let capture: DiagCapture;
    beforeEach(() => (capture = new DiagCapture().install()));
    afterEach(() => capture.uninstall());

    it('are isolated and reported with the group and hook names; the call is unaffected', () => {
      const group = freshGroup();
      const order: string[] = [];
      const holder = {
        f(x: number) {
          order.push('original');
          return x + 1;
        },
      };
      hookFunction(group, holder, 'f', 1, {
        befores: [
          () => {
            throw new Error('before broke');
          },
          () => order.push('second before'),
        ],
        afters: [
          () => {
            throw new TypeError('after broke');
          },
        ],
      });
      alwaysEnable(group);
      expect(holder.f(1)).to.equal(2);
      expect(order).to.deep.equal(['second before', 'original']);
      const warnings = capture.warnings();
      expect(warnings).to.have.length(2);
      expect(warnings[0]).to.match(
        new RegExp(`^failed to run dynamic hook ${group}\\.before:f\\[0\\]: Error: before broke`),
      );
      expect(warnings[1]).to.match(
        new RegExp(`^failed to run dynamic hook ${group}\\.after:f: TypeError: after broke`),
      );
    });

    it('in an errors handler do not replace the original error', () => {
      const group = freshGroup();
      const failure = new Error('original');
      const holder = {
        f(): never {
          throw failure;
        },
      };
      hookFunction(group, holder, 'f', 0, {
        errors: [
          () => {
            throw new Error('handler');
          },
        ],
      });
      alwaysEnable(group);
      expect(() => holder.f()).to.throw(failure);
      expect(capture.warnings()[0]).to.include(`${group}.error:f`);
    });

    it('in a promise after-handler cause no unhandled rejection', async () => {
      const group = freshGroup();
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        const holder = { f: () => Promise.resolve(1) };
        hookFunction(group, holder, 'f', 0, {
          afters: [
            () => {
              throw new Error('async after broke');
            },
          ],
        });
        alwaysEnable(group);
        expect(await holder.f()).to.equal(1);
        await new Promise((r) => setTimeout(r, 10));
        expect(unhandled).to.deep.equal([]);
        expect(capture.warnings()[0]).to.include('async after broke');
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });
  });

  describe('bad input', () => {
    const ok = { f: () => 0, notFn: 5 };
    const cases: [string, () => unknown, ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor, RegExp][] = [
      ['empty group', () => hookFunction('', ok, 'f', 0, {}), TypeError, /group must be a non-empty string/],
      ['group not a string', () => hookFunction(7 as unknown as string, ok, 'f', 0, {}), TypeError, /group/],
      ['parent null', () => hookFunction('g', null as unknown as object, 'f' as never, 0, {}), TypeError, /parent/],
      ['parent a number', () => hookFunction('g', 3 as unknown as object, 'f' as never, 0, {}), TypeError, /parent/],
      ['parent[key] not a function', () => hookFunction('g', ok, 'notFn', 0, {}), TypeError, /parent\[notFn\]/],
      ['parent[key] missing', () => hookFunction('g', ok, 'nope' as never, 0, {}), TypeError, /parent\[nope\]/],
      ['maxArgs 9', () => hookFunction('g', ok, 'f', 9 as never, {}), RangeError, /maxArgs/],
      ['maxArgs -1', () => hookFunction('g', ok, 'f', -1 as never, {}), RangeError, /maxArgs/],
      ['maxArgs 1.5', () => hookFunction('g', ok, 'f', 1.5 as never, {}), RangeError, /maxArgs/],
      ['maxArgs a string', () => hookFunction('g', ok, 'f', 'many' as never, {}), TypeError, /maxArgs/],
      ['handlers null', () => hookFunction('g', ok, 'f', 0, null as never), TypeError, /handlers/],
      [
        'befores not an array',
        () => hookFunction('g', ok, 'f', 0, { befores: (() => 0) as unknown as [] }),
        TypeError,
        /handlers\.befores/,
      ],
      [
        'an after not a function',
        () => hookFunction('g', ok, 'f', 0, { afters: [() => 0, 'x'] } as unknown as HookHandlers),
        TypeError,
        /handlers\.afters\[1\]/,
      ],
      ['unknown mode', () => hookFunction('g', ok, 'f', 0, {}, { mode: 'later' as never }), TypeError, /options\.mode/],
    ];
    for (const [name, call, type, message] of cases) {
      it(`rejects ${name} with a ${type.name} naming the argument`, () => {
        expect(call).to.throw(type, message);
        expect(ok.f).to.be.a('function');
        expect(ok.f()).to.equal(0);
      });
    }

    it('rejects a frozen parent with a TypeError and leaves it unchanged', () => {
      const frozen = Object.freeze({ f: () => 1 });
      expect(() => hookFunction('g', frozen, 'f', 0, {})).to.throw(TypeError, /parent\[f\] cannot be replaced/);
      expect(frozen.f()).to.equal(1);
    });
  });
});
