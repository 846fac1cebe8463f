import dns from 'node:dns';
import { hookFunction, runHook, timing } from '../../src';

interface Entry {
  readonly address: string;
  readonly expires: number;
}

/**
 * The balancer's DNS cache. Each resolution is timed as Kong times toip
 * (`dns` > host > `resolve`, through a hook in group `timing`), and
 * reports whether it was answered from the cache with `dns:cache_lookup`.
 */
export class DnsCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly ttlMs: number) {
    hookFunction(
      'timing',
      this,
      'resolve',
      1,
      {
        befores: [
          (host) => {
            timing.enterContext('dns');
            timing.enterContext(host);
            timing.enterContext('resolve');
          },
        ],
        afters: [leaveResolve],
        errors: [leaveResolve],
      },
      { mode: 'promise', name: 'gateway DnsCache#resolve' },
    );
  }

  /** The address of `host`, from the cache while fresh. */
  async resolve(host: string): Promise<string> {
    const cached = this.entries.get(host);
    const hit = cached !== undefined && cached.expires > Date.now();
    runHook('timing', 'dns:cache_lookup', hit);
    if (hit) return cached.address;
    const { address } = await dns.promises.lookup(host);
    this.entries.set(host, { address, expires: Date.now() + this.ttlMs });
    return address;
  }
}

function leaveResolve(): void {
  timing.leaveContext();
  timing.leaveContext();
  timing.leaveContext();
}
