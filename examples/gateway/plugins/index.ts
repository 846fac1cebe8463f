import type Redis from 'ioredis';
import type { PluginConfig, RouteConfig } from '../config';
import { bufferingResponse } from './buffering-response';
import { externalHttpCalls } from './external-http-calls';
import type { Plugin } from './plugin';
import { rateLimiting } from './rate-limiting';

export type { BufferedResponse, Plugin, PluginContext } from './plugin';

/** The plugins of a route, in configuration order. */
export function createPlugins(route: RouteConfig, redis: Redis | undefined): Plugin[] {
  return (route.plugins ?? []).map((plugin: PluginConfig, index) => {
    const id = plugin.id ?? `${route.name}:${plugin.name}:${index}`;
    const config = plugin.config ?? {};
    switch (plugin.name) {
      case 'rate-limiting':
        return rateLimiting(id, config, redis);
      case 'external-http-calls':
        return externalHttpCalls(id, config);
      case 'buffering-response':
        return bufferingResponse(id);
      default:
        throw new TypeError(`route ${route.name}: unknown plugin '${plugin.name}'`);
    }
  });
}
