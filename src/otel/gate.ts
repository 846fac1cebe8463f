import { type Context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { GroupState, NEVER_ENABLED } from '../core/group-state';
import { copyFunctionProperties } from '../core/hook-chain';
import { HookSite, type AnyFunction } from '../core/hook-site';
import { isActive, withScopeFrameOf } from '../core/request-scope';
import { createWrapper } from '../core/wrapper';
import { dispatchingDebugScope } from '../server/http-server';
import { withProbeContext } from './probe-context';
import { activeContext, withContext } from '../core/context-manager';

const apply = Reflect.apply;
const construct = Reflect.construct;

/**
 * The group a gate reads while every call must reach the instrumentation's
 * wrapper: before its first call (the probe) and for a patch that installs
 * other patches. Always active, so those calls leave the dormant path.
 */
const EVERY_CALL = new GroupState('');
EVERY_CALL.setAlways(true);

/** How many patches one instrumentation instance has made; a gate compares it around a call. */
export interface PatchCounter {
  patches: number;
}

/** One function an instrumentation patched, behind our dormant path. */
interface Gate {
  /** Names the gate in {@link Caller}. */
  readonly token: object;
  /** What the shared dormant path reads: `site.group` is the gate's group, or {@link EVERY_CALL}. */
  readonly site: HookSite;
  readonly group: GroupState;
  readonly instrumented: AnyFunction;
  readonly counter: PatchCounter;
  /** Until the first call has run: whether the patch installs others is not known yet. */
  probing: boolean;
  /** Unpatched by the instrumentation: the gate only forwards to the original. */
  retired: boolean;
}

const gates = new WeakMap<object, Gate>();

/** While a patched function runs: the context its caller had, and whether the gate suppressed tracing. */
interface Caller {
  /** The gate's own: a patched function called later, out of the gate's call, finds another one or none. */
  readonly gate: object;
  readonly context: Context;
  readonly suppressed: boolean;
}
let caller: Caller | undefined;

/**
 * The function to install in place of `original`, given the
 * instrumentation's `factory` (`(original, name) => patched`): while
 * `group` is dormant it runs `original` at the cost of `hookFunction`'s
 * dormant path (the same wrapper, one numeric read); while the group is
 * enabled for the call (process-wide, or for the current request) it runs
 * the instrumentation's patched function. Returns what the factory
 * returned, ungated, if it is not a function, or `original` if the
 * factory left it as it was.
 *
 * Patches that install other patches (Express wraps each route layer when
 * `Router#route` runs at startup) must run whatever the group's state, or
 * what they would install is missing once the group is enabled. The rule:
 * the first call of each gated function runs the patched function (with
 * tracing suppressed if the group is dormant, so no span is recorded); a
 * function during whose call the instrumentation patched something
 * (counted by `counter`) is an installer, and from then on always runs the
 * patched function, with tracing suppressed while the group is dormant.
 * Every other function takes the dormant path from its second call on.
 * With `probe` false (functions of Node's built-in modules, which
 * instrumentations patch to observe calls) the first call takes the
 * dormant path too; a call made where the group is enabled still
 * classifies the function, so one found installing from then on always
 * runs the patched function.
 * Where tracing is suppressed, the patched function reaches `original`
 * back in the caller's context: what the original starts (a server
 * listening, a socket) must not inherit the suppression. Where it is not,
 * `original` runs in the context the instrumentation made, with the
 * caller's request scope put back if that context dropped it (HTTP server
 * instrumentations build theirs from the incoming headers alone).
 */
export function gatePatch(
  group: GroupState,
  label: string,
  original: AnyFunction,
  factory: (original: AnyFunction, name: string) => unknown,
  counter: PatchCounter,
  probe = true,
): unknown {
  const token = {};
  const reachOriginal = function (this: unknown, ...args: unknown[]): unknown {
    const from = caller;
    if (from?.gate !== token) return call(original, this, args, new.target);
    const active = activeContext();
    const into = from.suppressed ? from.context : withScopeFrameOf(active, from.context);
    if (into === active) return call(original, this, args, new.target);
    caller = undefined;
    try {
      return withContext(into, call, undefined, original, this, args, new.target);
    } finally {
      caller = from;
    }
  };
  copyFunctionProperties(original, reachOriginal);
  const instrumented = factory(reachOriginal, label);
  if (instrumented === reachOriginal) return original;
  if (typeof instrumented !== 'function') return instrumented;

  const site = new HookSite(probe ? EVERY_CALL : group, label, original, [], [], [], 0, 'sync');
  const gate: Gate = {
    token,
    site,
    group,
    instrumented: instrumented as AnyFunction,
    counter,
    probing: probe,
    retired: false,
  };
  const enabled = function (this: unknown, ..._args: unknown[]): unknown {
    // eslint-disable-next-line prefer-rest-params
    return runGated(gate, this, arguments, new.target);
  };
  const gated = createWrapper(site, original, enabled, isActiveForCall);
  copyFunctionProperties(original, gated);
  copyOwnExtras(instrumented, gated);
  gates.set(gated, gate);
  group.sites.add(site);
  return gated;
}

/**
 * Retires the gate `fn`, once its instrumentation unpatched it: from then
 * on it only forwards to the original (it may stay reachable, beneath
 * someone else's wrapper), and its group no longer lists it.
 */
export function retireGate(fn: AnyFunction): void {
  const gate = gates.get(fn);
  if (gate === undefined || gate.retired) return;
  gate.retired = true;
  gate.site.group = NEVER_ENABLED;
  gate.group.sites.delete(gate.site);
}

function runGated(gate: Gate, thisArg: unknown, args: IArguments, newTarget: unknown): unknown {
  const { group, counter } = gate;
  if (gate.retired) return call(gate.site.original, thisArg, args, newTarget);
  const on = group.active !== 0 && isActiveForCall(group);
  const before = counter.patches;
  const outer = caller;
  const active = activeContext();
  try {
    caller = { gate: gate.token, context: active, suppressed: !on };
    if (on) return call(gate.instrumented, thisArg, args, newTarget);
    return withProbeContext(suppressTracing(active), call, gate.instrumented, thisArg, args, newTarget);
  } finally {
    caller = outer;
    if (!gate.retired) classify(gate, counter.patches !== before);
  }
}

/**
 * Whether a gated call runs the instrumentation: its group is enabled
 * process-wide or in the active context, or it is enabled on the debugged
 * request being dispatched right now. The latter is how an HTTP server
 * instrumentation's `Server#emit` wrapper, sitting outside the server
 * integration's (so called before any request scope is entered), starts
 * its SERVER span for a debugged request and only for it: the server
 * integration decided (on `http.server.request.start`, which Node
 * publishes just before `emit('request')`) and enabled the request's
 * groups already. Only reached while the group is enabled somewhere, so
 * the dormant path stays one numeric read.
 */
export function isActiveForCall(group: GroupState): boolean {
  if (isActive(group)) return true;
  const dispatched = dispatchingDebugScope();
  return dispatched !== undefined && !dispatched.ended && dispatched.held?.includes(group) === true;
}

/** After a call: whether the patched function installs others, and so must run whatever the group's state. */
function classify(gate: Gate, installed: boolean): void {
  if (installed) gate.site.group = EVERY_CALL;
  else if (gate.probing) gate.site.group = gate.group;
  gate.probing = false;
}

function call(fn: AnyFunction, thisArg: unknown, args: ArrayLike<unknown>, newTarget: unknown): unknown {
  return newTarget === undefined
    ? apply(fn, thisArg, args)
    : construct(fn as unknown as new (...a: unknown[]) => object, args, newTarget as () => void);
}

const SKIPPED = new Set<PropertyKey>(['name', 'length', 'prototype', 'arguments', 'caller']);

/** Own properties the instrumentation put on its patched function (beyond what the original has). */
function copyOwnExtras(instrumented: object, gated: object): void {
  for (const property of Reflect.ownKeys(instrumented)) {
    if (SKIPPED.has(property)) continue;
    const descriptor = Reflect.getOwnPropertyDescriptor(instrumented, property);
    if (descriptor !== undefined) Reflect.defineProperty(gated, property, descriptor);
  }
}
