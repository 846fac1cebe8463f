import type { IncomingMessage } from 'node:http';
import { tokenMatches } from '../token/debug-token';

/** Why a request may not use the admin endpoint, or undefined if it may. */
export type AuthRefusal = { readonly status: 401 | 403; readonly message: string } | undefined;

/**
 * Checks `Authorization: Bearer <token>` against the configured token, in
 * constant time: 401 when no bearer token was sent, 403 when it is wrong.
 */
export function checkBearerToken(req: IncomingMessage, expected: string): AuthRefusal {
  const presented = bearerToken(req.headers.authorization);
  if (presented === undefined) {
    return { status: 401, message: 'send the admin token as "Authorization: Bearer <token>"' };
  }
  if (!tokenMatches(presented, expected)) return { status: 403, message: 'wrong admin token' };
  return undefined;
}

function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
