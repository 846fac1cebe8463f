import { expect } from 'chai';
import { TimingNode } from '../../src/timing/timing-tree';

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

/** A small deterministic generator (mulberry32), so a failure reproduces. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('timing tree JSON', () => {
  it('writes what JSON.stringify writes of the tree object, awkward names and keys included', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = seeded(seed);
      const root = new TimingNode('', undefined);
      root.setProp('request_id', `r${seed}`);
      if (random() < 0.5) root.setProp('7', true);
      grow(root, 3, random);
      expect(root.toJSONString(), `seed ${seed}`).to.equal(JSON.stringify(root.toJSON()));
    }
  });

  it('writes a root without contexts or props as {}', () => {
    const root = new TimingNode('', undefined);
    expect(root.toJSONString()).to.equal('{}');
    expect(JSON.stringify(root.toJSON())).to.equal('{}');
  });
});
