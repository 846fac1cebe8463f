import { InstrumentationBase, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import diagnosticsChannel from 'node:diagnostics_channel';
import { watchGroupActivity } from '../../src/core/group-state';
import { reportHandlerFailure } from '../../src/core/report-failure';
import { startOperation, type TimingOperation } from '../../src/timing/operations';
import { VERSION } from '../../src/version';
import { nestDownstreamOutput } from '../common/downstream-output';
import { TIMING_GROUP } from '../common/timing-hook-instrumentation';

/** The request object undici publishes, as far as it is read here. */
interface UndiciRequest {
  readonly origin?: unknown;
  readonly method?: unknown;
  readonly path?: unknown;
}

interface HeadersMessage {
  readonly request: object;
  /** `headers`: raw names and values, alternating. */
  readonly response: { statusCode?: number; headers?: readonly (Buffer | string)[] };
}

/**
 * Times requests made with `fetch` (Node's built-in undici) and with the
 * `undici` package: `external_http` > `http(s)://host:port` >
 * `http_request`, from the request's creation until its body and trailers
 * have arrived (or it failed). A debugged service's output in the response
 * is nested under `http_request` as `downstream` (and left in the response:
 * a diagnostics channel cannot take it out). It listens to undici's diagnostics channels,
 * and only while the `timing` group is enabled somewhere: while nobody is
 * debugging, undici publishes to no subscriber and pays nothing.
 */
export class UndiciInstrumentation extends InstrumentationBase {
  declare private stopWatching: (() => void) | undefined;
  declare private subscribed: boolean | undefined;
  declare private operations: WeakMap<object, TimingOperation> | undefined;
  declare private listeners: readonly (readonly [string, (message: unknown) => void])[] | undefined;

  constructor(config: InstrumentationConfig = {}) {
    super('dynamic-hooks-undici', VERSION, config);
  }

  protected init(): [] {
    return [];
  }

  override enable(): void {
    super.enable();
    this.stopWatching ??= watchGroupActivity(TIMING_GROUP, (active) => {
      if (active) this.subscribe();
      else this.unsubscribe();
    });
  }

  override disable(): void {
    super.disable();
    this.stopWatching?.();
    this.stopWatching = undefined;
    this.unsubscribe();
  }

  /** The channel listeners, made on first use (the base constructor may already enable the instrumentation). */
  private channels(): readonly (readonly [string, (message: unknown) => void])[] {
    this.listeners ??= [
      ['undici:request:create', (message) => this.onCreate(message as { request: UndiciRequest })],
      ['undici:request:headers', (message) => this.onHeaders(message as HeadersMessage)],
      ['undici:request:trailers', (message) => this.operationOf((message as { request: object }).request)?.end()],
      [
        'undici:request:error',
        (message) => {
          const { request, error } = message as { request: object; error: unknown };
          this.operationOf(request)?.end(error);
        },
      ],
    ];
    return this.listeners;
  }

  private subscribe(): void {
    if (this.subscribed === true) return;
    this.subscribed = true;
    for (const [name, listener] of this.channels()) diagnosticsChannel.subscribe(name, listener);
  }

  private unsubscribe(): void {
    if (this.subscribed !== true) return;
    this.subscribed = false;
    for (const [name, listener] of this.channels()) diagnosticsChannel.unsubscribe(name, listener);
  }

  private onCreate({ request }: { request: UndiciRequest }): void {
    try {
      const origin = typeof request.origin === 'string' ? new URL(request.origin) : undefined;
      if (origin === undefined) return;
      const port = origin.port !== '' ? Number(origin.port) : origin.protocol === 'https:' ? 443 : 80;
      const destination = `${origin.protocol}//${origin.hostname}:${port}`;
      const method = typeof request.method === 'string' ? request.method : 'GET';
      const operation = startOperation(['external_http', destination, 'http_request'], {
        'http.request.method': method,
        'server.address': origin.hostname.replace(/^\[|\]$/g, ''),
        'server.port': port,
        'url.full': `${destination}${typeof request.path === 'string' ? request.path : ''}`,
      });
      if (operation === undefined) return;
      this.operations ??= new WeakMap();
      this.operations.set(request, operation);
    } catch (error) {
      reportHandlerFailure(TIMING_GROUP, 'undici:request:create', error);
    }
  }

  private onHeaders({ request, response }: HeadersMessage): void {
    const operation = this.operationOf(request);
    const status = response.statusCode ?? 0;
    operation?.setAttributes({ 'http.response.status_code': status });
    if (status >= 400) operation?.markFailed(`HTTP ${status}`, String(status));
    if (operation !== undefined) nestDownstreamOutput(operation, rawHeader(response.headers, operation.outputHeader));
  }

  private operationOf(request: object): TimingOperation | undefined {
    return this.operations?.get(request);
  }
}

/** The value of header `lowerName` among undici's raw response headers. */
function rawHeader(headers: readonly (Buffer | string)[] | undefined, lowerName: string): string | undefined {
  if (headers === undefined) return undefined;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i].toString('latin1').toLowerCase() === lowerName) return headers[i + 1].toString('latin1');
  }
  return undefined;
}
