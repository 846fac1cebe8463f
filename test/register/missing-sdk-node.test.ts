import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../helpers/run-node';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(cwd: string, args: readonly string[]): Promise<Run> {
  const env = { PATH: process.env.PATH, OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...args],
      { cwd, env: { ...env, OTEL_LOGS_EXPORTER: 'none' } },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

// An application folder that has dynamic-hooks (a copy of the built package)
// and every package this project has installed, except the optional peer
// @opentelemetry/sdk-node, which dynamic-hooks/register needs.
describe('dynamic-hooks/register without @opentelemetry/sdk-node', () => {
  let app: string;
  const scoped = () => join(app, 'node_modules', '@opentelemetry');
  const installed = join(PROJECT_ROOT, 'node_modules');
  const program = ['--require', 'dynamic-hooks/register', '-e', 'console.log("app ran")'];

  before(() => {
    app = mkdtempSync(join(tmpdir(), 'dynamic-hooks-register-'));
    const copy = join(app, 'node_modules', 'dynamic-hooks');
    mkdirSync(copy, { recursive: true });
    cpSync(join(PROJECT_ROOT, 'package.json'), join(copy, 'package.json'));
    cpSync(join(PROJECT_ROOT, 'dist'), join(copy, 'dist'), { recursive: true });
    for (const name of readdirSync(installed)) {
      if (name.startsWith('.') || name === '@opentelemetry' || name === 'dynamic-hooks') continue;
      symlinkSync(join(installed, name), join(app, 'node_modules', name));
    }
    mkdirSync(scoped());
    for (const name of readdirSync(join(installed, '@opentelemetry'))) {
      if (name !== 'sdk-node') symlinkSync(join(installed, '@opentelemetry', name), join(scoped(), name));
    }
  });
  after(() => {
    rmSync(app, { recursive: true, force: true });
  });

  it('stops before the application with an error that says what to install', async () => {
    const result = await run(app, program);
    expect(result.code).to.equal(1);
    expect(result.stdout).to.not.include('app ran');
    expect(result.stderr).to.include('npm install @opentelemetry/sdk-node');
  });

  it('starts once the peer is installed', async () => {
    symlinkSync(join(installed, '@opentelemetry', 'sdk-node'), join(scoped(), 'sdk-node'));
    const result = await run(app, program);
    expect(result).to.deep.include({ code: 0, stdout: 'app ran\n' });
  });
});
