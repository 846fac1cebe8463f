/**
 * The internal entry of the instrumentations (`instrumentations/`): the
 * timing API and the core pieces they build on, in one place, so that
 * they import no deep paths and the timing module may move its files.
 * Not part of the public API (`dynamic-hooks` exports none of it).
 */
export { hookFunction } from './core/hook-function';
export type { HookFunctionOptions, HookHandlers, MaxArgs, Unhook } from './core/types';
export { SUBSCRIPTION_LINGER_MS, watchGroupActivity } from './core/group-state';
export { reportHandlerFailure } from './core/report-failure';
export { requestScopeOf } from './core/request-scope';
export { TIMING_GROUP } from './names/hooks';
export { isShimmerWrapped } from './patching/otel-internals';
export { patchLoadedBuiltins } from './patching/patch-builtins';
export { removeHeaders } from './server/raw-headers';
export { callOperation, startOperation, type TimingOperation } from './timing/operations';
export { MAX_DOWNSTREAM_DEPTH, MAX_DOWNSTREAM_OUTPUT } from './timing/output';
export { VERSION } from './version';
