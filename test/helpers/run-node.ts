import { execFile } from 'node:child_process';
import { join } from 'node:path';

/** The project's root folder. */
export const PROJECT_ROOT = join(__dirname, '..', '..');

/**
 * Runs a script in a fresh Node process (the same binary as the tests) and
 * resolves with its stdout; rejects with stderr if it exits non-zero.
 */
export function runNode(args: readonly string[], cwd = PROJECT_ROOT): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...args], { cwd, timeout: 30_000 }, (error, stdout, stderr) => {
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
