import http from 'node:http';
import type { Plugin } from './plugin';

/**
 * `external-http-calls`: makes `config.calls` HTTP GETs to `config.url`
 * (one after the other) before the request is proxied, as a plugin that
 * calls an auth or policy service would.
 */
export function externalHttpCalls(id: string, config: Readonly<Record<string, unknown>>): Plugin {
  const calls = Number(config.calls ?? 1);
  const url = config.url;
  if (!Number.isInteger(calls) || calls < 0)
    throw new TypeError('external-http-calls: config.calls must be an integer >= 0');
  if (typeof url !== 'string') throw new TypeError('external-http-calls: config.url must be a URL');
  return {
    name: 'external-http-calls',
    id,
    async access() {
      for (let i = 0; i < calls; i++) await get(url);
      return undefined;
    },
  };
}

function get(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        res.resume();
        res.on('end', resolve);
        res.on('error', reject);
      })
      .on('error', reject);
  });
}
