import { type Attributes, type SpanKind } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { currentCallFrame } from '../core/call-frame';
import { activeDebugRequest, debugMayBeActive, debugRequestIn } from './debug-request';
import type { TimingOperation } from './timing-operation';
import { activeContext } from '../core/context-manager';

export type { TimingOperation } from './timing-operation';

/**
 * Starts the timing contexts `names` (outermost first) for the debugged
 * request the current code belongs to; `undefined` outside one, and where
 * OpenTelemetry tracing is suppressed (`suppressTracing`: an exporter's
 * own requests, which would otherwise show up in the tree). Called from a
 * hooked call's before-handler, what the call does next nests under the
 * operation. `attributes` go to the innermost span, and so does `kind`
 * (default `INTERNAL`; `CLIENT` for a request to another service).
 */
export function startOperation(
  names: readonly string[],
  attributes?: Attributes,
  kind?: SpanKind,
): TimingOperation | undefined {
  if (!debugMayBeActive()) return undefined;
  const active = activeContext();
  const ctx = currentCallFrame()?.context ?? active;
  const debug = debugRequestIn(ctx);
  if (debug === undefined || isTracingSuppressed(active)) return undefined;
  return debug.startOperation(names, attributes, kind, ctx);
}

/** In a hooked call's after or error handler: the operation its before-handler started. */
export function callOperation(): TimingOperation | undefined {
  return activeDebugRequest()?.callOperation();
}
