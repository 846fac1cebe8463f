import { TOKEN_ENV } from '../names/debug-headers';
import { tellOperator } from './logger';

/**
 * Tells the operator a generated token (through diag at info and once on
 * stderr, see `tellOperator`): the only way they can learn it. A token the
 * user configured is never printed.
 */
export function announceGeneratedToken(token: string): void {
  tellOperator(
    'info',
    `request debugging is on; token for non-loopback clients (generated: set ${TOKEN_ENV} to choose one): ${token}`,
  );
}
