import { InstrumentationNodeModuleDefinition, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import { TimingHookInstrumentation } from '../common/timing-hook-instrumentation';
import { redisCommandHandlers } from './command-handlers';

interface NodeRedisClient {
  options?: { socket?: { host?: string; port?: number; path?: string }; url?: string };
  sendCommand(args: readonly unknown[], options?: unknown): unknown;
}
interface NodeRedisModule {
  RedisClient?: { prototype: NodeRedisClient };
}

/**
 * Times every command a node-redis client (`redis` / `@redis/client` 5 and 6)
 * sends (`RedisClient#sendCommand`, which every command method ends in) as
 * `redis` > the command name, until its reply.
 */
export class NodeRedisInstrumentation extends TimingHookInstrumentation {
  constructor(config: InstrumentationConfig = {}) {
    super('node-redis', config);
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        '@redis/client',
        ['>=5 <7'],
        (exports: NodeRedisModule) => {
          const proto = exports.RedisClient?.prototype;
          if (proto !== undefined) {
            this.hookTiming(proto, 'sendCommand', 2, HANDLERS, {
              mode: 'promise',
              name: '@redis/client RedisClient#sendCommand',
            });
          }
          return exports;
        },
        (exports: NodeRedisModule | undefined) => {
          this.unhookAll(exports?.RedisClient?.prototype);
        },
      ),
    ];
  }
}

const HANDLERS = redisCommandHandlers<NodeRedisClient>(
  (args) => {
    const name = Array.isArray(args) ? (args[0] as unknown) : undefined;
    return typeof name === 'string' ? name : Buffer.isBuffer(name) ? name.toString() : undefined;
  },
  (client) => {
    const socket = client.options?.socket;
    if (socket?.path !== undefined) return { host: socket.path, port: undefined };
    if (socket?.host !== undefined || socket?.port !== undefined) return { host: socket.host, port: socket.port };
    if (client.options?.url !== undefined) {
      try {
        const url = new URL(client.options.url);
        return { host: url.hostname, port: url.port === '' ? 6379 : Number(url.port) };
      } catch {
        return { host: undefined, port: undefined };
      }
    }
    return { host: 'localhost', port: 6379 };
  },
);
