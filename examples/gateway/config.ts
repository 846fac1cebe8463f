/** The gateway's configuration: routes (path prefixes) -> services (upstreams) -> plugins per route. */

/** One plugin on a route. */
export interface PluginConfig {
  /** `rate-limiting`, `external-http-calls` or `buffering-response`. */
  readonly name: string;
  /** Unique id (Kong's plugin id); default `<route>:<name>:<index>`. */
  readonly id?: string;
  readonly config?: Readonly<Record<string, unknown>>;
}

/** Where a service's requests go: one URL, or several `host:port` targets balanced round robin. */
export interface ServiceConfig {
  readonly url?: string;
  readonly targets?: readonly string[];
  /** `http` (default) for targets. */
  readonly protocol?: 'http';
  /** Further targets to try when a connection fails (default: targets - 1). */
  readonly retries?: number;
}

export interface RouteConfig {
  readonly name: string;
  /** Path prefixes this route matches; the longest matching prefix wins. */
  readonly paths: readonly string[];
  readonly service: string;
  /** Drop the matched prefix before proxying (default true). */
  readonly stripPath?: boolean;
  readonly workspace?: string;
  readonly plugins?: readonly PluginConfig[];
}

export interface GatewayConfig {
  readonly services: Readonly<Record<string, ServiceConfig>>;
  readonly routes: readonly RouteConfig[];
  /** Seconds a DNS answer is cached (default 30). */
  readonly dnsTtlSeconds?: number;
}

/** Checks a configuration (for example parsed from JSON) and names the first problem. */
export function validateConfig(value: unknown): GatewayConfig {
  const config = value as GatewayConfig;
  if (typeof config !== 'object' || config === null) throw new TypeError('config must be an object');
  if (typeof config.services !== 'object' || config.services === null)
    throw new TypeError('config.services must be an object');
  if (!Array.isArray(config.routes)) throw new TypeError('config.routes must be an array');
  for (const [name, service] of Object.entries(config.services)) {
    const hasUrl = typeof service.url === 'string';
    const hasTargets = Array.isArray(service.targets) && service.targets.length > 0;
    if (hasUrl === hasTargets) throw new TypeError(`services.${name} needs either url or a non-empty targets list`);
    if (hasUrl) new URL(service.url);
    for (const target of service.targets ?? []) {
      if (!/^[^:/]+:\d+$/.test(target)) throw new TypeError(`services.${name}.targets: '${target}' is not host:port`);
    }
  }
  (config.routes as readonly RouteConfig[]).forEach((route, i) => {
    if (typeof route.name !== 'string') throw new TypeError(`routes[${i}].name must be a string`);
    if (!Array.isArray(route.paths) || route.paths.some((p: unknown) => typeof p !== 'string' || !p.startsWith('/'))) {
      throw new TypeError(`routes[${i}].paths must be paths starting with /`);
    }
    if (!(route.service in config.services))
      throw new TypeError(`routes[${i}].service '${route.service}' is not defined`);
  });
  return config;
}
