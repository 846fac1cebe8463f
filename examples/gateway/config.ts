/** The gateway's configuration: routes (path prefixes) -> services (upstreams) -> plugins per route. */
import { ConfigError, Checker } from './config-check';

export { ConfigError };

/** The plugins the gateway knows. */
export const PLUGIN_NAMES = ['rate-limiting', 'external-http-calls', 'buffering-response'] as const;

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

/**
 * The timing module's settings (`TimingInstrumentationConfig`). The
 * library's environment variables win over them, as for any application
 * (`DYNAMIC_HOOKS_REQUEST_DEBUG`, `DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN`,
 * `DYNAMIC_HOOKS_TRUSTED_PROXIES`, `DYNAMIC_HOOKS_CLIENT_ADDRESS_HEADER`,
 * `DYNAMIC_HOOKS_TRUSTED_HOPS`).
 */
export interface GatewayTimingConfig {
  readonly requestDebug?: boolean;
  readonly token?: string;
  readonly headerPrefix?: string;
  readonly trustedProxies?: readonly string[];
  readonly clientAddressHeader?: 'x-forwarded-for' | 'forwarded' | 'x-real-ip';
  readonly trustedHops?: number;
}

export interface GatewayConfig {
  readonly services: Readonly<Record<string, ServiceConfig>>;
  readonly routes: readonly RouteConfig[];
  /** Seconds a DNS answer is cached (default 30). */
  readonly dnsTtlSeconds?: number;
  /** Where the gateway command listens (default 127.0.0.1:8000). */
  readonly listen?: { readonly host?: string; readonly port?: number };
  /** Redis for the rate-limiting plugin. */
  readonly redis?: { readonly host: string; readonly port: number };
  /** The timing module's settings. */
  readonly timing?: GatewayTimingConfig;
  /** At SIGTERM / SIGINT, how long requests in flight may take to finish (default 10). */
  readonly shutdownTimeoutSeconds?: number;
}

const TOP_KEYS = [
  'services',
  'routes',
  'dnsTtlSeconds',
  'listen',
  'redis',
  'timing',
  'shutdownTimeoutSeconds',
] as const;
const SERVICE_KEYS = ['url', 'targets', 'protocol', 'retries'] as const;
const ROUTE_KEYS = ['name', 'paths', 'service', 'stripPath', 'workspace', 'plugins'] as const;
const PLUGIN_KEYS = ['name', 'id', 'config'] as const;
const TIMING_KEYS = [
  'requestDebug',
  'token',
  'headerPrefix',
  'trustedProxies',
  'clientAddressHeader',
  'trustedHops',
] as const;
const PLUGIN_CONFIG_KEYS: Record<(typeof PLUGIN_NAMES)[number], readonly string[]> = {
  'rate-limiting': ['minute'],
  'external-http-calls': ['calls', 'url'],
  'buffering-response': [],
};
/** A header name (RFC 9110 token). */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/**
 * Checks a configuration (for example parsed from JSON) and throws a
 * `ConfigError` for the first problem, naming its key as a path
 * (`routes[1].service`) and what was expected there.
 */
export function validateConfig(value: unknown): GatewayConfig {
  const check = new Checker();
  const top = check.object(value, '', TOP_KEYS);
  const services = check.object(top.services, 'services');
  const serviceNames = Object.keys(services);
  for (const name of serviceNames) checkService(check, services[name], check.key('services', name));
  const routes = check.array(top.routes, 'routes');
  const routeNames = new Set<string>();
  routes.forEach((route, i) => {
    checkRoute(check, route, `routes[${i}]`, serviceNames, routeNames);
  });
  if (top.dnsTtlSeconds !== undefined) check.number(top.dnsTtlSeconds, 'dnsTtlSeconds', 0, 86_400);
  if (top.shutdownTimeoutSeconds !== undefined) {
    check.number(top.shutdownTimeoutSeconds, 'shutdownTimeoutSeconds', 0, 600);
  }
  if (top.listen !== undefined) {
    const listen = check.object(top.listen, 'listen', ['host', 'port']);
    if (listen.host !== undefined) check.string(listen.host, 'listen.host');
    if (listen.port !== undefined) check.integer(listen.port, 'listen.port', 0, 65_535);
  }
  if (top.redis !== undefined) {
    const redis = check.object(top.redis, 'redis', ['host', 'port']);
    check.string(redis.host, 'redis.host');
    check.integer(redis.port, 'redis.port', 1, 65_535);
  }
  if (top.timing !== undefined) checkTiming(check, top.timing);
  return value as GatewayConfig;
}

function checkService(check: Checker, value: unknown, path: string): void {
  const service = check.object(value, path, SERVICE_KEYS);
  if ((service.url === undefined) === (service.targets === undefined)) {
    throw new ConfigError(path, 'either "url" or "targets" (not both)', service);
  }
  if (service.url !== undefined) {
    const url = check.string(service.url, `${path}.url`);
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      // Reported below.
    }
    if (parsed?.protocol !== 'http:') throw new ConfigError(`${path}.url`, 'an http:// URL', url);
  } else {
    const targets = check.array(service.targets, `${path}.targets`);
    if (targets.length === 0) throw new ConfigError(`${path}.targets`, 'at least one "host:port" target', targets);
    targets.forEach((target, i) => {
      const match = typeof target === 'string' ? /^[^:/\s]+:(\d+)$/.exec(target) : null;
      if (match === null || Number(match[1]) < 1 || Number(match[1]) > 65_535) {
        throw new ConfigError(`${path}.targets[${i}]`, '"host:port" with a port from 1 to 65535', target);
      }
    });
  }
  if (service.protocol !== undefined) check.oneOf(service.protocol, `${path}.protocol`, ['http']);
  if (service.retries !== undefined) check.integer(service.retries, `${path}.retries`, 0, 100);
}

function checkRoute(
  check: Checker,
  value: unknown,
  path: string,
  serviceNames: readonly string[],
  routeNames: Set<string>,
): void {
  const route = check.object(value, path, ROUTE_KEYS);
  const name = check.string(route.name, `${path}.name`);
  if (routeNames.has(name)) throw new ConfigError(`${path}.name`, 'a name no other route has', name);
  routeNames.add(name);
  const paths = check.array(route.paths, `${path}.paths`);
  if (paths.length === 0) throw new ConfigError(`${path}.paths`, 'at least one path starting with /', paths);
  paths.forEach((prefix, i) => {
    if (typeof prefix !== 'string' || !prefix.startsWith('/')) {
      throw new ConfigError(`${path}.paths[${i}]`, 'a path starting with /', prefix);
    }
  });
  if (typeof route.service !== 'string' || !serviceNames.includes(route.service)) {
    const known = serviceNames.length === 0 ? 'none is defined' : serviceNames.join(', ');
    throw new ConfigError(`${path}.service`, `the name of a service in "services" (${known})`, route.service);
  }
  if (route.stripPath !== undefined) check.boolean(route.stripPath, `${path}.stripPath`);
  if (route.workspace !== undefined) check.string(route.workspace, `${path}.workspace`);
  if (route.plugins !== undefined) {
    check.array(route.plugins, `${path}.plugins`).forEach((plugin, i) => {
      checkPlugin(check, plugin, `${path}.plugins[${i}]`);
    });
  }
}

function checkPlugin(check: Checker, value: unknown, path: string): void {
  const plugin = check.object(value, path, PLUGIN_KEYS);
  const name = check.oneOf(plugin.name, `${path}.name`, PLUGIN_NAMES);
  if (plugin.id !== undefined) check.string(plugin.id, `${path}.id`);
  const config = check.object(plugin.config ?? {}, `${path}.config`, PLUGIN_CONFIG_KEYS[name]);
  if (name === 'rate-limiting' && config.minute !== undefined) {
    check.integer(config.minute, `${path}.config.minute`, 1, Number.MAX_SAFE_INTEGER);
  }
  if (name === 'external-http-calls') {
    if (config.calls !== undefined) check.integer(config.calls, `${path}.config.calls`, 0, 1000);
    const url = check.string(config.url, `${path}.config.url`);
    if (!URL.canParse(url) || new URL(url).protocol !== 'http:') {
      throw new ConfigError(`${path}.config.url`, 'an http:// URL', url);
    }
  }
}

function checkTiming(check: Checker, value: unknown): void {
  const timing = check.object(value, 'timing', TIMING_KEYS);
  if (timing.requestDebug !== undefined) check.boolean(timing.requestDebug, 'timing.requestDebug');
  if (timing.token !== undefined) check.string(timing.token, 'timing.token');
  if (timing.headerPrefix !== undefined) {
    const prefix = check.string(timing.headerPrefix, 'timing.headerPrefix');
    if (!HEADER_NAME.test(prefix)) throw new ConfigError('timing.headerPrefix', 'a header name', prefix);
  }
  if (timing.trustedProxies !== undefined) {
    check.array(timing.trustedProxies, 'timing.trustedProxies').forEach((range, i) => {
      check.string(range, `timing.trustedProxies[${i}]`);
    });
  }
  if (timing.clientAddressHeader !== undefined) {
    check.oneOf(timing.clientAddressHeader, 'timing.clientAddressHeader', [
      'x-forwarded-for',
      'forwarded',
      'x-real-ip',
    ]);
  }
  if (timing.trustedHops !== undefined) check.integer(timing.trustedHops, 'timing.trustedHops', 0, 32);
}
