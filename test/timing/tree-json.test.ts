import { expect } from 'chai';
import { TimingNode } from '../../src/timing/timing-tree';
import { prng } from '../helpers/prng';

/** Names that JavaScript objects list out of insertion order, or not at all, and ones JSON escapes. */
const AWKWARD = [
  'b',
  '10',
  '2',
  '__proto__',
  '0',
  '01',
  '4294967294',
  '4294967295',
  '-1',
  'ünï',
  '"q"\\',
  '\u2028',
  'tab\there',
  '\u0007',
  'lone \ud83d',
  '\ude00 lone',
  '😀',
  'total_time',
  'child',
  '',
];

function grow(node: TimingNode, depth: number, random: () => number): void {
  const width = 1 + Math.floor(random() * 5);
  for (let i = 0; i < width; i++) {
    const name = AWKWARD[Math.floor(random() * AWKWARD.length)] || `n${i}`;
    const child = node.child(name);
    child.totalTime += random() * 10;
    if (random() < 0.4) child.setProp(AWKWARD[Math.floor(random() * AWKWARD.length)] || 'k', random() < 0.5 ? 'v' : 7);
    if (random() < 0.2) child.setProp('downstream', [{ total_time: 1, child: { '1': { total_time: 0 } } }]);
    if (depth > 0 && random() < 0.5) grow(child, depth - 1, random);
  }
}

describe('timing tree JSON', () => {
  it('writes what JSON.stringify writes of the tree object, awkward names and keys included', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = prng(seed);
      const root = new TimingNode('', undefined);
      root.setProp('request_id', `r${seed}`);
      if (random() < 0.5) root.setProp('7', true);
      grow(root, 3, random);
      expect(root.toJSONString(), `seed ${seed}`).to.equal(JSON.stringify(root.toJSON()));
    }
  });

  it('writes large trees, times of every kind and text outside ASCII as JSON.stringify does', () => {
    const random = prng(7);
    const root = new TimingNode('', undefined);
    root.setProp('request_id', 'big');
    const parent = root.addChild('bench');
    const times = [
      0,
      -0,
      -1.234,
      0.004,
      0.005,
      0.015,
      1.005,
      9.995,
      10,
      99.99,
      1e13,
      1e15,
      1e300,
      NaN,
      Infinity,
      -Infinity,
    ];
    for (let i = 0; i < 5_000; i++) {
      const name = i % 97 === 0 ? `é ${i} 😀` : i % 89 === 0 ? `q"${i}\\` : `context_${i}_${'x'.repeat(i % 40)}`;
      const child = parent.addChild(name);
      child.totalTime = i < times.length ? times[i] : random() * 10 ** Math.floor(random() * 8);
      if (i % 50 === 0) child.setProp('note', i % 100 === 0 ? 'ünï' : 'plain');
    }
    const json = root.toJSONString();
    expect(json.length).to.be.greaterThan(200_000);
    expect(json).to.equal(JSON.stringify(root.toJSON()));
    // The buffer let go of its large capacity and starts over for the next output.
    const small = new TimingNode('', undefined);
    small.addChild('a').totalTime = 1.5;
    expect(small.toJSONString()).to.equal('{"child":{"a":{"total_time":1.5}}}');
  });

  it('starts the next output clean after one that threw', () => {
    const broken = new TimingNode('', undefined);
    broken.addChild('a').setProp('big', BigInt(1));
    expect(() => broken.toJSONString()).to.throw(TypeError);
    const root = new TimingNode('', undefined);
    root.addChild('b').totalTime = 2;
    expect(root.toJSONString()).to.equal('{"child":{"b":{"total_time":2}}}');
  });

  it('writes a root without contexts or props as {}', () => {
    const root = new TimingNode('', undefined);
    expect(root.toJSONString()).to.equal('{}');
    expect(JSON.stringify(root.toJSON())).to.equal('{}');
  });
});
