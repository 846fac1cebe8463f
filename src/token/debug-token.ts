import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { TOKEN_ENV } from '../names/debug-headers';

/** A fresh random debug token. */
export function generateToken(): string {
  return randomUUID();
}

/**
 * The configured debug token, as `TimingInstrumentation` and
 * `SignedGroupsPropagator` both read it: env `DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN`
 * wins over `token` from the code; `undefined` if neither is set. Throws a `TypeError` for a `token` that is
 * not a non-empty string.
 */
export function configuredToken(token: unknown, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env[TOKEN_ENV];
  const configured = fromEnv !== undefined && fromEnv !== '' ? fromEnv : token;
  if (configured === undefined) return undefined;
  if (typeof configured !== 'string' || configured.length === 0) {
    throw new TypeError('token must be a non-empty string');
  }
  return configured;
}

/** Compares a presented token with the expected one in constant time (both are hashed to equal length first). */
export function tokenMatches(presented: unknown, expected: string): boolean {
  if (typeof presented !== 'string' || presented.length === 0) return false;
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
