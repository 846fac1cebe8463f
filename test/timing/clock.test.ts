import { expect } from 'chai';
import { hrTime } from '@opentelemetry/core';
import { now, toHrTime } from '../../src/timing/clock';

describe('timing clock', () => {
  it("stamps a monotonic reading as @opentelemetry/core's hrTime does", () => {
    for (const ms of [0, 0.0004, 1.5, 999.9999999, 1000, 123456.789, now()]) {
      expect(toHrTime(ms), `${ms} ms`).to.deep.equal(hrTime(ms));
    }
  });

  it('keeps the order and the distance of readings', () => {
    const a = now();
    const b = a + 12.34567;
    const [sa, na] = toHrTime(a);
    const [sb, nb] = toHrTime(b);
    const distance = (sb - sa) * 1e9 + (nb - na);
    expect(Math.abs(distance - 12_345_670)).to.be.at.most(2);
    expect(toHrTime(b)[1]).to.be.below(1e9);
  });
});
