import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, runNode } from '../helpers/run-node';

interface Outcome {
  readonly code: number;
  readonly output: string;
}

function run(file: string, args: readonly string[], cwd: string): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(file, [...args], { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

const TSC = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const RESOLUTIONS = {
  node16: ['--module', 'node16', '--moduleResolution', 'node16'],
  bundler: ['--module', 'esnext', '--moduleResolution', 'bundler'],
  node10: ['--module', 'commonjs', '--moduleResolution', 'node10', '--ignoreDeprecations', '6.0'],
} as const;

/**
 * Type-checks files of the consumer app as a user's tsc would (their own
 * types, the package's as shipped; `libCheck` checks the package's
 * declaration files too, which is slower).
 */
function typeCheck(
  app: string,
  files: readonly string[],
  resolution: keyof typeof RESOLUTIONS,
  options: { outDir?: string; libCheck?: boolean } = {},
): Promise<Outcome> {
  const emit = options.outDir === undefined ? ['--noEmit'] : ['--outDir', options.outDir];
  const lib = ['--skipLibCheck', options.libCheck === true ? 'false' : 'true'];
  const args = [TSC, ...RESOLUTIONS[resolution], '--strict', ...lib, '--types', 'node', ...emit];
  return run(process.execPath, [...args, ...files], app);
}

/** The lines of tsc's output that report errors, file(line,column) first. */
function errors(outcome: Outcome): string[] {
  return outcome.output.split('\n').filter((line) => /error TS\d+/.test(line));
}

const DEFAULT_IMPORT_ERROR = /^default\.mts\(1,8\): error TS1192: .* has no default export\.$/;

// The package as `npm pack` ships it, unpacked into an app's node_modules
// next to the project's own dependencies (linked, so no network is needed).
describe('package types, as an installed package', function () {
  this.timeout(120_000);
  let work: string;
  let app: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'dynamic-hooks-types-'));
    app = join(work, 'app');
    const installed = join(app, 'node_modules', 'dynamic-hooks');
    mkdirSync(installed, { recursive: true });
    const pack = await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], PROJECT_ROOT);
    expect(pack.code, pack.output).to.equal(0);
    const tarball = join(work, pack.output.trim().split('\n').pop() ?? '');
    const untar = await run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1'], work);
    expect(untar.code, untar.output).to.equal(0);
    for (const entry of readdirSync(join(PROJECT_ROOT, 'node_modules'))) {
      if (entry.startsWith('.') || entry === 'dynamic-hooks') continue;
      symlinkSync(join(PROJECT_ROOT, 'node_modules', entry), join(app, 'node_modules', entry));
    }
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
    writeFileSync(
      join(app, 'named.mts'),
      `
      import { alwaysEnable, hookFunction, isGroupEnabled, type GroupInfo } from 'dynamic-hooks';
      import { getTimingInstrumentations } from 'dynamic-hooks/instrumentations';
      import type { forceFlush } from 'dynamic-hooks/register';
      const target = { greet: (name: string) => 'hi ' + name };
      const seen: string[] = [];
      hookFunction('consumer', target, 'greet', 1, { befores: [(name: unknown) => void seen.push(String(name))] });
      alwaysEnable('consumer');
      const flush: typeof forceFlush | undefined = undefined;
      const groups: GroupInfo[] = [];
      console.log(JSON.stringify([target.greet('world'), seen, isGroupEnabled('consumer'),
        getTimingInstrumentations().length > 0, flush ?? null, groups]));
      `,
    );
    const defaultImport = `import lib from 'dynamic-hooks';\nlib.alwaysEnable('x');\n`;
    writeFileSync(join(app, 'default.mts'), defaultImport);
    writeFileSync(join(app, 'default.mjs'), defaultImport);
    writeFileSync(
      join(app, 'required.cts'),
      `
      import lib = require('dynamic-hooks');
      import instrumentations = require('dynamic-hooks/instrumentations');
      import type register = require('dynamic-hooks/register');
      lib.alwaysEnable('c');
      const flush: typeof register.forceFlush | undefined = undefined;
      console.log(JSON.stringify([lib.isGroupEnabled('c'), instrumentations.getTimingInstrumentations().length > 0, flush ?? null]));
      `,
    );
    writeFileSync(
      join(app, 'node10.ts'),
      `
      import { isGroupEnabled } from 'dynamic-hooks';
      import { getTimingInstrumentations } from 'dynamic-hooks/instrumentations';
      import { forceFlush } from 'dynamic-hooks/register';
      export const checks: [boolean, unknown[], () => Promise<void>] = [isGroupEnabled('x'), getTimingInstrumentations(), forceFlush];
      `,
    );
  });

  after(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('type-checks named imports from ESM and require() from CommonJS (node16), rejects a default import; both run', async () => {
    const checked = await typeCheck(app, ['named.mts', 'required.cts', 'default.mts'], 'node16', {
      outDir: 'out',
      libCheck: true,
    });
    const reported = errors(checked);
    expect(reported, checked.output).to.have.lengthOf(1);
    expect(reported[0]).to.match(DEFAULT_IMPORT_ERROR);
    expect(JSON.parse(await runNode([join(app, 'out', 'named.mjs')], app))).to.deep.equal([
      'hi world',
      ['world'],
      true,
      true,
      null,
      [],
    ]);
    expect(JSON.parse(await runNode([join(app, 'out', 'required.cjs')], app))).to.deep.equal([true, true, null]);
  });

  it('fails a default import from ESM at run time, as the type-check says', async () => {
    const ran = await run(process.execPath, [join(app, 'default.mjs')], app);
    expect(ran.code).to.not.equal(0);
    expect(ran.output).to.include("does not provide an export named 'default'");
  });

  it('type-checks named imports under bundler resolution and rejects a default import', async () => {
    const checked = await typeCheck(app, ['named.mts', 'default.mts'], 'bundler');
    const reported = errors(checked);
    expect(reported, checked.output).to.have.lengthOf(1);
    expect(reported[0]).to.match(DEFAULT_IMPORT_ERROR);
  });

  it('resolves every entry point under moduleResolution node10', async () => {
    const checked = await typeCheck(app, ['node10.ts'], 'node10');
    expect(checked.output).to.equal('');
    expect(checked.code).to.equal(0);
  });
});
