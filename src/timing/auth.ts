import { context, propagation, trace, type Context } from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { enableOnThisRequest } from '../core/groups';
import { activeRequestScope } from '../core/request-scope';
import { hasHeaderWithPrefix } from '../server/raw-headers';
import { isLoopback } from './client-address';
import { attachDebugRequest, DebugRequest, debugRequestOfScope } from './debug-request';
import type { TimingSettings } from './settings';
import { tokenMatches } from './token';

/** The group that `timing:auth`'s hook turns on for a debugged request. */
export const TIMING_GROUP = 'timing';

/**
 * The `timing:auth` hook: decides whether a request is debugged. Removes
 * the three debug request headers whatever the outcome, so the application
 * never sees them; accepts only the exact value `*`; loopback clients need
 * no token, others must send the configured one. On success it enables
 * the `timing` group on the request and starts its timing tree.
 */
export function authorizeRequest(settings: TimingSettings, req: IncomingMessage, res: ServerResponse): void {
  const names = settings.headers;
  // rawHeaders first: most requests carry no debug header, and reading
  // req.headers would build the parsed headers object for nothing.
  if (!hasHeaderWithPrefix(req.rawHeaders, names.request)) return;
  const headers = req.headers;
  const value = headers[names.request];
  const token = headers[names.token];
  const log = headers[names.log];
  removeRequestHeaders(req, [names.request, names.token, names.log]);
  if (value !== '*') return;

  const scope = activeRequestScope();
  if (scope === undefined || debugRequestOfScope(scope) !== undefined) return;
  const client = settings.trustedProxies.clientAddress(
    req.socket.remoteAddress,
    headers['x-real-ip'],
    headers['x-forwarded-for'],
  );
  const loopback = isLoopback(client);
  if (!loopback && !tokenMatches(token, settings.token)) return;

  const debug = new DebugRequest({
    requestId: randomUUID(),
    loopback,
    log: log === 'true',
    tracer: settings.tracer(),
    parentContext: parentContext(headers),
    rootSpanName: `request_debug ${req.method ?? ''}`.trim(),
    rootAttributes: {
      'http.request.method': req.method ?? '',
      'url.path': (req.url ?? '').split('?')[0],
      ...(client !== undefined ? { 'client.address': client } : {}),
    },
    output: {
      headerName: settings.headers.output,
      setHeader: (name, headerValue) => {
        if (!res.headersSent) res.setHeader(name, headerValue);
      },
      logger: settings.logger,
    },
  });
  attachDebugRequest(scope, debug);
  enableOnThisRequest(TIMING_GROUP);
}

/** The active span if there is one (an HTTP server instrumentation's), else the incoming `traceparent`. */
function parentContext(headers: IncomingMessage['headers']): Context {
  const active = context.active();
  if (trace.getSpan(active) !== undefined) return active;
  return propagation.extract(active, headers);
}

function removeRequestHeaders(req: IncomingMessage, lowerNames: readonly string[]): void {
  for (const name of lowerNames) Reflect.deleteProperty(req.headers, name);
  const raw = req.rawHeaders;
  for (let i = raw.length - 2; i >= 0; i -= 2) {
    if (lowerNames.includes(raw[i].toLowerCase())) raw.splice(i, 2);
  }
}
