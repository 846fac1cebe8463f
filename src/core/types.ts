/** How many arguments handlers receive: `0..8`, or `'varargs'` for all of them. */
export type MaxArgs = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 'varargs';

/**
 * When after-handlers run, after the shapes `diagnostics_channel`'s
 * TracingChannel names:
 * - `'sync'`: when the function returns;
 * - `'promise'`: when the returned promise or thenable settles (a `then`
 *   that cannot be read or called ends the call with the errors, given
 *   what it threw);
 * - `'callback'`: when the trailing callback argument is called;
 * - `'auto'` (default): `'promise'` if the function returns a native
 *   promise, `'sync'` otherwise.
 *
 * A native promise is observed through `Promise.prototype.then`, never an
 * own `then`; whatever observing does, the caller gets the result untouched.
 */
export type HookMode = 'auto' | 'sync' | 'promise' | 'callback';

/** The arguments of `F` as handlers see them. */
export type HookArgs<F> = F extends (...args: infer A) => unknown ? A : unknown[];

/** What after-handlers receive first: the return value, awaited. */
export type HookResult<F> = F extends (...args: never[]) => infer R ? Awaited<R> : unknown;

/**
 * Before, after and error handlers for `hookFunction`. `this` inside a
 * handler is the receiver of the hooked call. A handler that throws, or
 * returns a promise or thenable that rejects (an async handler), is
 * reported through `diag.warn`; it is never awaited.
 */
export interface HookHandlers<F = unknown, This = unknown> {
  /** Run before the original, with its arguments. */
  readonly befores?: ReadonlyArray<(this: This, ...args: HookArgs<F>) => void>;
  /**
   * Run after the original succeeded, with its result first. In
   * `'callback'` mode the result is the callback's second argument (the
   * value after the error), so declare it `unknown`.
   */
  readonly afters?: ReadonlyArray<(this: This, result: HookResult<F>, ...args: HookArgs<F>) => void>;
  /**
   * Run when the original throws, its promise rejects, or its callback
   * receives an error first argument.
   */
  readonly errors?: ReadonlyArray<(this: This, error: unknown, ...args: HookArgs<F>) => void>;
}

/** Options of `hookFunction`. */
export interface HookFunctionOptions {
  /** Which call shape ends the operation; default `'auto'`. */
  readonly mode?: HookMode;
  /** Name used in `listGroups()` and failure reports; default: the key. */
  readonly name?: string;
}

/**
 * Restores what `hookFunction` replaced. Calling it again does nothing.
 * Hooks on one function may be removed in any order.
 */
export type Unhook = () => void;
