import { expect } from 'chai';
import { runScript } from '../helpers/run-node';

/**
 * Issue 9, item 3: a handler that returns a rejected promise (an async
 * handler that throws) or a thenable that fails is reported like a throw;
 * under Node's default unhandled-rejection mode it would end the process.
 */

const CHILD = String.raw`
const { diag, DiagLogLevel } = require('@opentelemetry/api');
const warnings = [];
const record = (message) => warnings.push(message);
diag.setLogger({ error: record, warn: record, info() {}, debug() {}, verbose() {} }, DiagLogLevel.WARN);
const { alwaysEnable, hook, hookFunction, runHook } = require('./src');

const rejects = (what) => async () => {
  await null;
  throw new Error('async ' + what);
};
const results = {};
const target = {
  double(x) {
    return x * 2;
  },
  fail() {
    throw new Error('host failure');
  },
  later(x) {
    return Promise.resolve(x + 1);
  },
  thenables(x) {
    return x;
  },
};
hookFunction('async_group', target, 'double', 1, { befores: [rejects('before')], afters: [rejects('after')] });
hookFunction('async_group', target, 'fail', 0, { errors: [rejects('error')] });
hookFunction('async_group', target, 'later', 1, { afters: [rejects('promise after')] }, { name: 'target.later' });
hookFunction('async_group', target, 'thenables', 1, {
  befores: [
    () => ({ then(_resolve, reject) { reject(new Error('thenable rejects')); } }),
    () => ({ get then() { throw new Error('then getter throws'); } }),
    () => ({ then() { throw new Error('then throws'); } }),
    () => Object.assign(Promise.reject(new Error('native rejects, own then throws')), {
      then() { throw new Error('own then'); },
    }),
  ],
});
hook('async_group', 'named', rejects('named'));
alwaysEnable('async_group');

results.double = target.double(21);
try {
  target.fail();
} catch (error) {
  results.fail = error.message;
}
results.thenables = target.thenables(5);
results.named = typeof runHook('async_group', 'named');
target.later(1).then((value) => {
  results.later = value;
});
setTimeout(() => {
  console.log(JSON.stringify({ results, warnings, survived: true }));
}, 200);
`;

describe('hardening: async handlers (core)', () => {
  it('reports rejections of handlers with the group and hook names; the process survives', async () => {
    const output = JSON.parse(await runScript(CHILD)) as {
      results: Record<string, unknown>;
      warnings: string[];
      survived: boolean;
    };
    expect(output.survived).to.equal(true);
    expect(output.results).to.deep.equal({
      double: 42,
      fail: 'host failure',
      thenables: 5,
      named: 'object',
      later: 2,
    });
    const expected: [string, string][] = [
      ['async_group.before:double', 'async before'],
      ['async_group.after:double', 'async after'],
      ['async_group.error:fail', 'async error'],
      ['async_group.after:target.later', 'async promise after'],
      ['async_group.before:thenables[0]', 'thenable rejects'],
      ['async_group.before:thenables[1]', 'then getter throws'],
      ['async_group.before:thenables[2]', 'then throws'],
      ['async_group.before:thenables[3]', 'native rejects, own then throws'],
      ['async_group.named', 'async named'],
    ];
    for (const [hookName, message] of expected) {
      const found = output.warnings.filter((w) => w.includes(`failed to run dynamic hook ${hookName}: `));
      expect(found, hookName).to.have.length(1);
      expect(found[0]).to.include(message);
    }
    expect(output.warnings).to.have.length(expected.length);
  });
});
