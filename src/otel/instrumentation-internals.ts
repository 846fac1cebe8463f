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

// `InstrumentationBase` keeps what `init()` returned in `_modules`: module
// definitions (`InstrumentationNodeModuleDefinition`, whose `name` is the
// module's: `http`, `pg`) and reads each one's `patch(exports, version)`
// from it at every call: when the module is loaded (require-in-the-middle,
// import-in-the-middle) and when `enable()` patches again what was loaded.

interface ModuleDefinition {
  name?: unknown;
  patch?: unknown;
}

/**
 * Replaces the `patch` of each module definition of the instance: the
 * definition's own patch then runs through `around(moduleName, patch)`,
 * which must call `patch()` and return what it returns. Does nothing for
 * a definition without a patch.
 */
export function interceptModulePatches(
  instance: object,
  around: (moduleName: string, patch: () => unknown) => unknown,
): void {
  const modules = (instance as { _modules?: unknown })._modules;
  if (!Array.isArray(modules)) return;
  for (const definition of modules as ModuleDefinition[]) {
    const own = definition.patch;
    const name = definition.name;
    if (typeof own !== 'function' || typeof name !== 'string') continue;
    definition.patch = function (this: unknown, ...args: unknown[]): unknown {
      return around(name, () => Reflect.apply(own, this, args));
    };
  }
}

// Instrumentations built on diagnostics_channel do not patch functions.
// `@opentelemetry/instrumentation-undici` (0.2x) subscribes from
// `enable()` through its own method `subscribeToChannel(name, onMessage)`,
// which pushes `{ name, unsubscribe }` onto `this._channelSubs`; its
// `disable()` calls every `unsubscribe` and empties the list.

/** A diagnostics_channel message handler, as `subscribeToChannel` takes it. */
export type ChannelHandler = (message: unknown, name: string | symbol) => void;

interface ChannelFields {
  subscribeToChannel: (name: string, onMessage: ChannelHandler) => void;
  _channelSubs: { name: string; unsubscribe: () => void }[] | undefined;
}

/** Whether the instance subscribes to diagnostics channels the way undici's instrumentation does. */
export function subscribesToChannels(instance: object): boolean {
  return typeof (instance as Partial<ChannelFields>).subscribeToChannel === 'function';
}

/**
 * Replaces the instance's `subscribeToChannel`: `subscribe(name, onMessage)`
 * does the subscribing instead and returns the function that undoes it,
 * which the instance's `disable()` calls.
 */
export function interceptChannelSubscriptions(
  instance: object,
  subscribe: (name: string, onMessage: ChannelHandler) => () => void,
): void {
  const fields = instance as ChannelFields;
  fields.subscribeToChannel = (name, onMessage) => {
    const unsubscribe = subscribe(name, onMessage);
    (fields._channelSubs ??= []).push({ name, unsubscribe });
  };
}

// Instrumentations that patch no module at all (their `init()` returned no
// module definition, kept in `InstrumentationBase#_modules`) and subscribe
// to no channel through `subscribeToChannel` work from inside the library
// they observe: `@fastify/otel` is a Fastify plugin whose hooks start
// spans, and which asks the instance's `isEnabled()` on every request and
// handler call before doing any work.

/** Whether the instance patches no module: its `_modules` list (what `init()` returned) is empty. */
export function patchesNoModule(instance: object): boolean {
  const modules = (instance as { _modules?: unknown })._modules;
  return Array.isArray(modules) && modules.length === 0;
}

/**
 * Replaces the instance's `isEnabled()` by `replace(own)`, `own` being
 * its own bound to it.
 */
export function interceptIsEnabled(instance: object, replace: (own: () => boolean) => () => boolean): void {
  const fields = instance as { isEnabled?: () => boolean };
  const own = fields.isEnabled;
  if (typeof own !== 'function') return;
  fields.isEnabled = replace(own.bind(instance));
}

// `InstrumentationAbstract` (the base of `InstrumentationBase`) hands the
// tracer its instrumentations start spans with through the `tracer`
// accessor of its prototype (over the `_tracer` field that
// `setTracerProvider` sets); every instrumentation reads `this.tracer`.

/**
 * Replaces what the instance's `tracer` accessor returns by
 * `wrap(tracer)`, with an own accessor over the prototype's. Does nothing
 * if it has none.
 */
export function interceptTracer<T>(instance: object, wrap: (tracer: T) => T): void {
  for (let proto = Object.getPrototypeOf(instance) as object | null; proto !== null;) {
    const getter = Object.getOwnPropertyDescriptor(proto, 'tracer')?.get;
    if (getter !== undefined) {
      Object.defineProperty(instance, 'tracer', {
        configurable: true,
        get(this: object): T {
          return wrap(getter.call(this) as T);
        },
      });
      return;
    }
    proto = Object.getPrototypeOf(proto) as object | null;
  }
}
