import type { RequestOptions } from 'node:http';

/** Where an outgoing HTTP request goes, from the arguments of `http.request` / `https.request`. */
export interface HttpDestination {
  readonly protocol: 'http:' | 'https:';
  readonly host: string;
  readonly port: number;
  readonly socketPath: string | undefined;
  readonly method: string;
  readonly path: string;
}

/**
 * Reads `(url[, options][, callback])` or `(options[, callback])` the way
 * Node does, enough to name the destination; `undefined` if the arguments
 * are not understood (the call itself will then report the problem).
 */
export function httpDestination(
  args: readonly unknown[],
  defaultProtocol: 'http:' | 'https:',
): HttpDestination | undefined {
  let url: URL | undefined;
  let options: RequestOptions = {};
  const [first, second] = args;
  if (typeof first === 'string') {
    try {
      url = new URL(first);
    } catch {
      return undefined;
    }
  } else if (first instanceof URL) {
    url = first;
  } else if (typeof first === 'object' && first !== null) {
    options = first;
  }
  if (url !== undefined && typeof second === 'object' && second !== null) options = second;

  const protocol = options.protocol ?? url?.protocol ?? defaultProtocol;
  if (protocol !== 'http:' && protocol !== 'https:') return undefined;
  const rawHost = options.hostname ?? options.host ?? url?.hostname ?? 'localhost';
  const host = rawHost.startsWith('[') && rawHost.endsWith(']') ? rawHost.slice(1, -1) : rawHost;
  const explicitPort = options.port ?? (url?.port !== undefined && url.port !== '' ? url.port : undefined);
  const port =
    explicitPort !== undefined && explicitPort !== null ? Number(explicitPort) : protocol === 'https:' ? 443 : 80;
  return {
    protocol,
    host,
    port,
    socketPath: options.socketPath,
    method: (options.method ?? 'GET').toUpperCase(),
    path: options.path ?? (url !== undefined ? `${url.pathname}${url.search}` : '/'),
  };
}

/** Kong's name for the destination: `http://host:port`, `https://host:port` or `unix://path`. */
export function destinationName(destination: HttpDestination): string {
  if (destination.socketPath !== undefined) return `unix://${destination.socketPath}`;
  const host = destination.host.includes(':') ? `[${destination.host}]` : destination.host;
  return `${destination.protocol}//${host}:${destination.port}`;
}

/**
 * Whether the options among `http.request`'s arguments set header
 * `lowerName` (any case; as an object or as a flat array of names and values).
 */
export function carriesHeader(args: readonly unknown[], lowerName: string): boolean {
  for (const arg of args.slice(0, 2)) {
    if (typeof arg !== 'object' || arg === null || arg instanceof URL) continue;
    const headers = (arg as RequestOptions).headers as unknown;
    if (Array.isArray(headers)) {
      for (let i = 0; i < headers.length; i += 2) if (String(headers[i]).toLowerCase() === lowerName) return true;
    } else if (typeof headers === 'object' && headers !== null) {
      for (const key of Object.keys(headers)) if (key.toLowerCase() === lowerName) return true;
    }
  }
  return false;
}
