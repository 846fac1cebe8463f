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

/**
 * A set of CIDR ranges (`10.0.0.0/8`, `2001:db8::/32`, or single
 * addresses) whose peers are trusted to name the client in `X-Real-IP`
 * or `X-Forwarded-For`.
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(ranges: readonly string[]) {
    for (const range of ranges) {
      const [address, prefix] = parseRange(range);
      const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
      this.list.addSubnet(address, prefix, family);
    }
    this.empty = ranges.length === 0;
  }

  has(address: string): boolean {
    if (this.empty) return false;
    const plain = unmapIPv4(address);
    const family = isIP(plain);
    if (family === 0) return false;
    return this.list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * The client's address: the peer itself unless the peer is a trusted
   * proxy; then `X-Real-IP`, else the right-most address of
   * `X-Forwarded-For` that is not itself a trusted proxy.
   */
  clientAddress(peer: string | undefined, realIp: unknown, forwardedFor: unknown): string | undefined {
    if (peer === undefined || !this.has(peer)) return peer;
    if (typeof realIp === 'string' && isIP(realIp.trim()) !== 0) return realIp.trim();
    if (typeof forwardedFor === 'string') {
      const hops = forwardedFor
        .split(',')
        .map((hop) => hop.trim())
        .filter((hop) => isIP(hop) !== 0);
      for (let i = hops.length - 1; i >= 0; i--) {
        if (!this.has(hops[i])) return hops[i];
      }
      if (hops.length > 0) return hops[0];
    }
    return peer;
  }
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
