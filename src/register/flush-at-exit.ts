/** What the exit handling needs from the started telemetry. */
export interface Flushable {
  /** Exports pending spans; the SDK keeps running. */
  forceFlush(): Promise<void>;
  /** Exports pending spans and stops the SDK, rejecting if the export failed; safe to call more than once. */
  shutdown(): Promise<void>;
}

/** The signals whose default action (terminating the process) would lose pending spans. */
const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** How long a signal's termination waits at most, by default: draining, then the export. */
export const SIGNAL_FLUSH_TIMEOUT_MS = 5_000;

/** The environment variable that sets that bound, in milliseconds. */
export const SHUTDOWN_TIMEOUT_ENV = 'DYNAMIC_HOOKS_SHUTDOWN_TIMEOUT_MS';

/**
 * How long the export waits at most when the process ends on its own (the
 * event loop ran dry, or the application awaits `shutdown()`), by default.
 */
export const EXIT_FLUSH_TIMEOUT_MS = 2_000;

/** OpenTelemetry's bound of one batch export, which also bounds the export at exit when set. */
export const BSP_EXPORT_TIMEOUT_ENV = 'OTEL_BSP_EXPORT_TIMEOUT';

/** How the process ends. */
export interface ExitOptions {
  /**
   * At a terminating signal, the whole wait, draining and export, in
   * milliseconds; default {@link SIGNAL_FLUSH_TIMEOUT_MS}.
   */
  readonly timeoutMs?: number;
  /** At `beforeExit`, the wait for the export, in milliseconds; default {@link EXIT_FLUSH_TIMEOUT_MS}. */
  readonly exitTimeoutMs?: number;
  /**
   * Stops taking new work (closes the listening servers) and resolves
   * once the work in flight is done.
   */
  readonly stopServing?: () => Promise<void>;
  /** Called when the export did not finish in time (with the time waited), before the process goes on ending. */
  readonly onGiveUp?: (waitedMs: number) => void;
}

/**
 * Flushes the telemetry when the process ends, without changing how it ends:
 *
 * - `beforeExit` (the event loop ran dry): shuts the SDK down; the export
 *   keeps the loop alive until it is done, then the process exits as it
 *   would have, with its exit code. If the loop is still alive
 *   `exitTimeoutMs` later, without a successful shutdown (an exporter
 *   retrying an unreachable collector, even after the batch processor gave
 *   up on it, holds it for its own timeout), `onGiveUp` is called and,
 *   unless another `beforeExit` listener may have started work of its own,
 *   the process exits at once, with its exit code.
 * - `SIGTERM` / `SIGINT` that nobody else listens to: the default action is
 *   to terminate, so first the servers stop taking new work
 *   (`stopServing`: new connections are refused, requests in flight finish
 *   and their spans end), for at most half of `timeoutMs`; then the SDK is
 *   shut down in the time left (`onGiveUp` if that was not enough); then the
 *   signal is raised again with no listener left, and the process dies of it
 *   as it would have. A second signal meanwhile terminates at once.
 * - a signal the application handles itself: its handler decides what
 *   happens (it may keep serving while it drains), so pending spans are only
 *   flushed and the SDK keeps running; `beforeExit` shuts it down later. An
 *   application that calls `process.exit()` from its handler should first
 *   await `shutdown()` from `dynamic-hooks/register`.
 */
export function flushAtExit(telemetry: Flushable, options: ExitOptions = {}): void {
  const timeoutMs = options.timeoutMs ?? SIGNAL_FLUSH_TIMEOUT_MS;
  const exitTimeoutMs = options.exitTimeoutMs ?? EXIT_FLUSH_TIMEOUT_MS;
  const stopServing = options.stopServing ?? (() => Promise.resolve());
  const onGiveUp = options.onGiveUp ?? (() => undefined);
  process.once('beforeExit', () => {
    // Unreferenced: it fires only if something still keeps the loop alive.
    const giveUp = setTimeout(() => {
      reportGiveUp(onGiveUp, exitTimeoutMs);
      // Only the export was left to wait for, unless someone else acted on beforeExit too.
      if (process.listenerCount('beforeExit') === 0) process.exit();
    }, exitTimeoutMs).unref();
    telemetry.shutdown().then(
      () => {
        clearTimeout(giveUp);
      },
      () => undefined,
    );
  });
  for (const signal of SIGNALS) {
    const onSignal = (): void => {
      if (process.listenerCount(signal) > 1) {
        void telemetry.forceFlush();
        return;
      }
      process.removeListener(signal, onSignal);
      const deadline = Date.now() + timeoutMs;
      void withTimeout(stopServingSafely(stopServing), timeoutMs / 2)
        .then(() => shutdownWithin(telemetry, Math.max(0, deadline - Date.now()), onGiveUp))
        .then(() => {
          process.kill(process.pid, signal);
        });
    };
    process.on(signal, onSignal);
  }
}

/**
 * Shuts the telemetry down, waiting at most `ms`: resolves `true` once the
 * shutdown settled (a failure included: whoever started it reports it),
 * `false` after calling `onGiveUp(ms)` if it was still exporting then.
 */
export function shutdownWithin(
  telemetry: Pick<Flushable, 'shutdown'>,
  ms: number,
  onGiveUp: (waitedMs: number) => void,
): Promise<boolean> {
  return withTimeout(telemetry.shutdown(), ms).then((done) => {
    if (!done) reportGiveUp(onGiveUp, ms);
    return done;
  });
}

function reportGiveUp(onGiveUp: (waitedMs: number) => void, ms: number): void {
  try {
    onGiveUp(ms);
  } catch {
    // Reporting must not keep the process from ending.
  }
}

function stopServingSafely(stopServing: () => Promise<void>): Promise<void> {
  try {
    return stopServing();
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/** The waits of {@link flushAtExit}, from the environment. */
export interface ExitTimeouts {
  /** At a terminating signal: `DYNAMIC_HOOKS_SHUTDOWN_TIMEOUT_MS`, else {@link SIGNAL_FLUSH_TIMEOUT_MS}. */
  readonly signalMs: number;
  /**
   * When the process ends on its own: `DYNAMIC_HOOKS_SHUTDOWN_TIMEOUT_MS`,
   * else `OTEL_BSP_EXPORT_TIMEOUT`, else {@link EXIT_FLUSH_TIMEOUT_MS}.
   */
  readonly exitMs: number;
}

/**
 * The bounds of {@link flushAtExit} from `DYNAMIC_HOOKS_SHUTDOWN_TIMEOUT_MS`
 * and `OTEL_BSP_EXPORT_TIMEOUT` (integers from 0 to 600000 milliseconds). A
 * bad value is pushed onto `warnings` and passed over.
 */
export function exitTimeoutsFromEnv(env: NodeJS.ProcessEnv, warnings: string[]): ExitTimeouts {
  const own = millisecondsFromEnv(env, SHUTDOWN_TIMEOUT_ENV, warnings);
  const batch = millisecondsFromEnv(env, BSP_EXPORT_TIMEOUT_ENV, warnings);
  return {
    signalMs: own ?? SIGNAL_FLUSH_TIMEOUT_MS,
    exitMs: own ?? batch ?? EXIT_FLUSH_TIMEOUT_MS,
  };
}

function millisecondsFromEnv(env: NodeJS.ProcessEnv, name: string, warnings: string[]): number | undefined {
  const text = env[name]?.trim() ?? '';
  if (text === '') return undefined;
  const value = Number(text);
  if (/^\d+$/.test(text) && value <= 600_000) return value;
  warnings.push(`${name} must be milliseconds from 0 to 600000, got ${JSON.stringify(text)}; ignored`);
  return undefined;
}

/** Resolves `true` when `work` settles (whichever way), `false` when `ms` passed first. */
function withTimeout(work: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(resolve, ms, false);
  });
  return Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    timeout,
  ]).finally(() => {
    clearTimeout(timer);
  });
}
