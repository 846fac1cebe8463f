/**
 * dynamic-hooks: dormant instrumentation for Node.js, switched on per
 * request or process-wide at runtime, on OpenTelemetry context.
 *
 * @packageDocumentation
 * @module dynamic-hooks
 */
import { hookFunction } from './core/hook-function';
import { enableGroupsFromEnvironment } from './core/env-groups';
import { installAdminClusterSupport } from './admin/cluster-setup';
import { hook, runHook } from './core/named-hooks';
import {
  alwaysEnable,
  disableByDefault,
  enableByDefault,
  enableOnThisRequest,
  isGroupEnabled,
  listGroups,
  withGroupsEnabled,
  withRequestScope,
} from './core/groups';

export {
  alwaysEnable,
  disableByDefault,
  enableByDefault,
  enableOnThisRequest,
  hook,
  hookFunction,
  isGroupEnabled,
  listGroups,
  runHook,
  withGroupsEnabled,
  withRequestScope,
};
export type { GroupInfo } from './core/groups';
export type { HookArgs, HookFunctionOptions, HookHandlers, HookMode, HookResult, MaxArgs, Unhook } from './core/types';

enableGroupsFromEnvironment();
installAdminClusterSupport();

/** Every core function on one object, as Kong's `kong.dynamic_hook`. */
export const dynamicHook = Object.freeze({
  /** Same as {@link hookFunction}. */
  hookFunction,
  /** Same as {@link hook}. */
  hook,
  /** Same as {@link runHook}. */
  runHook,
  /** Same as {@link isGroupEnabled}. */
  isGroupEnabled,
  /** Same as {@link enableOnThisRequest}. */
  enableOnThisRequest,
  /** Same as {@link alwaysEnable}. */
  alwaysEnable,
  /** Same as {@link enableByDefault}. */
  enableByDefault,
  /** Same as {@link disableByDefault}. */
  disableByDefault,
  /** Same as {@link withRequestScope}. */
  withRequestScope,
  /** Same as {@link withGroupsEnabled}. */
  withGroupsEnabled,
  /** Same as {@link listGroups}. */
  listGroups,
});

export { TimingInstrumentation } from './timing/timing-instrumentation';
export type { TimingInstrumentationConfig } from './timing/settings';
export type { RequestDebugLogger } from './timing/logger';
export { RequestDebugSampler } from './timing/sampler';
export { timing } from './timing/timing-api';
export type { PropValue } from './timing/timing-tree';
export { instrumentExpress, type ExpressAppLike } from './adapters/express';
export { fastifyTiming, type FastifyInstanceLike, type FastifyTimingPlugin } from './adapters/fastify';
export { SignedGroupsPropagator, type SignedGroupsPropagatorConfig } from './propagation/signed-groups-propagator';
export type { PropagatedGroups } from './propagation/propagated-groups';
export { dormant, type DormantListOptions, type DormantOptions } from './otel/dormant';
export type { DebugOtelGroups } from './otel/debug-groups';
export { createAdminHandler, type AdminHandler } from './admin/admin-handler';
export { startAdminServer, type AdminServer } from './admin/admin-server';
export type { AdminHandlerOptions, AdminServerOptions } from './admin/options';
export { relayAdminToWorkers, type AdminRelay } from './admin/cluster-relay';
export { debugRulesFromFlags, type DebugRules, type DebugRulesOptions } from './flags/debug-rules';
export type { FlagContextHook, FlagContextValue } from './flags/evaluation-context';
export type { OpenFeatureProviderLike } from './flags/provider-source';
