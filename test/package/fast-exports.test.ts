import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { filesUnder } from '../helpers/files';
import { PROJECT_ROOT, runNode } from '../helpers/run-node';

/** The shipped CommonJS modules (the CLI's entry script, which runs when loaded, left out). */
function shippedModules(): string[] {
  return ['dist/src', 'dist/instrumentations']
    .flatMap((dir) => filesUnder(join(PROJECT_ROOT, dir)))
    .filter((path) => path.endsWith('.js') && !readFileSync(path, 'utf8').startsWith('#!'));
}

describe('the CommonJS build keeps its exports objects fast (scripts/fast-exports.mjs)', function () {
  this.timeout(60_000);

  it('no module of dist/ leaves its exports in dictionary mode', async () => {
    const modules = shippedModules();
    expect(modules.length).to.be.above(50);
    // In a fresh process: V8 reports whether each exports object has fast
    // properties. A re-export declared up front and then redefined as a
    // getter (what tsc emits) turns its module's exports into a dictionary.
    const script = `
      const slow = [];
      for (const path of ${JSON.stringify(modules)}) {
        if (!%HasFastProperties(require(path))) slow.push(path);
      }
      console.log(JSON.stringify(slow));`;
    const stdout = await runNode(['--allow-natives-syntax', '-e', script]);
    const slow = JSON.parse(stdout.trim().split('\n').pop() ?? '[]') as string[];
    expect(slow.map((path) => relative(PROJECT_ROOT, path))).to.deep.equal([]);
  });

  it('re-exports still read their modules’ values, and the entry lists every export', async () => {
    const script = `
      const index = require('./dist/src/index.js');
      const debugRequest = require('./dist/src/timing/debug-request.js');
      const requestSpans = require('./dist/src/timing/request-spans.js');
      console.log(JSON.stringify({
        same: debugRequest.DEBUG_ATTRIBUTE === requestSpans.DEBUG_ATTRIBUTE && typeof debugRequest.DEBUG_ATTRIBUTE === 'string',
        timing: index.timing === require('./dist/src/timing/timing-api.js').timing,
        keys: Object.keys(index).length,
        undefinedKeys: Object.keys(index).filter((key) => index[key] === undefined),
      }));`;
    const stdout = await runNode(['-e', script]);
    const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
    expect(result.same).to.equal(true);
    expect(result.timing).to.equal(true);
    expect(result.keys).to.be.above(20);
    expect(result.undefinedKeys).to.deep.equal([]);
  });
});
