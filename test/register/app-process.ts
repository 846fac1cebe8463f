import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../helpers/run-node';

/** How a spawned application ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * A real application process started by `node <nodeArgs> <script>`, by
 * default from the project root, where `dynamic-hooks` resolves to the
 * package itself (through its `exports`, so to the built `dist/`).
 */
export class AppProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<Exit>;
  stdout = '';
  stderr = '';

  constructor(nodeArgs: readonly string[], env: NodeJS.ProcessEnv, cwd = PROJECT_ROOT) {
    this.child = spawn(process.execPath, [...nodeArgs], {
      cwd,
      env: { ...withoutTelemetryVariables(process.env), ...env },
    });
    this.child.stdout.on('data', (chunk) => (this.stdout += String(chunk)));
    this.child.stderr.on('data', (chunk) => (this.stderr += String(chunk)));
    this.exited = once(this.child, 'exit').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
    }));
  }

  /** Waits until stdout matches `pattern`; fails with the output if the app exits or takes too long. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.stdout);
      if (match) return match;
      if (this.child.exitCode !== null || this.child.signalCode !== null || Date.now() > deadline) {
        throw new Error(`no ${pattern} from the app; stdout: ${this.stdout}\nstderr: ${this.stderr}`);
      }
      await sleep(10);
    }
  }

  /** The URL of the app's `ready <url>` line. */
  async ready(): Promise<string> {
    return (await this.waitFor(/ready (\S+)/))[1];
  }

  /** Kills the process if it still runs (clean-up after a failed test). */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** The runner's own OTEL_* and DYNAMIC_HOOKS_* variables must not reach the apps. */
function withoutTelemetryVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(([name]) => !name.startsWith('OTEL_') && !name.startsWith('DYNAMIC_HOOKS_')),
  );
}
