import { context } from '@opentelemetry/api';
import { InstrumentationNodeModuleDefinition, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions';
import type * as http from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import {
  callOperation,
  isShimmerWrapped,
  removeHeaders,
  startOperation,
  type TimingOperation,
} from '../../src/instrumentation-api';
import { clientSpanKind, propagationHeaders, TRACEPARENT } from '../common/client-propagation';
import { nestDownstreamOutput } from '../common/downstream-output';
import { endOperationWithError } from '../common/end-operation';
import { observeEmits } from '../common/observe-emits';
import { TimingHookInstrumentation } from '../common/timing-hook-instrumentation';
import { carriesHeader, destinationName, httpDestination } from './destination';

type HttpModule = Pick<typeof http, 'request' | 'get'> & { Agent?: typeof http.Agent };

/**
 * Times outgoing HTTP requests made with `http.request`/`get` and
 * `https.request`/`get` as Kong times resty.http: `external_http` >
 * `http(s)://host:port` > `http_request`, from the call until the response
 * has been read to its end (or the request failed or was aborted). A
 * debugged service's output in the response (`X-Request-Debug-Output`) is
 * nested under `http_request` as `downstream` and removed from the response.
 *
 * `http_request` is a CLIENT span with OpenTelemetry's HTTP client
 * attributes (status ERROR from 400 on, or when the request fails), unless
 * OpenTelemetry's HttpInstrumentation makes the CLIENT span of the same
 * call (it wraps `http.request` inside ours, or the request reaches us
 * with its `traceparent`): then ours is INTERNAL. For a request that holds
 * groups enabled on it, the global propagator's headers (`traceparent`, and
 * the signed groups with `SignedGroupsPropagator`) are set on the request,
 * with `http_request` as the parent, when the request is handed to its
 * agent, unless a `traceparent` is already set by then (HttpInstrumentation
 * injected, or the application): one `traceparent` per request. A request
 * made with `createConnection` and no agent gets none.
 */
export class HttpClientInstrumentation extends TimingHookInstrumentation {
  constructor(config: InstrumentationConfig = {}) {
    super('http-client', config);
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    return (['http', 'https'] as const).map(
      (name) =>
        new InstrumentationNodeModuleDefinition(
          name,
          ['*'],
          (exports: HttpModule) => {
            const protocol = name === 'https' ? 'https:' : 'http:';
            const handlers = (key: 'request' | 'get') => requestHandlers(protocol, isShimmerWrapped(exports[key]));
            this.hookTiming(exports, 'request', 'varargs', handlers('request'), { name: `${name}.request` });
            this.hookTiming(exports, 'get', 'varargs', handlers('get'), { name: `${name}.get` });
            if (name === 'http' && exports.Agent !== undefined) {
              this.hookTiming(exports.Agent.prototype as unknown as AgentInternals, 'addRequest', 2, ADD_REQUEST, {
                name: 'http.Agent#addRequest',
              });
            }
            return exports;
          },
          (exports: HttpModule | undefined) => {
            this.unhookAll(exports?.Agent?.prototype);
            this.unhookAll(exports);
          },
        ),
    );
  }
}

/** Undocumented, but stable since Node 0.x: where a request meets its agent. */
interface AgentInternals {
  addRequest(request: ClientRequest, options: unknown): void;
}

/**
 * The request whose `http.request` / `http.get` call is running and may
 * still get the propagation headers: set by the call's before-handler,
 * taken when the call hands its `ClientRequest` to the agent (synchronously
 * inside the call, before `http.get` ends it and its headers are sent),
 * cleared when the call returns.
 */
let injecting: TimingOperation | undefined;

function requestHandlers(defaultProtocol: 'http:' | 'https:', clientSpanInside: boolean) {
  return {
    befores: [
      (...args: unknown[]): void => {
        const destination = httpDestination(args, defaultProtocol);
        if (destination === undefined) return;
        const operation = startOperation(
          ['external_http', destinationName(destination), 'http_request'],
          {
            [ATTR_HTTP_REQUEST_METHOD]: destination.method,
            [ATTR_SERVER_ADDRESS]: destination.socketPath ?? destination.host,
            [ATTR_SERVER_PORT]: destination.port,
            [ATTR_URL_FULL]: `${destinationName(destination)}${destination.path}`,
          },
          clientSpanKind(carriesHeader(args, TRACEPARENT), clientSpanInside),
        );
        // An inner call of the same request (opening nothing) leaves the outer one's.
        if (operation?.span !== undefined) injecting = operation;
      },
    ],
    afters: [
      (request: unknown): void => {
        injecting = undefined;
        const operation = callOperation();
        if (operation !== undefined) followRequest(request as ClientRequest, operation);
      },
    ],
    errors: [
      (error: unknown): void => {
        injecting = undefined;
        endOperationWithError(error);
      },
    ],
  };
}

/** `Agent#addRequest(request, options)`: the request's headers can still be set, and are final but for ours. */
const ADD_REQUEST = {
  befores: [
    (request: unknown): void => {
      const operation = injecting;
      if (operation === undefined) return;
      injecting = undefined;
      injectInto(request as ClientRequest, operation);
    },
  ],
};

function injectInto(request: ClientRequest, operation: TimingOperation): void {
  if (request.headersSent || request.getHeader(TRACEPARENT) !== undefined) return;
  const existing = request.getHeader('baggage');
  const headers = propagationHeaders(
    operation,
    context.active(),
    typeof existing === 'string' ? existing : Array.isArray(existing) ? existing.join(',') : undefined,
  );
  if (headers === undefined) return;
  for (const [name, value] of Object.entries(headers)) request.setHeader(name, value);
}

/** Ends the operation when the response has been read, or when the request fails or closes first. */
function followRequest(request: ClientRequest, operation: TimingOperation): void {
  observeEmits(request, 'http_request', (event, args) => {
    if (event === 'response') followResponse(args[0] as IncomingMessage, operation);
    else if (event === 'error') operation.end(args[0]);
    else if (event === 'close') operation.end();
  });
}

function followResponse(response: IncomingMessage, operation: TimingOperation): void {
  // Once nested, the output is part of this request's own: removed before the
  // application sees the response, so that a proxy does not pass it on.
  const header = operation.outputHeader;
  if (nestDownstreamOutput(operation, response.headers[header])) removeHeaders(response, [header]);
  const status = response.statusCode ?? 0;
  operation.setAttributes({ [ATTR_HTTP_RESPONSE_STATUS_CODE]: status });
  if (status >= 400) operation.markFailed(`HTTP ${status}`, String(status));
  observeEmits(response, 'http_response', (event, args) => {
    if (event === 'end') operation.end();
    else if (event === 'error') operation.end(args[0]);
    else if (event === 'aborted') operation.end(new Error('response aborted'));
  });
}
