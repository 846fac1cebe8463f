import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../helpers/run-node';
import { freeTcpPort } from '../helpers/free-port';

/** How a finished process ended, and what it wrote. */
export interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

const STEP_TIMEOUT_MS = 30_000;

/**
 * The environment every snippet runs in: the tests' own, with no OTLP
 * metrics or logs exporter (the snippets emit neither, and no collector
 * answers for them) and no colour.
 */
const BASE_ENV: NodeJS.ProcessEnv = {
  OTEL_METRICS_EXPORTER: 'none',
  OTEL_LOGS_EXPORTER: 'none',
  NO_COLOR: '1',
};

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A process a snippet started that keeps running (a server) until stopped. */
export class Background {
  private stdoutText = '';
  private stderrText = '';
  private readonly exited: Promise<Outcome>;
  private ended: Outcome | undefined;

  constructor(
    readonly label: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.stdoutText += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.stderrText += chunk.toString()));
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.ended = { code, signal, stdout: this.stdoutText, stderr: this.stderrText };
        resolve(this.ended);
      });
    });
  }

  get stdout(): string {
    return this.stdoutText;
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** Waits until the process accepts connections on `port`; fails if it exits first. */
  async listening(port: number): Promise<void> {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.ended !== undefined) throw new Error(`${this.label} exited before listening:\n${this.describe()}`);
      if (await canConnect(port)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${this.label} did not listen on ${port} within ${STEP_TIMEOUT_MS} ms:\n${this.describe()}`);
  }

  /**
   * Waits until the process has printed `line` on stdout (a whole line):
   * its port may accept connections before what it printed reaches us.
   * Fails if it exits first or does not print it within the step timeout.
   */
  async printed(line: string): Promise<void> {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while (!this.stdoutText.split('\n').includes(line)) {
      if (this.ended !== undefined)
        throw new Error(`${this.label} exited without printing ${line}:\n${this.describe()}`);
      if (Date.now() >= deadline)
        throw new Error(`${this.label} did not print ${line} within ${STEP_TIMEOUT_MS} ms:\n${this.describe()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Waits for the process to end on its own (killed after the step timeout). */
  async finished(): Promise<Outcome> {
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), STEP_TIMEOUT_MS);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends `signal` to the process (and what it started) and waits for it to end. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Outcome> {
    if (this.ended !== undefined) return this.ended;
    this.signalGroup(signal);
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), STEP_TIMEOUT_MS);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The process's output so far, for failure messages. */
  describe(): string {
    return `stdout:\n${this.stdoutText}\nstderr:\n${this.stderrText}`;
  }

  private signalGroup(signal: NodeJS.Signals): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * A throw-away application folder in which snippets run as a user's code
 * runs: `import ... from 'dynamic-hooks'` resolves to the built package (a
 * link to this project, as `npm link` makes) through node_modules, next to
 * the project's installed dependencies, and `npx dynamic-hooks` finds its
 * bin there. The folder is CommonJS (`app.js`); TypeScript snippets are
 * written as `.mts` files (ES modules, top-level await) and run through tsx
 * (`node --import tsx`).
 *
 * The ports a snippet documents (`localhost:3000`) are mapped to free ports,
 * so that snippets run beside other tests: `substitute` rewrites them in a
 * snippet's text, as a word (`\b3000\b`).
 */
export class SnippetApp {
  private readonly ports = new Map<number, number>();
  private readonly processes: Background[] = [];

  private constructor(readonly dir: string) {}

  static create(): SnippetApp {
    const dir = mkdtempSync(join(tmpdir(), 'dynamic-hooks-snippets-'));
    const modules = join(dir, 'node_modules');
    mkdirSync(join(modules, '.bin'), { recursive: true });
    for (const entry of readdirSync(join(PROJECT_ROOT, 'node_modules'))) {
      if (entry.startsWith('.') || entry === 'dynamic-hooks') continue;
      symlinkSync(join(PROJECT_ROOT, 'node_modules', entry), join(modules, entry));
    }
    symlinkSync(PROJECT_ROOT, join(modules, 'dynamic-hooks'));
    // npm install makes the bin executable and links it; do the same.
    const manifest = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    for (const [name, path] of Object.entries(manifest.bin)) {
      const bin = join(modules, '.bin', name);
      writeFileSync(bin, `#!/bin/sh\nexec node "${join(modules, 'dynamic-hooks', path)}" "$@"\n`);
      chmodSync(bin, 0o755);
    }
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'snippet-app', private: true }));
    return new SnippetApp(dir);
  }

  /** Maps a documented port to a free one; the mapped port. */
  async port(documented: number): Promise<number> {
    let actual = this.ports.get(documented);
    if (actual === undefined) {
      actual = await freeTcpPort();
      this.ports.set(documented, actual);
    }
    return actual;
  }

  /** Maps a documented port to one already chosen (a test's own server, say). */
  mapPort(documented: number, actual: number): void {
    this.ports.set(documented, actual);
  }

  /** `text` with every mapped port replaced. */
  substitute(text: string): string {
    let out = text;
    for (const [documented, actual] of this.ports) {
      out = out.replace(new RegExp(`\\b${documented}\\b`, 'g'), String(actual));
    }
    return out;
  }

  /** Writes a file into the app folder, with its ports mapped. */
  write(name: string, text: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, this.substitute(text));
    return path;
  }

  /** Runs a command in the app folder to its end. */
  run(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
    return this.start(file, args, env).finished();
  }

  /** Runs `node` (the tests' binary) with `args` in the app folder to its end. */
  node(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
    return this.run(process.execPath, args, env);
  }

  /** Starts a command in the app folder and leaves it running (stopped by `close` at the latest). */
  start(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Background {
    const child = spawn(file, [...args], {
      cwd: this.dir,
      env: { ...process.env, ...BASE_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const background = new Background([file, ...args].join(' '), child);
    this.processes.push(background);
    return background;
  }

  /** Starts `node` (the tests' binary) with `args` in the app folder. */
  startNode(args: readonly string[], env: NodeJS.ProcessEnv = {}): Background {
    return this.start(process.execPath, args, env);
  }

  /** Stops whatever still runs and removes the folder. */
  async close(): Promise<void> {
    await Promise.all(this.processes.map((background) => background.stop('SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
