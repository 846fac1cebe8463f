import { InstrumentationNodeModuleDefinition, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { TimingHookInstrumentation } from '../common/timing-hook-instrumentation';
import { redisCommandHandlers } from './command-handlers';

interface IoRedisClient {
  options?: { host?: string; port?: number; path?: string };
  sendCommand(command: { name?: string }, stream?: unknown): unknown;
}
interface IoRedisModule {
  default?: { prototype: IoRedisClient };
}

/**
 * Times every command an ioredis client sends (`Redis#sendCommand`, which
 * every command method ends in) as `redis` > the command name, until its
 * reply. Cluster clients send through their node clients, so they are
 * covered too, once.
 */
export class IoRedisInstrumentation extends TimingHookInstrumentation {
  constructor(config: InstrumentationConfig = {}) {
    super('ioredis', config);
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        'ioredis',
        ['>=4 <7'],
        (exports: IoRedisModule) => {
          const proto = exports.default?.prototype;
          if (proto !== undefined) {
            this.hookTiming(proto, 'sendCommand', 2, HANDLERS, { mode: 'promise', name: 'ioredis.Redis#sendCommand' });
          }
          return exports;
        },
        (exports: IoRedisModule | undefined) => {
          this.unhookAll(exports?.default?.prototype);
        },
      ),
    ];
  }
}

const HANDLERS = redisCommandHandlers<IoRedisClient>(
  (command) => (command as { name?: string } | undefined)?.name,
  (client) => ({ host: client.options?.path ?? client.options?.host, port: client.options?.port }),
);
