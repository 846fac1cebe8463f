import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Background, Outcome, SnippetApp } from './snippet-app';

/** Install commands in a run block are skipped: the snippets run against the project's installed packages. */
const INSTALL = /^npm (install|i|ci)\b/;

/** The commands of a shell block: `\`-continued lines joined, blank and comment lines dropped. */
export function shellCommands(code: string): string[] {
  const commands: string[] = [];
  let pending = '';
  for (const line of code.split('\n')) {
    if (pending === '' && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      continue;
    }
    commands.push((pending + line).trim());
    pending = '';
  }
  if (pending !== '') commands.push(pending.trim());
  return commands;
}

/**
 * Runs the commands of one shell block in order, each in bash, in the
 * snippet app's folder with its ports mapped: `run` for a command that ends,
 * `start` for one that keeps running ("in another terminal"). Variables a
 * command exports reach the next ones, as in one terminal. Each call names
 * the command it expects next, so a spec cannot drift from its block; `done`
 * fails if a command was left out.
 */
export class ShellSession {
  private readonly commands: string[];
  private next = 0;
  private env: NodeJS.ProcessEnv;
  private readonly scratch: string;

  constructor(
    private readonly app: SnippetApp,
    code: string,
    env: NodeJS.ProcessEnv = {},
  ) {
    this.commands = shellCommands(code);
    this.scratch = mkdtempSync(join(app.dir, '.shell-'));
    this.env = { ...env };
  }

  /** Runs the next command, which must match `expected`, to its end. */
  async run(expected: RegExp): Promise<Outcome & { readonly command: string }> {
    const command = this.take(expected);
    const envFile = join(this.scratch, `env-${this.next}`);
    const script = 'eval "$1"; status=$?; env -0 > "$2"; exit $status';
    const outcome = await this.app.run('bash', ['-c', script, 'snippet', command, envFile], this.env);
    this.env = Object.fromEntries(
      readFileSync(envFile, 'utf8')
        .split('\0')
        .filter((entry) => entry.includes('='))
        .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
    );
    return { ...outcome, command };
  }

  /** Starts the next command, which must match `expected`, and leaves it running. */
  start(expected: RegExp): Background {
    return this.app.start('bash', ['-c', this.take(expected)], this.env);
  }

  /** Fails unless every command of the block ran. */
  done(): void {
    this.skipInstalls();
    if (this.next < this.commands.length) {
      throw new Error(`commands of the block never ran: ${this.commands.slice(this.next).join(' | ')}`);
    }
    rmSync(this.scratch, { recursive: true, force: true });
  }

  private take(expected: RegExp): string {
    this.skipInstalls();
    const command = this.commands[this.next];
    if (command === undefined) throw new Error(`the block has no command left for ${String(expected)}`);
    if (!expected.test(command)) throw new Error(`next command ${JSON.stringify(command)} does not match ${expected}`);
    this.next++;
    return this.app.substitute(command);
  }

  private skipInstalls(): void {
    while (INSTALL.test(this.commands[this.next] ?? '')) this.next++;
  }
}
