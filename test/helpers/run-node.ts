import { execFile } from 'node:child_process';
import { join } from 'node:path';

/** The project's root folder. */
export const PROJECT_ROOT = join(__dirname, '..', '..');

/**
 * Runs a script in a fresh Node process (the same binary as the tests) and
 * resolves with its stdout; rejects with stderr if it exits non-zero.
 */
export function runNode(args: readonly string[], cwd = PROJECT_ROOT, env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const options = { cwd, timeout: 30_000, env: { ...process.env, ...env } };
    execFile(process.execPath, [...args], options, (error, stdout, stderr) => {
      if (error) reject(new Error(`node ${args.join(' ')} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/**
 * Runs a CommonJS snippet in a fresh process, with tsx registered so that
 * it can `require()` the project's TypeScript sources.
 */
export function runScript(source: string): Promise<string> {
  return runNode(['--require', 'tsx', '-e', source]);
}
