import { InstrumentationNodeModuleDefinition, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import type * as http from 'node:http';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { removeHeaders } from '../../src/server/raw-headers';
import { callOperation, startOperation, type TimingOperation } from '../../src/timing/operations';
import { nestDownstreamOutput } from '../common/downstream-output';
import { endOperationWithError } from '../common/end-operation';
import { observeEmits } from '../common/observe-emits';
import { TimingHookInstrumentation } from '../common/timing-hook-instrumentation';
import { destinationName, httpDestination } from './destination';

type HttpModule = Pick<typeof http, 'request' | 'get'>;

/**
 * Times outgoing HTTP requests made with `http.request`/`get` and
 * `https.request`/`get` as Kong times resty.http: `external_http` >
 * `http(s)://host:port` > `http_request`, from the call until the response
 * has been read to its end (or the request failed or was aborted). A
 * debugged service's output in the response (`X-Request-Debug-Output`) is
 * nested under `http_request` as `downstream` and removed from the response.
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
            const handlers = requestHandlers(name === 'https' ? 'https:' : 'http:');
            this.hookTiming(exports, 'request', 'varargs', handlers, { name: `${name}.request` });
            this.hookTiming(exports, 'get', 'varargs', handlers, { name: `${name}.get` });
            return exports;
          },
          (exports: HttpModule | undefined) => {
            this.unhookAll(exports);
          },
        ),
    );
  }
}

function requestHandlers(defaultProtocol: 'http:' | 'https:') {
  return {
    befores: [
      (...args: unknown[]): void => {
        const destination = httpDestination(args, defaultProtocol);
        if (destination === undefined) return;
        startOperation(['external_http', destinationName(destination), 'http_request'], {
          'http.request.method': destination.method,
          'server.address': destination.socketPath ?? destination.host,
          'server.port': destination.port,
          'url.full': `${destinationName(destination)}${destination.path}`,
        });
      },
    ],
    afters: [
      (request: unknown): void => {
        const operation = callOperation();
        if (operation !== undefined) followRequest(request as ClientRequest, operation);
      },
    ],
    errors: [endOperationWithError],
  };
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
  operation.setAttributes({ 'http.response.status_code': status });
  if (status >= 400) operation.markFailed(`HTTP ${status}`, String(status));
  observeEmits(response, 'http_response', (event, args) => {
    if (event === 'end') operation.end();
    else if (event === 'error') operation.end(args[0]);
    else if (event === 'aborted') operation.end(new Error('response aborted'));
  });
}
