import type { Context } from '@opentelemetry/api';
import { hook } from '../core/named-hooks';
import { requestScopeOf } from '../core/request-scope';
import {
  AFTER,
  BEFORE,
  DISPATCH_HOOK,
  DNS_CACHE_LOOKUP_HOOK,
  PHASES,
  PLUGIN,
  PLUGIN_ITERATOR,
  PLUGINS_CONTEXT,
  TIMING_GROUP,
  WORKSPACE_ID_HOOK,
} from '../names/hooks';
import { activeDebugRequest, debugRequestOfScope } from './debug-request';
import { writeHeaderOutput, writeLogOutput } from './debug-output';
import { timing } from './timing-api';

/**
 * Registers every hook of Kong's table in the `timing` group, plus
 * `dispatch`. They run only for requests whose `timing:auth` hook enabled
 * the group. As in Kong, the runloop only runs the hooks: the outputs are
 * written from here, the header from `after:header_filter` and the log
 * from `after:log`, when the server integration runs them with the
 * response (a header_filter run without it, a buffered response's inside
 * the `response` phase, is nested and writes nothing).
 */
export function registerTimingHooks(): void {
  hook(TIMING_GROUP, DISPATCH_HOOK, (ctx: Context) => {
    const debug = debugRequestOfScope(requestScopeOf(ctx));
    if (debug === undefined || debug.finished) return undefined;
    debug.start(ctx);
    return debug.contextFor(ctx);
  });
  for (const phase of PHASES) {
    hook(TIMING_GROUP, BEFORE[phase], () => {
      timing.enterContext(phase);
    });
    hook(TIMING_GROUP, AFTER[phase], () => {
      activeDebugRequest()?.contexts.leavePhase(phase);
    });
  }
  // The response starts: what the request's code left open ends (as Kong ends access when a plugin exits).
  hook(TIMING_GROUP, BEFORE.header_filter, (res?: unknown) => {
    const debug = activeDebugRequest();
    if (debug === undefined) return;
    if (debug.isResponse(res)) debug.contexts.exitPhases();
    debug.contexts.enter('header_filter');
  });
  hook(TIMING_GROUP, AFTER.header_filter, (res?: unknown) => {
    const debug = activeDebugRequest();
    if (debug === undefined) return;
    debug.contexts.leavePhase('header_filter');
    if (debug.isResponse(res)) writeHeaderOutput(debug);
  });
  // The response is over: what is still open is dangling; the log phase is the request's last.
  hook(TIMING_GROUP, BEFORE.log, (res?: unknown) => {
    const debug = activeDebugRequest();
    if (debug === undefined) return;
    if (debug.isResponse(res)) debug.contexts.closeDangling();
    debug.contexts.enter('log');
  });
  hook(TIMING_GROUP, AFTER.log, (res?: unknown) => {
    const debug = activeDebugRequest();
    if (debug === undefined) return;
    debug.contexts.leavePhase('log');
    if (!debug.isResponse(res)) return;
    debug.setResponseStatus(res.statusCode);
    writeLogOutput(debug);
    debug.finish();
  });
  hook(TIMING_GROUP, BEFORE[PLUGIN_ITERATOR], () => {
    timing.enterContext(PLUGINS_CONTEXT);
  });
  hook(TIMING_GROUP, AFTER[PLUGIN_ITERATOR], () => {
    activeDebugRequest()?.contexts.leavePhase(PLUGINS_CONTEXT);
  });
  // Two levels, as in Kong: the plugin's name, then its id (the name again if it has none).
  hook(TIMING_GROUP, BEFORE[PLUGIN], (name: string, id?: string) => {
    timing.enterContext(name);
    timing.enterContext(id ?? name);
  });
  hook(TIMING_GROUP, AFTER[PLUGIN], () => {
    timing.leaveContext();
    timing.leaveContext();
  });
  hook(TIMING_GROUP, DNS_CACHE_LOOKUP_HOOK, (cacheHit: boolean) => {
    timing.setContextProp('cache_hit', cacheHit);
  });
  hook(TIMING_GROUP, WORKSPACE_ID_HOOK, (id: string) => {
    timing.setRootContextProp('workspace_id', id);
  });
}
