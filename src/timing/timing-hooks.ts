import { hook } from '../core/named-hooks';
import { onRejection } from '../core/report-failure';
import { TIMING_GROUP } from './auth';
import { activeDebugRequest, type DebugRequest } from './debug-request';
import { asciiJson, headerOutput, logLines, reportOutputFailure } from './output';
import { timing } from './timing-api';

/** The group whose only hook, `auth`, decides per request whether `timing` is enabled. */
export const TIMING_AUTH_GROUP = 'timing:auth';

/** Phases whose before/after hooks enter and leave a context of the same name. */
const PHASES = ['rewrite', 'access', 'router', 'balancer', 'response', 'header_filter', 'body_filter', 'log'] as const;

/**
 * Registers every hook of Kong's table in the `timing` group. They run
 * only for requests whose `timing:auth` hook enabled the group.
 */
export function registerTimingHooks(): void {
  for (const phase of PHASES) {
    hook(TIMING_GROUP, `before:${phase}`, () => {
      timing.enterContext(phase);
    });
    hook(TIMING_GROUP, `after:${phase}`, () => {
      activeDebugRequest()?.leavePhase(phase);
    });
  }
  hook(TIMING_GROUP, 'before:plugin_iterator', () => {
    timing.enterContext('plugins');
  });
  hook(TIMING_GROUP, 'after:plugin_iterator', () => {
    activeDebugRequest()?.leavePhase('plugins');
  });
  // Two levels, as in Kong: the plugin's name, then its id (the name again if it has none).
  hook(TIMING_GROUP, 'before:plugin', (name: string, id?: string) => {
    timing.enterContext(name);
    timing.enterContext(id ?? name);
  });
  hook(TIMING_GROUP, 'after:plugin', () => {
    timing.leaveContext();
    timing.leaveContext();
  });
  hook(TIMING_GROUP, 'dns:cache_lookup', (cacheHit: boolean) => {
    timing.setContextProp('cache_hit', cacheHit);
  });
  hook(TIMING_GROUP, 'workspace_id:got', (id: string) => {
    timing.setRootContextProp('workspace_id', id);
  });
}

/**
 * Kong's header output: the tree so far, or a pointer to the log if too
 * large for the client (see `headerOutputLimit`). The server integration
 * writes it when the response headers are written (after the header_filter
 * phase), so a header_filter nested in another phase (a buffered
 * response's) writes none. Never throws: it runs inside the application's
 * `writeHead`, `write` and `end`.
 */
export function writeHeaderOutput(debug: DebugRequest): void {
  try {
    const json = asciiJson(debug.toOutput());
    const { value, truncated } = headerOutput(json, debug.loopback, debug.requestId);
    if (truncated) debug.log = true;
    debug.output.setHeader(debug.output.headerName, value);
  } catch (error) {
    reportOutputFailure('the header output', debug.requestId, error);
  }
}

/**
 * Kong's log output, split into parts when large; written after the log
 * phase, only if the request asked for it or its header output was
 * truncated. Never throws: a logger that throws (or returns a promise that
 * rejects) is reported through `diag.warn`, and the request's later lines
 * are not sent to it.
 */
export function writeLogOutput(debug: DebugRequest): void {
  if (!debug.log) return;
  let lines: string[];
  try {
    lines = logLines(JSON.stringify(debug.toOutput()), debug.requestId);
  } catch (error) {
    reportOutputFailure('the log output', debug.requestId, error);
    return;
  }
  // Typed to return nothing, but a JavaScript logger may return a promise.
  const logger: (line: string) => unknown = debug.output.logger;
  const failed = (error: unknown): void => {
    reportOutputFailure('the logger', debug.requestId, error);
  };
  for (const line of lines) {
    try {
      if (!onRejection(logger(line), failed)) return;
    } catch (error) {
      failed(error);
      return;
    }
  }
}
