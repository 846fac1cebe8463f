import type Redis from 'ioredis';
import type { Plugin, PluginContext } from './plugin';

/**
 * `rate-limiting`: at most `config.minute` requests per client and route in
 * each minute, counted in Redis (INCR and EXPIRE on a per-minute key);
 * over the limit, the gateway answers 429 itself.
 */
export function rateLimiting(id: string, config: Readonly<Record<string, unknown>>, redis: Redis | undefined): Plugin {
  const limit = Number(config.minute ?? 60);
  if (!Number.isInteger(limit) || limit < 1)
    throw new TypeError(`rate-limiting: config.minute must be a positive integer`);
  if (redis === undefined) throw new TypeError('rate-limiting needs Redis: start the gateway with options.redis');
  return {
    name: 'rate-limiting',
    id,
    async access({ res, route, clientAddress }: PluginContext) {
      const window = Math.floor(Date.now() / 60_000);
      const key = `ratelimit:${route.name}:${clientAddress}:${window}`;
      const count = await redis.incr(key);
      if (count === 1) await redis.expire(key, 60);
      res.setHeader('X-RateLimit-Limit-Minute', String(limit));
      res.setHeader('X-RateLimit-Remaining-Minute', String(Math.max(0, limit - count)));
      if (count <= limit) return undefined;
      res.statusCode = 429;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ message: 'API rate limit exceeded' }));
      return 'responded';
    },
  };
}
