// Items 1 (props, depth) and 7 of issue 9: what the timing API accepts, checked
// in debugged and undebugged requests alike, and a tree that cannot grow
// deeper than MAX_TREE_DEPTH.
import { AlwaysOnSampler } from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { hookFunction, RequestDebugSampler, timing } from '../../src';
import { nodeAt, type Tree } from '../helpers/debugged';
import { timingHarness } from '../helpers/timing-harness';
import { debugRequest, treeDepth } from './timing-helpers';

const circular: Record<string, unknown> = {};
circular.self = circular;

const BAD_VALUES: [string, unknown][] = [
  ['a bigint', 10n],
  ['a circular object', circular],
  ['an object', { a: 1 }],
  ['an array', [1]],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['a symbol', Symbol('s')],
  ['undefined', undefined],
  ['null', null],
  ['a function', () => 1],
];

const setters = {
  setContextProp: (key: unknown, value: unknown) => {
    timing.setContextProp(key as string, value as string);
  },
  setRootContextProp: (key: unknown, value: unknown) => {
    timing.setRootContextProp(key as string, value as string);
  },
};

describe('hardening: timing props and depth', () => {
  const harness = timingHarness();

  beforeEach(() => {
    harness.configure({});
    harness.reset();
  });

  for (const debug of [true, false]) {
    describe(debug ? 'in a debugged request' : 'in an undebugged request', () => {
      for (const [setterName, set] of Object.entries(setters)) {
        it(`${setterName} throws a TypeError naming the prop for each value a tree cannot carry`, async () => {
          const errors: unknown[] = [];
          const { reply, tree } = await debugRequest(
            (_req, res) => {
              timing.enterContext('handler');
              for (const [, value] of BAD_VALUES) {
                try {
                  set('bad', value);
                  errors.push(undefined);
                } catch (error) {
                  errors.push(error);
                }
              }
              set('good', 'yes');
              set('count', 3);
              set('flag', false);
              timing.leaveContext();
              res.end('served');
            },
            { debug },
          );
          expect(reply.body).to.equal('served');
          BAD_VALUES.forEach(([name], i) => {
            expect(errors[i], name).to.be.instanceOf(TypeError);
            expect((errors[i] as Error).message, name).to.match(
              /^value of prop 'bad' must be a string, a finite number or a boolean, got /,
            );
          });
          if (!debug) {
            expect(tree).to.equal(undefined);
            return;
          }
          const node = setterName === 'setContextProp' ? nodeAt(tree, 'handler') : (tree as Tree);
          expect(node).to.include({ good: 'yes', count: 3, flag: false });
          expect(node).to.not.have.property('bad');
        });

        it(`${setterName} rejects keys that are not strings or that the module writes itself`, async () => {
          const errors: unknown[] = [];
          const keys: unknown[] = [
            1,
            '',
            Symbol('k'),
            'total_time',
            'child',
            'request_id',
            'trace_id',
            'downstream',
            'dangling',
          ];
          const { tree } = await debugRequest(
            (_req, res) => {
              for (const key of keys) {
                try {
                  set(key, 'v');
                  errors.push(undefined);
                } catch (error) {
                  errors.push(error);
                }
              }
              res.end('served');
            },
            { debug },
          );
          keys.forEach((key, i) => expect(errors[i], String(key)).to.be.instanceOf(TypeError));
          if (debug) expect((tree as Tree).request_id).to.be.a('string');
        });
      }
    });
  }

  it('5,000 nested contexts: the tree stops at 128, counts the rest, and leaves stay balanced', async () => {
    const { reply, tree } = await debugRequest(
      (_req, res) => {
        for (let i = 0; i < 5000; i++) timing.enterContext(`c${i}`);
        timing.setContextProp('at', 'deepest');
        for (let i = 0; i < 5000; i++) timing.leaveContext();
        timing.enterContext('after');
        timing.leaveContext();
        res.end('served');
      },
      { log: true },
    );
    expect(reply.body).to.equal('served');
    const root = tree as Tree;
    expect(root.contexts_dropped).to.equal(5000 - 128);
    expect(root).to.not.have.property('dangling');
    expect(root.child).to.have.property('after');
    expect(treeDepth(nodeAt(root, 'c0')) + 1).to.equal(128);
    const path = Array.from({ length: 128 }, (_, i) => `c${i}`);
    expect(nodeAt(root, ...path).at).to.equal('deepest');
  });

  it('contexts entered in hooked calls beyond the limit leave nothing else', async () => {
    const target = { call: (n: number): number => n };
    // Group 'timing' is on in debugged requests: its handlers run in the call's own context.
    const unhook = hookFunction('timing', target, 'call', 1, {
      befores: [() => timing.enterContext('hooked')],
      afters: [() => timing.leaveContext()],
    });
    try {
      const { tree } = await debugRequest((_req, res) => {
        for (let i = 0; i < 200; i++) timing.enterContext(`c${i}`);
        target.call(1);
        for (let i = 0; i < 200; i++) timing.leaveContext();
        timing.enterContext('after');
        timing.leaveContext();
        res.end('served');
      });
      const root = tree as Tree;
      expect(root.contexts_dropped).to.equal(200 - 128 + 1);
      expect(root).to.not.have.property('dangling');
      expect(root.child).to.have.keys('rewrite', 'c0', 'after', 'header_filter');
    } finally {
      unhook();
    }
  });
});

describe('hardening: RequestDebugSampler', () => {
  for (const [name, base] of [
    ['undefined', undefined],
    ['null', null],
    ['an object without shouldSample', {}],
    ['a string', 'always_on'],
  ] as [string, unknown][]) {
    it(`refuses ${name} as its base sampler with a TypeError naming the argument`, () => {
      expect(() => new RequestDebugSampler(base as AlwaysOnSampler)).to.throw(TypeError, /^base must be a Sampler/);
    });
  }

  it('accepts a sampler', () => {
    expect(new RequestDebugSampler(new AlwaysOnSampler()).toString()).to.equal('RequestDebugSampler{AlwaysOnSampler}');
  });
});
