import { diag, propagation, trace, type Attributes, type Context } from '@opentelemetry/api';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { enableOnThisRequest, enablePropagatedGroups } from '../core/groups';
import { activeRequestScope, inPreparedScope, type RequestScope } from '../core/request-scope';
import { enableDebugOtelGroups } from '../otel/debug-groups';
import { mayCarrySignedGroups, propagatedGroupsOf } from '../propagation/propagated-groups';
import { TIMING_GROUP } from '../names/hooks';
import { hasHeaderWithPrefix, parsedHeaderCount, rawHeaderValue, removeHeaders } from '../server/raw-headers';
import { setResponseHeader } from '../server/response-phases';
import { isLoopback } from './client-address';
import { attachDebugRequest, DebugRequest, debugRequestOfScope } from './debug-request';
import type { TimingSettings } from './settings';
import { tokenMatches } from '../token/debug-token';
import { activeContext } from '../core/context-manager';

/**
 * The `timing:auth` hook: decides whether a request is debugged. Removes
 * the three debug request headers whatever the outcome, so the application
 * never sees them; accepts only the exact value `*`; loopback clients need
 * no token, others must send the configured one. On success it enables
 * the `timing` group on the request and starts its timing tree. A request
 * whose `baggage` carries groups signed by a calling service (see
 * `SignedGroupsPropagator`) gets them enabled, and is debugged if `timing`
 * is among them. Groups this process does not know get transient entries,
 * gone when the request ends and capped in number (see
 * `enablePropagatedGroups`), so remote input cannot grow the group table.
 *
 * @returns whether the request is debugged.
 */
export function authorizeRequest(settings: TimingSettings, req: IncomingMessage, res: ServerResponse): boolean {
  // rawHeaders first: most requests carry no debug header, and reading
  // req.headers would build the parsed headers object for nothing.
  const debugHeaders = hasHeaderWithPrefix(req.rawHeaders, settings.headers.request);
  const signedGroups = mayCarrySignedGroups(req.rawHeaders);
  if (!debugHeaders && !signedGroups) return false;
  // Only now in the request's scope: the others pay no context.with.
  return inPreparedScope(() => {
    if (debugHeaders) authorizeDebugHeaders(settings, req, res);
    if (signedGroups) acceptPropagatedGroups(settings, req, res);
    return debugRequestOfScope(activeRequestScope()) !== undefined;
  });
}

function authorizeDebugHeaders(settings: TimingSettings, req: IncomingMessage, res: ServerResponse): void {
  const names = settings.headers;
  // From the raw headers, removed before the parsed ones are built: deleting from those makes them a slower dictionary.
  // Only those Node parsed: past its maxHeadersCount, a header counts for nothing, as the application sees it.
  const raw = req.rawHeaders;
  const parsed = parsedHeaderCount(req);
  const value = rawHeaderValue(raw, names.request, parsed);
  const token = rawHeaderValue(raw, names.token, parsed);
  const log = rawHeaderValue(raw, names.log, parsed);
  // The output header too: an application that echoes request headers must not pass a client's off as ours.
  removeHeaders(req, [names.request, names.token, names.log, names.output.toLowerCase()]);
  if (value !== '*') return;

  const scope = activeRequestScope();
  if (scope === undefined || debugRequestOfScope(scope) !== undefined) return;
  const client = clientOf(settings, req);
  const loopback = isLoopback(client);
  if (!loopback && !tokenMatches(token, settings.token)) return;
  startDebugRequest(settings, req, res, scope, {
    client,
    loopback,
    log: log === 'true',
    parent: parentContext(req.headers),
  });
}

/**
 * Enables the groups a calling service signed (the registered propagator
 * verified them while extracting), provided this request continues the
 * trace they were signed for. A propagated debug request keeps its header
 * output within the 2 KB limit whatever its client's address: the client
 * is a service, whose HTTP parser limits header size, and nested outputs
 * add up along a chain of calls.
 */
function acceptPropagatedGroups(settings: TimingSettings, req: IncomingMessage, res: ServerResponse): void {
  const scope = activeRequestScope();
  if (scope === undefined || scope.ended) return;
  const active = activeContext();
  const extracted = propagation.extract(active, req.headers);
  const propagated = propagatedGroupsOf(extracted);
  if (propagated === undefined) return;
  const parent = trace.getSpan(active) !== undefined ? active : extracted;
  if (trace.getSpanContext(parent)?.traceId !== propagated.traceId) {
    diag.debug(
      'dynamic-hooks: propagated groups dropped: the request does not continue the trace they were signed for',
    );
    return;
  }
  // Remote input: groups this process does not know only get transient,
  // capped entries in the group table (see enablePropagatedGroups).
  enablePropagatedGroups(
    scope,
    propagated.groups.filter((group) => group !== TIMING_GROUP),
  );
  if (!propagated.groups.includes(TIMING_GROUP) || debugRequestOfScope(scope) !== undefined) return;
  startDebugRequest(settings, req, res, scope, {
    client: clientOf(settings, req),
    loopback: false,
    log: propagated.log,
    parent,
  });
}

export interface DebugStart {
  readonly client: string | undefined;
  /** Whether the header output may exceed the 2 KB limit. */
  readonly loopback: boolean;
  readonly log: boolean;
  readonly parent: Context;
  /** False for a request a flag rule debugs: its output goes to the log and spans only, never to the client. */
  readonly toClient?: boolean;
}

export function startDebugRequest(
  settings: TimingSettings,
  req: IncomingMessage,
  res: ServerResponse,
  scope: RequestScope,
  { client, loopback, log, parent, toClient = true }: DebugStart,
): void {
  const debug = new DebugRequest({
    requestId: randomUUID(),
    loopback,
    log,
    tracer: settings.tracer(),
    parentContext: parent,
    rootSpanName: `request_debug ${req.method ?? ''}`.trim(),
    rootAttributes: serverAttributes(req, client),
    maxSpans: settings.maxSpansPerRequest,
    output: {
      response: res,
      headerName: settings.headers.output,
      setHeader: (name, headerValue) => {
        if (toClient) setResponseHeader(scope, res, name, headerValue);
      },
      logger: settings.logger,
    },
  });
  attachDebugRequest(scope, debug);
  enableOnThisRequest(TIMING_GROUP);
  enableDebugOtelGroups(settings.otelGroups);
}

/**
 * The HTTP server attributes OpenTelemetry's HttpInstrumentation writes
 * on its SERVER span (semantic conventions 1.x, stable HTTP), which the
 * root span carries when it is the request's SERVER span.
 */
function serverAttributes(req: IncomingMessage, client: string | undefined): Attributes {
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: req.method ?? '',
    [ATTR_URL_SCHEME]: (req.socket as { encrypted?: boolean } | null)?.encrypted === true ? 'https' : 'http',
    [ATTR_URL_PATH]: pathOf(req.url ?? ''),
  };
  const host = req.headers.host;
  if (host !== undefined) {
    const { address, port } = hostAndPort(host);
    attributes[ATTR_SERVER_ADDRESS] = address;
    if (port !== undefined) attributes[ATTR_SERVER_PORT] = port;
  }
  if (client !== undefined) attributes[ATTR_CLIENT_ADDRESS] = client;
  const userAgent = req.headers['user-agent'];
  if (userAgent !== undefined) attributes[ATTR_USER_AGENT_ORIGINAL] = userAgent;
  return attributes;
}

/** A request target's path: up to its query, if any. */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/** A `Host` header's name and port (`[::1]:8080`, `example.com`). */
function hostAndPort(host: string): { address: string; port: number | undefined } {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(host);
  if (match === null) return { address: host, port: undefined };
  const address = match[1].startsWith('[') ? match[1].slice(1, -1) : match[1];
  return { address, port: match[2] !== undefined ? Number(match[2]) : undefined };
}

export function clientOf(settings: TimingSettings, req: IncomingMessage): string | undefined {
  return settings.clientAddress.of(req.socket.remoteAddress, req.headers);
}

/** The active span if there is one (an HTTP server instrumentation's), else the incoming `traceparent`. */
export function parentContext(headers: IncomingMessage['headers']): Context {
  const active = activeContext();
  if (trace.getSpan(active) !== undefined) return active;
  return propagation.extract(active, headers);
}
