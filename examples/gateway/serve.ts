import type { AddressInfo } from 'node:net';
import { ConfigError } from './config';
import { ConfigFileError, loadConfigFile } from './config-file';
import type { Gateway } from './gateway';
import { startTelemetry, type Telemetry } from './telemetry';

/** How the gateway command starts. */
export interface ServeOptions {
  /** The JSON configuration file. */
  readonly configFile: string;
  /** Overrides the file's `listen.port`. */
  readonly port?: number;
  /** Where the gateway's own lines and the timing log output go: one line each (default stdout). */
  readonly log?: (line: string) => void;
  readonly env?: NodeJS.ProcessEnv;
}

/** What stopping did. */
export interface StopResult {
  /** Requests still in flight when the grace period ran out, closed unfinished. */
  readonly cut: number;
  /** The pending spans were exported (or there were none to export) in time. */
  readonly flushed: boolean;
}

/** A gateway serving. */
export interface RunningGateway {
  /** `http://host:port` it listens on. */
  readonly url: string;
  /** Where spans go, or undefined when they are not exported. */
  readonly exportsTo: string | undefined;
  /** Stops accepting, lets requests in flight finish (bounded), then exports the pending spans. */
  stop(): Promise<StopResult>;
}

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PORT = 8000;
/** How long the export of pending spans may take when stopping. */
const FLUSH_TIMEOUT_MS = 5_000;

/**
 * Starts the gateway from a configuration file: reads and checks it
 * (throwing a `ConfigFileError` that names the file, the key and what was
 * expected), starts OpenTelemetry with the timing module (settings from the
 * file's `timing`, `DYNAMIC_HOOKS_*` and `OTEL_*` from the environment),
 * then loads the gateway, so that the instrumentations patch the libraries
 * it loads, and listens. Says where, in one line.
 */
export async function serve(options: ServeOptions): Promise<RunningGateway> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const config = loadConfigFile(options.configFile);
  let telemetry: Telemetry;
  try {
    telemetry = startTelemetry(config.timing ?? {}, log, options.env);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigFileError(options.configFile, error.message);
    throw error;
  }
  // Loaded now, after the instrumentations: they patch what it loads (ioredis).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createGateway } = require('./gateway') as typeof import('./gateway');
  const gateway: Gateway = createGateway(config, { warn: log });
  const host = config.listen?.host ?? DEFAULT_HOST;
  const port = options.port ?? config.listen?.port ?? DEFAULT_PORT;
  try {
    await new Promise<void>((resolve, reject) => {
      gateway.server.once('error', reject);
      gateway.server.listen(port, host, () => {
        gateway.server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await gateway.close();
    await telemetry.shutdown(FLUSH_TIMEOUT_MS);
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`cannot listen on ${host}:${port}: ${code === 'EADDRINUSE' ? 'address in use' : String(error)}`, {
      cause: error,
    });
  }
  const address = gateway.server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  const routes = config.routes.length;
  const services = Object.keys(config.services).length;
  log(
    `gateway: listening on ${url} (${options.configFile}: ${routes} route${routes === 1 ? '' : 's'}, ` +
      `${services} service${services === 1 ? '' : 's'}; ` +
      `${config.redis === undefined ? 'no Redis' : `Redis ${config.redis.host}:${config.redis.port}`}; ` +
      `spans ${telemetry.exportsTo === undefined ? 'not exported' : `to ${telemetry.exportsTo}`})`,
  );
  const graceMs = (config.shutdownTimeoutSeconds ?? 10) * 1000;
  let stopping: Promise<StopResult> | undefined;
  return {
    url,
    exportsTo: telemetry.exportsTo,
    stop() {
      stopping ??= (async () => {
        const cut = await gateway.close(graceMs);
        const flushed = await telemetry.shutdown(FLUSH_TIMEOUT_MS);
        return { cut, flushed };
      })();
      return stopping;
    },
  };
}
