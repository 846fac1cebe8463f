import { diag } from '@opentelemetry/api';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLoopback } from '../timing/client-address';
import { adminHandler } from './admin-handler';
import { announcePrimaryEndpoint } from './cluster-relay';
import { adminSettings, serverAddress, serverLimits, type AdminServerOptions } from './options';

/** A running admin server, from {@link startAdminServer}. */
export interface AdminServer {
  /** The admin endpoint's base URL, base path included: `http://127.0.0.1:41234/dynamic-hooks`. */
  readonly url: string;
  /** The address the server is bound to, e.g. `127.0.0.1` or `::1`. */
  readonly host: string;
  /** The port the server listens on (the one the system picked when `options.port` was 0). */
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
 * Slow clients are bounded: a client has `headersTimeoutMs` (default
 * 5 s) to send its headers and `requestTimeoutMs` (default 5 s) to send
 * the whole request, enforced within a quarter of `headersTimeoutMs`
 * (at most 1 s) of expiry; idle keep-alive connections close after
 * `keepAliveTimeoutMs` (default 1 s); beyond `maxConnections` (default 32)
 * open connections, new ones are closed on arrival. `close()` closes every
 * connection, slow ones included.
 *
 * The promise rejects with a TypeError or RangeError naming the option for
 * invalid options, and with the listen error when the server cannot listen
 * (e.g. `EADDRINUSE`).
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const settings = adminSettings(options);
  const { port, host } = serverAddress(options);
  const limits = serverLimits(options);
  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks the two timeouts above only this often (30 s by
      // default), so a slow client would otherwise hold its connection
      // that long whatever they say.
      connectionsCheckingInterval: checkingInterval(limits.headersTimeoutMs),
    },
    adminHandler(settings),
  );
  server.maxConnections = limits.maxConnections;
  const listening = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Workers that start the endpoint from the environment ask the primary
  // whether it serves it (its port is then taken).
  const withdraw = settings.cluster
    ? announcePrimaryEndpoint(listening.then(() => urlOf(server, settings.basePath)).catch(() => undefined))
    : () => undefined;
  await listening;
  server.on('error', (error) => {
    diag.error(`dynamic-hooks admin: server error: ${String(error)}`);
  });
  const address = server.address() as AddressInfo;
  const url = urlOf(server, settings.basePath);
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
        withdraw();
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

function urlOf(server: http.Server, basePath: string): string {
  const address = server.address() as AddressInfo;
  const hostInUrl = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${hostInUrl}:${address.port}${basePath}`;
}

/** How often Node looks for connections past their headers or request timeout. */
function checkingInterval(headersTimeoutMs: number): number {
  return Math.max(10, Math.min(1_000, Math.floor(headersTimeoutMs / 4)));
}
