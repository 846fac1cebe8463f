import { isIP } from 'node:net';

/** Where a socket connects: a TCP host and port, or a unix socket path. */
export interface SocketDestination {
  readonly host: string;
  readonly port: number;
  readonly path: string | undefined;
}

interface ConnectOptions {
  host?: unknown;
  port?: unknown;
  path?: unknown;
}

/**
 * Reads the arguments of `socket.connect()`: `(options[, cb])`,
 * `(port[, host][, cb])`, `(path[, cb])`, or the array `net.connect()`
 * passes on after normalizing its own arguments.
 */
export function socketDestination(args: readonly unknown[]): SocketDestination | undefined {
  const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
  if (typeof first === 'object' && first !== null) {
    const options = first as ConnectOptions;
    if (typeof options.path === 'string') return { host: '', port: 0, path: options.path };
    return tcp(options.host, options.port);
  }
  if (typeof first === 'string' && !/^\d+$/.test(first)) return { host: '', port: 0, path: first };
  return tcp(args[1], first);
}

function tcp(host: unknown, port: unknown): SocketDestination | undefined {
  const number = Number(port);
  if (!Number.isInteger(number)) return undefined;
  return { host: typeof host === 'string' && host !== '' ? host : 'localhost', port: number, path: undefined };
}

/** Kong's name for it: `tcp://host:port` (or `udp://`), or `unix:path`. */
export function socketName(scheme: 'tcp' | 'udp', destination: SocketDestination): string {
  if (destination.path !== undefined) return `unix:${destination.path}`;
  const host = isIP(destination.host) === 6 ? `[${destination.host}]` : destination.host;
  return `${scheme}://${host}:${destination.port}`;
}

/** OpenTelemetry's attributes for a connection's span. */
export function socketAttributes(
  transport: 'tcp' | 'udp',
  destination: SocketDestination,
): Record<string, string | number> {
  if (destination.path !== undefined) return { 'network.transport': 'unix', 'server.address': destination.path };
  return { 'network.transport': transport, 'server.address': destination.host, 'server.port': destination.port };
}
