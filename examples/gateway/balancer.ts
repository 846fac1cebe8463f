import type { ServiceConfig } from './config';

/** One upstream target. */
export interface Target {
  readonly protocol: 'http:';
  readonly host: string;
  readonly port: number;
  /** Path prefix of a `url` service. */
  readonly basePath: string;
}

/** Chooses targets round robin; a failed connection moves on to the next one. */
export class Balancer {
  private readonly targets: readonly Target[];
  private next = 0;
  /** How many attempts a request gets: the first, then the retries. */
  readonly attempts: number;

  constructor(service: ServiceConfig) {
    if (service.url !== undefined) {
      const url = new URL(service.url);
      if (url.protocol !== 'http:') throw new TypeError(`the gateway proxies to http upstreams, not ${url.protocol}`);
      this.targets = [
        {
          protocol: 'http:',
          host: url.hostname,
          port: Number(url.port || 80),
          basePath: url.pathname.replace(/\/$/, ''),
        },
      ];
    } else {
      this.targets = (service.targets ?? []).map((target) => {
        const [host, port] = target.split(':');
        return { protocol: 'http:' as const, host, port: Number(port), basePath: '' };
      });
    }
    this.attempts = 1 + (service.retries ?? this.targets.length - 1);
  }

  /** The next target, round robin. */
  pick(): Target {
    const target = this.targets[this.next % this.targets.length];
    this.next = (this.next + 1) % this.targets.length;
    return target;
  }
}
