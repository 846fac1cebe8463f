import { context, propagation, ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { isGroupEnabled, timing } from '../../src';

/** Headers that belong to one connection, not to the message (RFC 9110). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
/** Not forwarded: hop-by-hop headers, and an upstream's timing tree, which a client must not take for the gateway's. */
const NOT_FORWARDED = new Set([...HOP_BY_HOP, 'x-request-debug-output']);

/** One upstream request. */
export interface UpstreamRequest {
  readonly address: string;
  readonly port: number;
  readonly hostHeader: string;
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The gateway request's context: upstream timings are reported to its debugged request. */
  readonly requestContext: Context;
  /** The gateway's keep-alive connections to its upstreams. */
  readonly agent: http.Agent;
}

/** The headers to forward: without hop-by-hop ones, nor an upstream's timing output. */
export function forwardableHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!NOT_FORWARDED.has(name) && value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * Sends the request upstream and resolves with the response once its
 * headers arrived. Times it as Kong does: `upstream` > `time_to_first_byte`
 * now, and `upstream` > `streaming` when the body has been read, both under
 * the root (the proxying itself is not an `external_http` call, so it runs
 * outside the request scope; the trace still reaches the upstream through
 * the injected `traceparent`).
 */
export function sendUpstream(request: UpstreamRequest): Promise<IncomingMessage> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(forwardableHeaders(request.headers))) {
    if (value !== undefined) headers[name] = value;
  }
  headers.host = request.hostHeader;
  headers['content-length'] = String(request.body.length);
  propagation.inject(request.requestContext, headers);
  // Only a debugged request needs the context switches: the rest costs nothing extra.
  const debugged = isGroupEnabled('timing');
  const record = (path: readonly string[], start: number, end: number): void => {
    if (debugged) context.with(request.requestContext, () => timing.recordContext(path, start, end));
  };
  const started = performance.now();
  const send = (): Promise<IncomingMessage> =>
    new Promise<IncomingMessage>((resolve, reject) => {
      const upstream = http.request({
        host: request.address,
        port: request.port,
        method: request.method,
        path: request.path,
        headers,
        agent: request.agent,
      });
      upstream.on('error', reject);
      upstream.on('response', (response) => {
        const firstByte = performance.now();
        record(['upstream', 'time_to_first_byte'], started, firstByte);
        response.once('end', () => record(['upstream', 'streaming'], firstByte, performance.now()));
        resolve(response);
      });
      upstream.end(request.body);
    });
  return debugged ? context.with(ROOT_CONTEXT, send) : send();
}

/** Reads a whole message body. */
export async function readBody(message: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of message) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
