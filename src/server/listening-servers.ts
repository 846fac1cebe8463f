import type { Server } from 'node:net';

/**
 * The servers that started listening while the server integration was
 * installed (it sees their `listening` and `close` events), so that
 * `dynamic-hooks/register` can stop them from taking new work at a
 * terminating signal. A server leaves the set when it closes.
 */
const listening = new Set<Server>();

/** Records a server's `listening` or `close` event. */
export function trackListening(server: Server, event: 'listening' | 'close'): void {
  if (event === 'listening') listening.add(server);
  else listening.delete(server);
}

/** How often idle keep-alive connections are closed while servers drain. */
const IDLE_SWEEP_MS = 50;

/**
 * Stops every tracked server from accepting connections and closes its
 * idle keep-alive connections, including those that become idle when their
 * response is done; requests in flight run on. Resolves when every server
 * has closed (the caller bounds the wait).
 */
export function closeListeningServers(): Promise<void> {
  const servers = [...listening];
  if (servers.length === 0) return Promise.resolve();
  const closed = servers.map(
    (server) =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  );
  const sweep = (): void => {
    for (const server of servers) {
      (server as Partial<{ closeIdleConnections(): void }>).closeIdleConnections?.();
    }
  };
  sweep();
  const timer = setInterval(sweep, IDLE_SWEEP_MS);
  timer.unref();
  return Promise.all(closed).then(() => {
    clearInterval(timer);
  });
}
