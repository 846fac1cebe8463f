import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../helpers/run-node';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const base = {
    PATH: process.env.PATH,
    OTEL_TRACES_EXPORTER: 'none',
    OTEL_METRICS_EXPORTER: 'none',
    OTEL_LOGS_EXPORTER: 'none',
    DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: 'missing-peer-token',
  };
  return new Promise((resolve) => {
    execFile(process.execPath, [...args], { cwd, env: { ...base, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

// An application folder that has dynamic-hooks (a copy of the built package)
// and every package this project has installed, except the OpenFeature ones
// (optional peers, needed only when flags are configured).
describe('debug rules without @openfeature packages installed', () => {
  let app: string;
  const installed = join(PROJECT_ROOT, 'node_modules');

  before(() => {
    app = mkdtempSync(join(tmpdir(), 'dynamic-hooks-no-openfeature-'));
    const copy = join(app, 'node_modules', 'dynamic-hooks');
    mkdirSync(copy, { recursive: true });
    cpSync(join(PROJECT_ROOT, 'package.json'), join(copy, 'package.json'));
    cpSync(join(PROJECT_ROOT, 'dist'), join(copy, 'dist'), { recursive: true });
    for (const name of readdirSync(installed)) {
      if (name.startsWith('.') || name === '@openfeature' || name === 'dynamic-hooks') continue;
      symlinkSync(join(installed, name), join(app, 'node_modules', name));
    }
    writeFileSync(join(app, 'flags.json'), JSON.stringify({ flags: {} }));
  });
  after(() => {
    rmSync(app, { recursive: true, force: true });
  });

  it('loads the library and starts zero-code without flags configured', async () => {
    const result = await run(app, [
      '--require',
      'dynamic-hooks/register',
      '-e',
      'require("dynamic-hooks"); console.log("app ran")',
    ]);
    expect(result.stdout).to.include('app ran');
    expect(result.stderr).to.equal('');
  });

  it('says what to install when DYNAMIC_HOOKS_FLAGS_FILE is set, and runs the application', async () => {
    const result = await run(app, ['--require', 'dynamic-hooks/register', '-e', 'console.log("app ran")'], {
      DYNAMIC_HOOKS_FLAGS_FILE: join(app, 'flags.json'),
    });
    expect(result.code).to.equal(0);
    expect(result.stdout).to.include('app ran');
    expect(result.stderr).to.include('[dynamic-hooks] DYNAMIC_HOOKS_FLAGS_FILE ignored:');
    expect(result.stderr).to.include('npm install @openfeature/flagd-core');
  });

  it('throws from debugRulesFromFlags with what to install', async () => {
    const result = await run(app, [
      '-e',
      `try { require("dynamic-hooks").debugRulesFromFlags({ file: "flags.json" }) } catch (e) { console.log(e.message) }`,
    ]);
    expect(result.stdout).to.include('npm install @openfeature/flagd-core');
  });
});
