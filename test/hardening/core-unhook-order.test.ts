import { expect } from 'chai';
import { alwaysEnable, disableByDefault, hookFunction, type Unhook } from '../../src';
import { prng } from '../helpers/prng';

/** Issue 9, item 4: unhooking in any order restores a chain whose depth does not grow. */

let seq = 0;
function freshGroup(): string {
  return `core-unhook-order-${++seq}`;
}

function shuffled<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** How many frames the stack holds where it is called (the whole stack, not the default 10). */
function stackDepth(): number {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = Infinity;
  try {
    return (new Error().stack ?? '').split('\n').length;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

interface Holder {
  f(this: Holder, x: number): { depth: number; self: Holder; x: number };
}

function makeHolder(): { holder: Holder; original: Holder['f'] } {
  const original = function (this: Holder, x: number) {
    return { depth: stackDepth(), self: this, x };
  };
  return { holder: { f: original }, original };
}

/** The stack depth the original sees when called through `holder.f`, minus what it sees called directly. */
function extraFrames(holder: Holder, original: Holder['f']): number {
  const direct = original.call(holder, 1).depth;
  const result = holder.f(7);
  expect(result.self).to.equal(holder);
  expect(result.x).to.equal(7);
  return result.depth - direct;
}

describe('hardening: unhook order (core)', function () {
  this.timeout(60_000);

  it('hook A, hook B, unhook A, unhook B, 25,000 times: the original is back, the call works', () => {
    const { holder, original } = makeHolder();
    const a = freshGroup();
    const b = freshGroup();
    alwaysEnable(a);
    // Past ~20,000 cycles, a chain that grows by one forwarder per cycle overflows the stack.
    for (let i = 0; i < 25_000; i++) {
      const unhookA = hookFunction(a, holder, 'f', 1, {});
      const unhookB = hookFunction(b, holder, 'f', 1, {});
      unhookA();
      unhookB();
    }
    disableByDefault(a);
    expect(holder.f).to.equal(original);
    expect(extraFrames(holder, original)).to.equal(0);
  });

  it('50,000 cycles in random orders, enabled and dormant: the chain depth stays that of the live hooks', () => {
    const random = prng(0x9e3779b9);
    const { holder, original } = makeHolder();
    const groups = [freshGroup(), freshGroup(), freshGroup()];
    alwaysEnable(groups[0]);
    const runs: number[] = [];
    let live: { unhook: Unhook; id: number }[] = [];
    let depthWithOne: number | undefined;
    for (let cycle = 0; cycle < 50_000; cycle++) {
      const id = cycle;
      const unhook = hookFunction(groups[cycle % 3], holder, 'f', 1, { befores: [() => runs.push(id)] });
      live.push({ unhook, id });
      // Unhook a random subset of what is live, in random order, keeping at most 3 live.
      const keep = Math.floor(random() * 3);
      const order = shuffled(live, random);
      for (const hooked of order.slice(keep)) hooked.unhook();
      live = order.slice(0, keep);
      if (cycle % 5_000 === 0 || cycle === 49_999) {
        runs.length = 0;
        const extra = extraFrames(holder, original);
        const wrappers = live.length;
        // Only live hooks of the enabled group run, each once, newest first.
        const expected = live
          .filter((hooked) => hooked.id % 3 === 0)
          .map((hooked) => hooked.id)
          .sort((x, y) => y - x);
        expect(runs).to.deep.equal(expected);
        if (wrappers === 0) expect(extra).to.equal(0);
        if (wrappers === 1) {
          depthWithOne ??= extra;
          expect(extra).to.be.at.most(depthWithOne + 8);
        }
        // Each live wrapper costs a few frames, enabled or not; retired ones none.
        expect(extra).to.be.at.most(wrappers * 8);
      }
    }
    for (const hooked of live) hooked.unhook();
    disableByDefault(groups[0]);
    expect(holder.f).to.equal(original);
    expect(extraFrames(holder, original)).to.equal(0);
  });

  it('rolling replacement (hook the new one, then unhook the old one) keeps one wrapper', () => {
    const { holder, original } = makeHolder();
    const group = freshGroup();
    let unhookOld = hookFunction(group, holder, 'f', 1, {});
    const oneWrapper = extraFrames(holder, original);
    expect(oneWrapper).to.be.greaterThan(0);
    for (let i = 0; i < 5_000; i++) {
      const unhookNew = hookFunction(group, holder, 'f', 1, {});
      unhookOld();
      unhookOld = unhookNew;
    }
    expect(extraFrames(holder, original)).to.equal(oneWrapper);
    unhookOld();
    expect(holder.f).to.equal(original);
  });

  it('leaves a foreign (shimmer-style) wrapper in between in place, working, and the depth bounded', () => {
    const { holder, original } = makeHolder();
    const a = freshGroup();
    const b = freshGroup();
    alwaysEnable(a);
    alwaysEnable(b);
    let aRuns = 0;
    let foreignRuns = 0;
    let bRuns = 0;
    const unhookA = hookFunction(a, holder, 'f', 1, { befores: [() => aRuns++] });
    const ours = holder.f;
    const foreign = function (this: Holder, x: number) {
      foreignRuns++;
      return ours.call(this, x);
    };
    holder.f = foreign;
    unhookA();
    expect(holder.f).to.equal(foreign);
    const withForeign = extraFrames(holder, original);
    expect(foreignRuns).to.equal(1);
    expect(aRuns).to.equal(0);

    const random = prng(42);
    for (let i = 0; i < 5_000; i++) {
      const first = hookFunction(b, holder, 'f', 1, { befores: [() => bRuns++] });
      const second = hookFunction(a, holder, 'f', 1, {});
      if (random() < 0.5) {
        first();
        second();
      } else {
        second();
        first();
      }
    }
    expect(holder.f).to.equal(foreign);
    foreignRuns = 0;
    expect(extraFrames(holder, original)).to.equal(withForeign);
    expect(foreignRuns).to.equal(1);
    expect(aRuns).to.equal(0);
    expect(bRuns).to.equal(0);
    disableByDefault(a);
    disableByDefault(b);
  });

  it('a hook under a foreign wrapper, unhooked first, is skipped once the foreign wrapper puts it back', () => {
    const { holder, original } = makeHolder();
    const group = freshGroup();
    for (let i = 0; i < 5_000; i++) {
      const unhook = hookFunction(group, holder, 'f', 1, {});
      const ours = holder.f;
      holder.f = function (this: Holder, x: number) {
        return ours.call(this, x);
      };
      unhook();
      // The foreign wrapper unwraps itself (shimmer's unwrap): ours, retired, is back on top.
      holder.f = ours;
    }
    const unhook = hookFunction(group, holder, 'f', 1, {});
    expect(extraFrames(holder, original)).to.be.at.most(8);
    unhook();
    expect(holder.f).to.equal(original);
  });

  it('restores an inherited method by removing the own property, whatever the order', () => {
    class Base {
      f(x: number) {
        return x + 1;
      }
    }
    const instance = new Base();
    const a = freshGroup();
    const b = freshGroup();
    for (let i = 0; i < 1_000; i++) {
      const unhookA = hookFunction(a, instance, 'f', 1, {});
      const unhookB = hookFunction(b, instance, 'f', 1, {});
      if (i % 2 === 0) {
        unhookA();
        unhookB();
      } else {
        unhookB();
        unhookA();
      }
    }
    expect(Object.prototype.hasOwnProperty.call(instance, 'f')).to.equal(false);
    expect(instance.f(1)).to.equal(2);
  });
});
