import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { DebugCommand } from './args';

/** What came back from a debugged request. */
export interface DebugReply {
  readonly status: number;
  readonly statusText: string;
  /** The `<prefix>-Output` header, if the server debugged the request. */
  readonly output: string | undefined;
  /** Body size in bytes (the body itself is read and dropped). */
  readonly bodyBytes: number;
  /** From sending the request until the body's last byte, as the client saw it. */
  readonly elapsedMs: number;
}

/** The request headers that ask for debugging: the user's `-H` headers, then ours (which win). */
export function debugHeaders(command: DebugCommand): Record<string, string> {
  const headers: Record<string, string> = {};
  const prefix = command.headerPrefix.toLowerCase();
  const ours = new Set([prefix, `${prefix}-token`, `${prefix}-log`]);
  for (const [name, value] of command.headers) {
    if (!ours.has(name.toLowerCase())) headers[name] = value;
  }
  headers[command.headerPrefix] = '*';
  if (command.token !== undefined) headers[`${command.headerPrefix}-Token`] = command.token;
  if (command.log) headers[`${command.headerPrefix}-Log`] = 'true';
  return headers;
}

/**
 * Sends the request with the debug headers over a fresh connection, reads
 * the whole response and returns its status and debug output.
 */
export function sendDebugRequest(command: DebugCommand): Promise<DebugReply> {
  const client = command.url.protocol === 'https:' ? https : http;
  const headers = debugHeaders(command);
  const body = command.data === undefined ? undefined : Buffer.from(command.data);
  if (body !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-length')) {
    headers['Content-Length'] = String(body.length);
  }
  const outputHeader = `${command.headerPrefix}-Output`.toLowerCase();
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = client.request(
      command.url,
      {
        method: command.method,
        headers,
        agent: false,
        timeout: command.timeoutMs,
        ...(command.insecure ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        let bodyBytes = 0;
        res.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
        res.on('error', reject);
        res.on('end', () => {
          const output = res.headers[outputHeader];
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            output: Array.isArray(output) ? output[0] : output,
            bodyBytes,
            elapsedMs: performance.now() - started,
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no response within ${command.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
