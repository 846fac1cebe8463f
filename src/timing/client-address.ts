import type { IncomingHttpHeaders } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** True for 127.0.0.0/8, ::1 and IPv4-mapped 127.x addresses. */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = unmapIPv4(address);
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1' || address === '0:0:0:0:0:0:0:1';
}

/** `::ffff:10.0.0.1` -> `10.0.0.1`; anything else unchanged. */
export function unmapIPv4(address: string): string {
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : address;
}

/** The request headers a trusted proxy may name the client in. */
export const CLIENT_ADDRESS_HEADERS = ['x-forwarded-for', 'x-real-ip', 'forwarded'] as const;

/** One of {@link CLIENT_ADDRESS_HEADERS}. */
export type ClientAddressHeader = (typeof CLIENT_ADDRESS_HEADERS)[number];

/** The most proxies `trustedHops` may count, and the most list entries read from the right. */
export const MAX_TRUSTED_HOPS = 32;

/** How a server learns its client's address, as `TimingInstrumentation` is configured. */
export interface ClientAddressOptions {
  /** CIDR ranges (or single addresses) of the proxies in front of the server. */
  readonly trustedProxies: readonly string[];
  /** The header the proxies name the client in. */
  readonly header: ClientAddressHeader;
  /**
   * How many proxies stand in front of the server (0: count none). With
   * `trustedProxies` empty, a positive count trusts every peer as the
   * nearest proxy.
   */
  readonly trustedHops: number;
}

/**
 * Where the client's address comes from. The peer's address, unless the
 * peer is a trusted proxy: then the configured header.
 *
 * - `x-forwarded-for` / `forwarded` (each proxy appends the address it
 *   saw): read from the right. With `trustedHops` n, the n-th entry from
 *   the right; otherwise the first entry that is not in `trustedProxies`.
 *   Entries may carry ports (`1.2.3.4:80`, `[::1]:80`). An entry that is
 *   not an address (`unknown`, garbage, empty), or a
 *   list longer than {@link MAX_TRUSTED_HOPS} trusted entries, gives
 *   `undefined`: an unknown client, never a loopback one.
 * - `x-real-ip` (the proxy sets it, replacing what the client sent): its
 *   address, `undefined` if it is not one.
 *
 * A trusted peer that sends no such header is itself the client (a
 * request the proxy's host made directly).
 */
export class ClientAddressSource {
  private readonly list = new BlockList();
  private readonly anyPeer: boolean;

  constructor(private readonly options: ClientAddressOptions) {
    for (const range of options.trustedProxies) {
      const [address, prefix] = parseRange(range);
      const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
      this.list.addSubnet(address, prefix, family);
    }
    this.anyPeer = options.trustedProxies.length === 0 && options.trustedHops > 0;
  }

  /** Whether headers are read at all (some proxy is trusted). */
  get trustsProxies(): boolean {
    return this.anyPeer || this.options.trustedProxies.length > 0;
  }

  /** Whether `address` is in `trustedProxies`. */
  isTrustedProxy(address: string): boolean {
    if (this.options.trustedProxies.length === 0) return false;
    const plain = unmapIPv4(address);
    const family = isIP(plain);
    if (family === 0) return false;
    return this.list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }

  /** The client's address for a request from `peer` with these headers; `undefined` when unknown. */
  of(peer: string | undefined, headers: IncomingHttpHeaders): string | undefined {
    if (peer === undefined || !(this.anyPeer || this.isTrustedProxy(peer))) return peer;
    const value = headers[this.options.header];
    if (value === undefined) return peer;
    // Node joins repeated headers with ', ' but keeps only the first of a
    // few; an array never comes for these, but a hostile caller may build one.
    if (typeof value !== 'string') return undefined;
    if (this.options.header === 'x-real-ip') return parseNode(value);
    return this.fromList(value, this.options.header === 'forwarded' ? forwardedFor : parseNode);
  }

  /** Reads a comma-separated list from the right, without splitting all of it. */
  private fromList(value: string, entryAddress: (entry: string) => string | undefined): string | undefined {
    const hops = this.options.trustedHops;
    let end = value.length;
    let last: string | undefined;
    for (let seen = 1; seen <= MAX_TRUSTED_HOPS && end >= 0; seen++) {
      const comma = value.lastIndexOf(',', end - 1);
      const address = entryAddress(value.slice(comma + 1, end));
      end = comma;
      if (address === undefined) return undefined;
      last = address;
      if (hops > 0 ? seen === hops : !this.isTrustedProxy(address)) return address;
      // Fewer entries than proxies: every entry came from a trusted proxy,
      // and the left-most is the address the outermost one saw.
      if (comma < 0) return last;
    }
    return undefined;
  }
}

/** The address of one `X-Forwarded-For` entry or `X-Real-IP` value: `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]:80`. */
function parseNode(text: string): string | undefined {
  let node = text.trim();
  if (node.length > 64) return undefined;
  if (node.startsWith('"') && node.endsWith('"') && node.length >= 2) node = node.slice(1, -1);
  if (node.startsWith('[')) {
    const close = node.indexOf(']');
    const rest = node.slice(close + 1);
    if (close < 0 || !(rest === '' || /^:\d{1,5}$/.test(rest))) return undefined;
    node = node.slice(1, close);
    return isIP(node) === 6 ? node : undefined;
  }
  if (isIP(node) !== 0) return node;
  const colon = node.indexOf(':');
  if (colon > 0 && /^:\d{1,5}$/.test(node.slice(colon)) && isIP(node.slice(0, colon)) === 4) {
    return node.slice(0, colon);
  }
  return undefined;
}

/** The `for=` address of one `Forwarded` element (RFC 7239): `for=1.2.3.4;proto=https`, `for="[::1]:80"`. */
function forwardedFor(element: string): string | undefined {
  for (const pair of element.split(';', 8)) {
    const equals = pair.indexOf('=');
    if (equals > 0 && pair.slice(0, equals).trim().toLowerCase() === 'for') return parseNode(pair.slice(equals + 1));
  }
  return undefined;
}

function parseRange(range: string): [string, number] {
  if (typeof range !== 'string') throw new TypeError(`trustedProxies entries must be strings, got ${typeof range}`);
  const [address, prefixText, extra] = range.trim().split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) {
    throw new TypeError(`trustedProxies: '${range}' is not an IP address or a CIDR range`);
  }
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || prefixText === '') {
    throw new RangeError(`trustedProxies: '${range}' has a prefix length outside 0..${max}`);
  }
  return [address, prefix];
}
