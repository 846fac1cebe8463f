import { diag } from '@opentelemetry/api';
import { readFileSync, unwatchFile, watch, watchFile, type FSWatcher, type Stats } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { describeError } from '../core/report-failure';
import { OPERATOR_PREFIX } from '../timing/logger';
import { compileFlagFile, FlagFileError, type FlagRuleSet } from './flagd-rules';

/** How often the flag file is polled (besides change notifications, which not every file system sends). */
export const DEFAULT_POLL_INTERVAL_MS = 1000;

/**
 * A flagd flag-definition file, read at start and again whenever it
 * changes: the file's directory is watched (editors replace files by
 * renaming) and the file is polled as a fallback. Neither keeps the process
 * alive. A file that is missing, unreadable or invalid is reported on
 * stderr (a `[dynamic-hooks]` line naming the file and what is wrong) and
 * changes nothing: the last valid definitions stay in force until a later
 * valid file replaces them.
 */
export class FlagFileSource {
  readonly path: string;
  readonly description: string;
  private lastText: string | undefined;
  private lastProblem: string | undefined;
  private dirWatcher: FSWatcher | undefined;
  private pending: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly poll = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs !== previous.mtimeMs || current.size !== previous.size || current.ino !== previous.ino) {
      this.schedule();
    }
  };

  constructor(
    path: string,
    private readonly apply: (rules: FlagRuleSet) => void,
    private readonly pollIntervalMs = DEFAULT_POLL_INTERVAL_MS,
  ) {
    this.path = resolve(path);
    this.description = `flag file ${this.path}`;
  }

  /** Reads the file now (synchronously: the rules apply from the first request) and starts watching it. */
  start(): void {
    this.reload();
    watchFile(this.path, { interval: this.pollIntervalMs, persistent: false }, this.poll);
    try {
      const name = basename(this.path);
      this.dirWatcher = watch(dirname(this.path), { persistent: false }, (_event, changed) => {
        if (changed === null || changed === name) this.schedule();
      });
      this.dirWatcher.on('error', () => this.stopDirWatch());
    } catch {
      // No change notifications here (a missing directory, say): polling alone finds the changes.
    }
  }

  /** Stops watching; the definitions last applied stay in force. */
  close(): void {
    this.closed = true;
    unwatchFile(this.path, this.poll);
    this.stopDirWatch();
    if (this.pending !== undefined) clearTimeout(this.pending);
  }

  /** Reads and applies the file if its content changed since the last read. */
  reload(): void {
    if (this.closed) return;
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      this.lastText = undefined;
      this.problem(
        code === 'ENOENT'
          ? 'not found; waiting for it to appear'
          : `cannot be read (${code ?? (error as Error).message}); watching it for changes`,
      );
      return;
    }
    if (text === this.lastText) return;
    this.lastText = text;
    let rules: FlagRuleSet;
    try {
      rules = compileFlagFile(text);
    } catch (error) {
      // Runs from a timer too: nothing may escape into the process.
      const what = error instanceof FlagFileError ? error.message : `cannot be evaluated: ${describeError(error)}`;
      this.problem(`${what}; the previous flag rules stay in force`);
      return;
    }
    if (this.lastProblem !== undefined) diag.info(`dynamic-hooks flags: flag file ${this.path} is valid again`);
    this.lastProblem = undefined;
    this.apply(rules);
  }

  /** A change notification: rereads shortly after (a writer may still be writing, or send several). */
  private schedule(): void {
    if (this.closed || this.pending !== undefined) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.reload();
    }, 20);
    this.pending.unref();
  }

  private stopDirWatch(): void {
    this.dirWatcher?.close();
    this.dirWatcher = undefined;
  }

  /** Tells the operator once per distinct problem (polling would repeat it otherwise). */
  private problem(what: string): void {
    if (what === this.lastProblem) return;
    this.lastProblem = what;
    const message = `flag file ${this.path}: ${what}`;
    try {
      diag.warn(`dynamic-hooks: ${message}`);
    } catch {
      // A broken diag logger must not hide the stderr line.
    }
    try {
      process.stderr.write(`${OPERATOR_PREFIX} ${message.replace(/\p{Cc}/gu, ' ')}\n`);
    } catch {
      // stderr closed.
    }
  }
}
