import { readFileSync } from 'node:fs';
import { ConfigError, validateConfig, type GatewayConfig } from './config';
import { jsonErrorOffset } from './json-error';

/** A configuration file the gateway cannot run with; the message names the file, the key and what was expected. */
export class ConfigFileError extends Error {
  override readonly name = 'ConfigFileError';

  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

/**
 * Reads and checks a JSON configuration file. Throws a `ConfigFileError` if
 * the file cannot be read, is not JSON, or does not hold a configuration
 * the gateway can run (`gateway.json: routes[1].service: expected ...`).
 */
export function loadConfigFile(file: string): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'a directory, not a file'
          : code === 'EACCES'
            ? 'not readable (permission denied)'
            : (error as Error).message;
    throw new ConfigFileError(file, `cannot read the configuration: ${why}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigFileError(file, `not valid JSON: ${jsonProblem(text, error as Error)}`);
  }
  try {
    const config = validateConfig(value);
    requireRedisForRateLimiting(config);
    return config;
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigFileError(file, error.message);
    throw error;
  }
}

/** The rate-limiting plugin counts in Redis: a file that uses it says where Redis is. */
function requireRedisForRateLimiting(config: GatewayConfig): void {
  if (config.redis !== undefined) return;
  config.routes.forEach((route, i) => {
    route.plugins?.forEach((plugin, j) => {
      if (plugin.name === 'rate-limiting') {
        throw new ConfigError(
          'redis',
          `{ "host": ..., "port": ... } for the rate-limiting plugin of routes[${i}].plugins[${j}]`,
          undefined,
        );
      }
    });
  });
}

/** JSON.parse's message, after the line and column where the text stops being JSON. */
function jsonProblem(text: string, error: Error): string {
  const message = error.message.replace(/\s+/g, ' ');
  const offset = jsonErrorOffset(text);
  if (offset === undefined) return message;
  const before = text.slice(0, offset).split('\n');
  const where =
    offset >= text.length ? 'the text ends' : `line ${before.length}, column ${before[before.length - 1].length + 1}`;
  return `${where}: ${message}`;
}
