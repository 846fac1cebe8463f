import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, runNode } from '../helpers/run-node';

// The built package, as a user installs it (npm run build, which `npm test` runs first).
describe('package consumers', () => {
  before(function () {
    if (!existsSync(join(PROJECT_ROOT, 'dist', 'src', 'index.js'))) {
      throw new Error('dist/ is missing: run `npm run build` (npm test does it through pretest)');
    }
  });

  const program = (load: string) => `
    ${load}
    const { dynamicHook } = lib;
    const target = { greet: (name) => 'hi ' + name };
    const seen = [];
    lib.hookFunction('consumer', target, 'greet', 1, { befores: [(name) => seen.push(name)] });
    target.greet('dormant');
    dynamicHook.alwaysEnable('consumer');
    console.log(JSON.stringify({ result: target.greet('world'), seen, same: dynamicHook.hookFunction === lib.hookFunction }));
  `;

  it('can be required from CommonJS by its package name', async () => {
    const out = await runNode(['-e', program(`const lib = require('dynamic-hooks');`)]);
    expect(JSON.parse(out)).to.deep.equal({ result: 'hi world', seen: ['world'], same: true });
  });

  it('can be imported from ESM by its package name', async () => {
    const out = await runNode(['--input-type=module', '-e', program(`import * as lib from 'dynamic-hooks';`)]);
    expect(JSON.parse(out)).to.deep.equal({ result: 'hi world', seen: ['world'], same: true });
  });

  it('shares one state between import and require', async () => {
    const out = await runNode([
      '--input-type=module',
      '-e',
      `
      import { createRequire } from 'node:module';
      import { alwaysEnable } from 'dynamic-hooks';
      const required = createRequire(import.meta.url)('dynamic-hooks');
      alwaysEnable('shared');
      console.log(JSON.stringify(required.isGroupEnabled('shared')));
      `,
    ]);
    expect(JSON.parse(out)).to.equal(true);
  });
});
