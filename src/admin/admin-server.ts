import { diag } from '@opentelemetry/api';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLoopback } from '../timing/client-address';
import { adminHandler } from './admin-handler';
import { adminSettings, serverAddress, type AdminServerOptions } from './options';

/** A running admin server, from {@link startAdminServer}. */
export interface AdminServer {
  /** The admin endpoint's base URL, base path included: `http://127.0.0.1:41234/dynamic-hooks`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The underlying server (e.g. to `unref()` it). */
  readonly server: http.Server;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

/**
 * Starts the admin endpoint (see {@link createAdminHandler}) on its own
 * HTTP server, bound to `127.0.0.1` unless `options.host` says otherwise,
 * on `options.port` (default 0: an ephemeral port, see the result's
 * `port` and `url`). Binding a non-loopback address is logged as a
 * warning: the token then crosses the network in clear text.
 *
 * The promise rejects with a TypeError naming the option for invalid
 * options, and with the listen error when the server cannot listen
 * (e.g. `EADDRINUSE`).
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const settings = adminSettings(options);
  const { port, host } = serverAddress(options);
  const server = http.createServer(adminHandler(settings));
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => {
    diag.error(`dynamic-hooks admin: server error: ${String(error)}`);
  });
  const address = server.address() as AddressInfo;
  const hostInUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${hostInUrl}:${address.port}${settings.basePath}`;
  if (!isLoopback(address.address)) {
    diag.warn(`dynamic-hooks admin: listening on ${url}, beyond loopback; the token travels in clear text`);
  } else {
    diag.info(`dynamic-hooks admin: listening on ${url}`);
  }
  return {
    url,
    host: address.address,
    port: address.port,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (!server.listening) {
          resolve();
          return;
        }
        server.close((error) => {
          if (error !== undefined) reject(error);
          else resolve();
        });
        server.closeAllConnections();
      }),
  };
}
