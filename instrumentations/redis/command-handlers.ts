import { startOperation } from '../../src/instrumentation-api';
import { endOperation, endOperationWithError } from '../common/end-operation';

/** Where a Redis client is connected, as far as its options tell. */
export interface RedisEndpoint {
  readonly host: string | undefined;
  readonly port: number | undefined;
}

/**
 * Handlers that time one Redis command from the call until its reply (the
 * returned promise settles): `redis` > the command name, with the database
 * semantic-convention attributes on its span. A Redis error reply ends it
 * as failed.
 */
export function redisCommandHandlers<This>(
  commandName: (this: This, ...args: unknown[]) => string | undefined,
  endpoint: (self: This) => RedisEndpoint,
) {
  return {
    befores: [
      function (this: This, ...args: unknown[]): void {
        const name = commandName.apply(this, args);
        if (name === undefined) return;
        const { host, port } = endpoint(this);
        startOperation(['redis', name.toLowerCase()], {
          'db.system.name': 'redis',
          'db.operation.name': name.toUpperCase(),
          ...(host !== undefined ? { 'server.address': host } : {}),
          ...(port !== undefined ? { 'server.port': port } : {}),
        });
      },
    ],
    afters: [endOperation],
    errors: [endOperationWithError],
  };
}
