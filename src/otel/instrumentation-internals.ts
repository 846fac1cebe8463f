// The one place that reads OpenTelemetry's private instrumentation
// internals. `InstrumentationBase` (`@opentelemetry/instrumentation`
// 0.223, and every release since `_wrap` became an instance field) patches
// through two arrow-function fields of each instance:
// - `_wrap(moduleExports, name, wrapper)`: shimmer's `wrap`, which calls
//   `wrapper(original, name)` once and installs what it returns, marked
//   with `__original`, `__unwrap` and `__wrapped`;
// - `_unwrap(moduleExports, name)`: puts the original back;
// and `_massWrap` / `_massUnwrap`, `patch()` and `unpatch()` all call
// them through `this`. Replacing the two fields on one instance therefore
// sees every function that instance patches, and nothing of the others.
// test/otel/instrumentation-internals.test.ts pins this behaviour against
// the installed version.

/** What shimmer calls to build the patched function: `(original, name) => patched`. */
export type PatchFactory = (original: (...args: unknown[]) => unknown, name: string) => unknown;

/** `InstrumentationBase#_wrap`. */
export type WrapMethod = (moduleExports: object, name: string, factory: PatchFactory) => unknown;

/** `InstrumentationBase#_unwrap`. */
export type UnwrapMethod = (moduleExports: object, name: string) => unknown;

interface PatchingFields {
  _wrap: WrapMethod;
  _unwrap: UnwrapMethod;
}

/** How an instance patches, as {@link interceptPatching} lets a caller replace it. */
export interface PatchingInterceptor {
  /** The replacement for `_wrap`, given the instance's own. */
  wrap(own: WrapMethod): WrapMethod;
  /** The replacement for `_unwrap`, given the instance's own. */
  unwrap(own: UnwrapMethod): UnwrapMethod;
}

/**
 * Replaces the `_wrap` and `_unwrap` of one instrumentation instance.
 *
 * @throws TypeError if the instance does not patch through own `_wrap` /
 * `_unwrap` functions (not an `InstrumentationBase` of a supported
 * `@opentelemetry/instrumentation` version).
 */
export function interceptPatching(instance: object, interceptor: PatchingInterceptor): void {
  const fields = instance as Partial<PatchingFields>;
  const ownWrap = fields._wrap;
  const ownUnwrap = fields._unwrap;
  if (
    typeof ownWrap !== 'function' ||
    typeof ownUnwrap !== 'function' ||
    !Object.prototype.hasOwnProperty.call(instance, '_wrap') ||
    !Object.prototype.hasOwnProperty.call(instance, '_unwrap')
  ) {
    throw new TypeError(
      'instrumentation must be an InstrumentationBase of @opentelemetry/instrumentation >= 0.200 ' +
        '(it patches through its own _wrap and _unwrap); this one does not',
    );
  }
  fields._wrap = interceptor.wrap(ownWrap.bind(instance));
  fields._unwrap = interceptor.unwrap(ownUnwrap.bind(instance));
}
