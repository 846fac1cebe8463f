/** What the exit handling needs from the started telemetry. */
export interface Flushable {
  /** Exports pending spans; the SDK keeps running. */
  forceFlush(): Promise<void>;
  /** Exports pending spans and stops the SDK; safe to call more than once. */
  shutdown(): Promise<void>;
}

/** The signals whose default action (terminating the process) would lose pending spans. */
const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** How long a signal's termination waits at most, by default: draining, then the export. */
export const SIGNAL_FLUSH_TIMEOUT_MS = 5_000;

/** The environment variable that sets that bound, in milliseconds. */
export const SHUTDOWN_TIMEOUT_ENV = 'DYNAMIC_HOOKS_SHUTDOWN_TIMEOUT_MS';

/** How a terminating signal ends the process. */
export interface ExitOptions {
  /** The whole wait, draining and export, in milliseconds; default {@link SIGNAL_FLUSH_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /**
   * Stops taking new work (closes the listening servers) and resolves
   * once the work in flight is done.
   */
  readonly stopServing?: () => Promise<void>;
}

/**
 * Flushes the telemetry when the process ends, without changing how it ends:
 *
 * - `beforeExit` (the event loop ran dry): shuts the SDK down; the export
 *   keeps the loop alive until it is done, then the process exits as it
 *   would have, with its exit code.
 * - `SIGTERM` / `SIGINT` that nobody else listens to: the default action is
 *   to terminate, so first the servers stop taking new work
 *   (`stopServing`: new connections are refused, requests in flight finish
 *   and their spans end), for at most half of `timeoutMs`; then the SDK is
 *   shut down in the time left; then the signal is raised again with no
 *   listener left, and the process dies of it as it would have. A second
 *   signal meanwhile terminates at once.
 * - a signal the application handles itself: its handler decides what
 *   happens (it may keep serving while it drains), so pending spans are only
 *   flushed and the SDK keeps running; `beforeExit` shuts it down later. An
 *   application that calls `process.exit()` from its handler should first
 *   await `shutdown()` from `dynamic-hooks/register`.
 */
export function flushAtExit(telemetry: Flushable, options: ExitOptions = {}): void {
  const timeoutMs = options.timeoutMs ?? SIGNAL_FLUSH_TIMEOUT_MS;
  const stopServing = options.stopServing ?? (() => Promise.resolve());
  process.once('beforeExit', () => {
    void telemetry.shutdown();
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
        .then(() => withTimeout(telemetry.shutdown(), Math.max(0, deadline - Date.now())))
        .then(() => {
          process.kill(process.pid, signal);
        });
    };
    process.on(signal, onSignal);
  }
}

function stopServingSafely(stopServing: () => Promise<void>): Promise<void> {
  try {
    return stopServing();
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/**
 * The bound of {@link flushAtExit} from `DYNAMIC_HOOKS_SHUTDOWN_TIMEOUT_MS`
 * (an integer from 0 to 600000); {@link SIGNAL_FLUSH_TIMEOUT_MS} when unset.
 * A bad value is pushed onto `warnings` and the default used.
 */
export function shutdownTimeoutFromEnv(env: NodeJS.ProcessEnv, warnings: string[]): number {
  const text = env[SHUTDOWN_TIMEOUT_ENV]?.trim() ?? '';
  if (text === '') return SIGNAL_FLUSH_TIMEOUT_MS;
  const value = Number(text);
  if (/^\d+$/.test(text) && value <= 600_000) return value;
  warnings.push(
    `${SHUTDOWN_TIMEOUT_ENV} must be milliseconds from 0 to 600000, got ${JSON.stringify(text)}; ` +
      `using ${SIGNAL_FLUSH_TIMEOUT_MS}`,
  );
  return SIGNAL_FLUSH_TIMEOUT_MS;
}

function withTimeout(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([work.catch(() => undefined), timeout]).finally(() => {
    clearTimeout(timer);
  });
}
