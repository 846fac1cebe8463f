// What the primary's relay accepts from a worker: only our tagged messages,
// only the endpoint's three operations, each field checked for type and size.
import { expect } from 'chai';
import {
  envelope,
  MAX_GROUP_NAME,
  MAX_REMEMBERED_SWITCHES,
  readApplied,
  readRequest,
  readRestore,
  TAG,
} from '../../src/admin/cluster-protocol';

const request = (fields: Record<string, unknown>) =>
  envelope({ type: 'request', id: 'w1-1', timeoutMs: 1000, op: { action: 'list' }, ...fields });

describe('admin cluster messages: what the relay accepts', () => {
  it('accepts the three operations and rebuilds them from the checked fields only', () => {
    expect(readRequest(request({}))?.op).to.deep.equal({ action: 'list' });
    expect(readRequest(request({ op: { action: 'get', group: 'g', extra: 1 } }))?.op).to.deep.equal({
      action: 'get',
      group: 'g',
    });
    const set = readRequest(
      request({ op: { action: 'set', group: 'g', alwaysEnabled: true, via: 'PUT', __proto__: { x: 1 } } }),
    );
    expect(set?.op).to.deep.equal({ action: 'set', group: 'g', alwaysEnabled: true, via: 'PUT' });
  });

  it("ignores the application's own messages and other protocol versions", () => {
    for (const message of [
      'hello',
      null,
      [request({})],
      { type: 'request', id: 'w1-1', timeoutMs: 1000, op: { action: 'list' } },
      { ...request({}), [TAG]: 2 },
    ]) {
      expect(readRequest(message)).to.equal(undefined);
    }
  });

  it('refuses wrong types, oversized fields, unknown actions and out-of-range timeouts', () => {
    const bad: Record<string, unknown>[] = [
      { id: '../etc' },
      { id: 'x'.repeat(65) },
      { id: 7 },
      { timeoutMs: 0 },
      { timeoutMs: 60_001 },
      { timeoutMs: 1.5 },
      { timeoutMs: '1000' },
      { op: { action: 'delete', group: 'g' } },
      { op: { action: 'get', group: '' } },
      { op: { action: 'get', group: 'g'.repeat(MAX_GROUP_NAME + 1) } },
      { op: { action: 'set', group: 'g', alwaysEnabled: 'true', via: 'PUT' } },
      { op: { action: 'set', group: 'g', alwaysEnabled: true, via: 'v'.repeat(257) } },
      { op: 'list' },
    ];
    for (const fields of bad) expect(readRequest(request(fields)), JSON.stringify(fields)).to.equal(undefined);
  });

  it("checks a worker's result as a group list, one group, or an unknown group", () => {
    const group = { name: 'g', alwaysEnabled: true, enabledScopes: 0, hooks: ['h'], hookedFunctions: [] };
    expect(readApplied(envelope({ type: 'applied', id: 'r1-1', result: { group } }))?.result).to.deep.equal({ group });
    expect(
      readApplied(envelope({ type: 'applied', id: 'r1-1', result: { group: { ...group, hooks: [1] } } })),
    ).to.equal(undefined);
    expect(readApplied(envelope({ type: 'applied', id: 'r1-1', result: { groups: 'all' } }))).to.equal(undefined);
  });

  it('bounds the switches restored to a starting worker', () => {
    expect(readRestore(envelope({ type: 'restore', switches: [['g', true]] }))).to.deep.equal([['g', true]]);
    const many = Array.from({ length: MAX_REMEMBERED_SWITCHES + 1 }, (_, i) => [`g${i}`, true]);
    expect(readRestore(envelope({ type: 'restore', switches: many }))).to.equal(undefined);
    expect(readRestore(envelope({ type: 'restore', switches: [['g', 'on']] }))).to.equal(undefined);
  });
});
