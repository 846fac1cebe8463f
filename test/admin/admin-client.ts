import { send, type Reply } from '../helpers/http';

/** A response as the admin tests read it. */
export interface AdminReply extends Reply {
  /** The body parsed as JSON. */
  json(): Record<string, unknown>;
}

export interface AdminRequest {
  readonly method?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** Send the body with chunked transfer encoding (no Content-Length). */
  readonly chunked?: boolean;
}

/** Sends one real HTTP request over a fresh connection and reads the whole response. */
export async function adminRequest(url: string, request: AdminRequest = {}): Promise<AdminReply> {
  const headers: Record<string, string> = { ...request.headers };
  if (request.token !== undefined) headers.authorization = `Bearer ${request.token}`;
  if (request.body !== undefined && request.chunked !== true) {
    headers['content-length'] = String(Buffer.byteLength(request.body));
  }
  const reply = await send(url, headers, request.method, request.body);
  return { ...reply, json: () => JSON.parse(reply.body) as Record<string, unknown> };
}

/** `PUT <url>/groups/<name>` with a JSON body. */
export function putGroup(base: string, name: string, body: unknown, token: string): Promise<AdminReply> {
  return adminRequest(`${base}/groups/${encodeURIComponent(name)}`, {
    method: 'PUT',
    token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}
