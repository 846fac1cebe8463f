import { context } from '@opentelemetry/api';
import { InstrumentationBase, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
} from '@opentelemetry/semantic-conventions';
import diagnosticsChannel from 'node:diagnostics_channel';
import {
  TIMING_GROUP,
  VERSION,
  reportHandlerFailure,
  startOperation,
  SUBSCRIPTION_LINGER_MS,
  watchGroupActivity,
  type TimingOperation,
} from '../../src/instrumentation-api';
import { clientSpanKind, propagationHeaders, TRACEPARENT } from '../common/client-propagation';
import { expectConnect } from '../common/connect-owner';
import { nestDownstreamOutput } from '../common/downstream-output';

/** The request object undici publishes, as far as it is read here. */
interface UndiciRequest {
  readonly origin?: unknown;
  readonly method?: unknown;
  readonly path?: unknown;
  /** `name: value\r\n` lines (undici 6), or names and values alternating (undici 7). */
  readonly headers?: unknown;
  readonly addHeader?: unknown;
}

/** Timed requests kept waiting for their connection at most (the oldest is let go beyond). */
const MAX_AWAITING = 1024;

/** What `undici:client:beforeConnect` tells about the connection it is about to open. */
interface ConnectMessage {
  readonly connectParams?: { readonly protocol?: unknown; readonly hostname?: unknown; readonly port?: unknown };
}

/** A timed request not yet sent: a connection undici opens meanwhile to its origin is opened for it. */
interface Awaiting {
  readonly request: object;
  readonly origin: string;
  readonly operation: TimingOperation;
  connecting: boolean;
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
 *
 * `http_request` is a CLIENT span with OpenTelemetry's HTTP client
 * attributes, unless the request already carries a `traceparent` when it
 * is created (OpenTelemetry's instrumentation-undici, subscribed first,
 * made the CLIENT span and injected it): then it is INTERNAL and nothing
 * is injected. Otherwise, for a request that holds groups enabled on it,
 * the global propagator's headers (`traceparent`, and the signed groups
 * with `SignedGroupsPropagator`) are added to it, with `http_request` as
 * the parent. The connection undici opens for the request (timed by
 * `NetInstrumentation`) nests under its `http_request`.
 */
export class UndiciInstrumentation extends InstrumentationBase {
  declare private stopWatching: (() => void) | undefined;
  declare private subscribed: boolean | undefined;
  declare private operations: WeakMap<object, TimingOperation> | undefined;
  /** Timed requests not sent yet, oldest first (a new connection is for the oldest one of its origin). */
  declare private awaiting: Awaiting[] | undefined;
  declare private listeners: readonly (readonly [string, (message: unknown) => void])[] | undefined;

  constructor(config: InstrumentationConfig = {}) {
    super('dynamic-hooks-undici', VERSION, config);
  }

  protected init(): [] {
    return [];
  }

  /**
   * Enables the instrumentation: from now on it subscribes to undici's
   * diagnostics channels whenever group `timing` is enabled somewhere, and
   * unsubscribes once it has not been for `SUBSCRIPTION_LINGER_MS`.
   */
  override enable(): void {
    super.enable();
    this.stopWatching ??= watchGroupActivity(
      TIMING_GROUP,
      (active) => {
        if (active) this.subscribe();
        else this.unsubscribe();
      },
      SUBSCRIPTION_LINGER_MS,
    );
  }

  /** Disables the instrumentation: unsubscribes from undici's diagnostics channels and stops watching group `timing`. */
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
      ['undici:client:beforeConnect', (message) => this.onBeforeConnect(message as ConnectMessage)],
      ['undici:client:sendHeaders', (message) => this.sent((message as { request: object }).request)],
      ['undici:request:headers', (message) => this.onHeaders(message as HeadersMessage)],
      ['undici:request:trailers', (message) => this.end((message as { request: object }).request)],
      [
        'undici:request:error',
        (message) => {
          const { request, error } = message as { request: object; error: unknown };
          this.end(request, error);
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
    // Nothing tells any more when these are sent.
    this.awaiting = undefined;
  }

  private onCreate({ request }: { request: UndiciRequest }): void {
    try {
      const origin = typeof request.origin === 'string' ? new URL(request.origin) : undefined;
      if (origin === undefined) return;
      const port = origin.port !== '' ? Number(origin.port) : origin.protocol === 'https:' ? 443 : 80;
      const destination = `${origin.protocol}//${origin.hostname}:${port}`;
      const method = typeof request.method === 'string' ? request.method : 'GET';
      const propagated = headerValue(request.headers, TRACEPARENT) !== undefined;
      const operation = startOperation(
        ['external_http', destination, 'http_request'],
        {
          [ATTR_HTTP_REQUEST_METHOD]: method,
          [ATTR_SERVER_ADDRESS]: origin.hostname.replace(/^\[|\]$/g, ''),
          [ATTR_SERVER_PORT]: port,
          [ATTR_URL_FULL]: `${destination}${typeof request.path === 'string' ? request.path : ''}`,
        },
        clientSpanKind(propagated),
      );
      if (operation === undefined) return;
      this.operations ??= new WeakMap();
      this.operations.set(request, operation);
      const awaiting = (this.awaiting ??= []);
      if (awaiting.length >= MAX_AWAITING) awaiting.shift();
      awaiting.push({ request, origin: destination, operation, connecting: false });
      if (!propagated) inject(request, operation);
    } catch (error) {
      reportHandlerFailure(TIMING_GROUP, 'undici:request:create', error);
    }
  }

  /** A connection about to be opened: for the oldest timed request of its origin that has none coming. */
  private onBeforeConnect({ connectParams }: ConnectMessage): void {
    const awaiting = this.awaiting;
    if (awaiting === undefined || awaiting.length === 0 || connectParams === undefined) return;
    const { protocol, hostname, port } = connectParams;
    if (typeof protocol !== 'string' || typeof hostname !== 'string') return;
    const number = port !== undefined && port !== '' && port !== null ? Number(port) : protocol === 'https:' ? 443 : 80;
    const host = hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname;
    const origin = `${protocol}//${host}:${number}`;
    const entry = awaiting.find((candidate) => !candidate.connecting && candidate.origin === origin);
    if (entry === undefined) return;
    entry.connecting = true;
    expectConnect(entry.operation, number);
  }

  /** The request is on its way: a later connection is not for it. */
  private sent(request: object): void {
    const awaiting = this.awaiting;
    if (awaiting === undefined || awaiting.length === 0) return;
    const i = awaiting.findIndex((entry) => entry.request === request);
    if (i >= 0) awaiting.splice(i, 1);
  }

  private end(request: object, error?: unknown): void {
    const operation = this.operationOf(request);
    if (operation === undefined) return;
    this.sent(request);
    operation.end(error);
  }

  private onHeaders({ request, response }: HeadersMessage): void {
    const operation = this.operationOf(request);
    const status = response.statusCode ?? 0;
    operation?.setAttributes({ [ATTR_HTTP_RESPONSE_STATUS_CODE]: status });
    if (status >= 400) operation?.markFailed(`HTTP ${status}`, String(status));
    if (operation !== undefined) nestDownstreamOutput(operation, rawHeader(response.headers, operation.outputHeader));
  }

  private operationOf(request: object): TimingOperation | undefined {
    return this.operations?.get(request);
  }
}

/** Adds the propagation headers to a request that holds groups enabled on it. */
function inject(request: UndiciRequest, operation: TimingOperation): void {
  const addHeader = request.addHeader;
  if (typeof addHeader !== 'function') return;
  // A baggage header the application set stays as it is (undici cannot
  // replace one); ours goes in a second, which the receiver joins to it.
  const headers = propagationHeaders(operation, context.active());
  if (headers === undefined) return;
  for (const [name, value] of Object.entries(headers)) addHeader.call(request, name, value);
}

/** The value of header `lowerName` among a request's headers, as undici 6 (a string) or 7 (an array) keeps them. */
function headerValue(headers: unknown, lowerName: string): string | undefined {
  if (typeof headers === 'string') {
    for (const line of headers.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon === lowerName.length && line.slice(0, colon).toLowerCase() === lowerName) {
        return line.slice(colon + 1).trim();
      }
    }
    return undefined;
  }
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === lowerName) return String(headers[i + 1]);
    }
  }
  return undefined;
}

/** The value of header `lowerName` among undici's raw response headers. */
function rawHeader(headers: readonly (Buffer | string)[] | undefined, lowerName: string): string | undefined {
  if (headers === undefined) return undefined;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i].toString('latin1').toLowerCase() === lowerName) return headers[i + 1].toString('latin1');
  }
  return undefined;
}
