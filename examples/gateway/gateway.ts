import { context } from '@opentelemetry/api';
import Redis from 'ioredis';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { runHook } from '../../src';
import { Balancer } from './balancer';
import { registerBalancerTryHooks } from './balancer-timing';
import { validateConfig, type GatewayConfig, type RouteConfig } from './config';
import { DnsCache } from './dns-cache';
import { createPlugins, type BufferedResponse, type Plugin, type PluginContext } from './plugins';
import { forwardableHeaders, readBody, sendUpstream } from './proxy';
import { matchRoute } from './router';

/** What the gateway needs besides its configuration. */
export interface GatewayOptions {
  /** Redis for the rate-limiting plugin; default the configuration's `redis`. */
  readonly redis?: { readonly host: string; readonly port: number };
  /** Told about problems that concern no single request (Redis unreachable); default stderr. */
  readonly warn?: (message: string) => void;
}

/** A running gateway. */
export interface Gateway {
  readonly server: http.Server;
  /** Requests being served now. */
  readonly inFlight: number;
  /**
   * Stops: no new connections, requests in flight get up to `graceMs`
   * (default 0) to finish, then every connection is closed, with the
   * upstream connections and Redis. Resolves with the number of requests
   * that were cut off.
   */
  close(graceMs?: number): Promise<number>;
}

/** Errors a retry can fix: the connection to the target failed. */
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

/**
 * A small reverse proxy that runs Kong's phases, each between its
 * `before:` and `after:` hooks in group `timing`: rewrite; access (router,
 * `workspace_id:got`, the plugin iterator with each plugin, the DNS
 * resolution of the first target); balancer (target choice, again on each
 * retry after a failed connection, each try a `try_<n>` context, see
 * `registerBalancerTryHooks`); the upstream request, streamed to the client, or buffered and
 * passed through the response phase when a plugin needs it. The node:http
 * integration adds header_filter, body_filter and log.
 */
export function createGateway(input: GatewayConfig, options: GatewayOptions = {}): Gateway {
  const config = validateConfig(input);
  const redisAddress = options.redis ?? config.redis;
  const redis =
    redisAddress === undefined
      ? undefined
      : new Redis({ host: redisAddress.host, port: redisAddress.port, maxRetriesPerRequest: 1 });
  const warn = options.warn ?? ((message: string) => process.stderr.write(`${message}\n`));
  let redisDown = false;
  redis?.on('error', (error: Error) => {
    if (!redisDown) warn(`gateway: Redis ${redisAddress?.host}:${redisAddress?.port}: ${error.message}`);
    redisDown = true;
  });
  redis?.on('ready', () => (redisDown = false));
  registerBalancerTryHooks();
  const dnsCache = new DnsCache((config.dnsTtlSeconds ?? 30) * 1000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const routes = config.routes.map((route) => ({
    route,
    plugins: createPlugins(route, redis),
    balancer: new Balancer(config.services[route.service]),
  }));
  const byRoute = new Map(routes.map((entry) => [entry.route, entry]));

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    runHook('timing', 'before:rewrite');
    runHook('timing', 'after:rewrite');

    runHook('timing', 'before:access');
    runHook('timing', 'before:router');
    const match = matchRoute(config.routes, req.url ?? '/');
    runHook('timing', 'after:router');
    if (match === undefined) {
      runHook('timing', 'after:access');
      respond(res, 404, { message: 'no Route matched with those values' });
      return;
    }
    const entry = byRoute.get(match.route) as (typeof routes)[number];
    runHook('timing', 'workspace_id:got', match.route.workspace ?? 'default');
    const pluginContext: PluginContext = {
      req,
      res,
      route: match.route,
      clientAddress: req.socket.remoteAddress ?? 'unknown',
    };
    const responded = await runPlugins(entry.plugins, (plugin) => plugin.access?.(pluginContext));
    if (responded) {
      runHook('timing', 'after:access');
      return;
    }
    const body = await readBody(req);
    let target = entry.balancer.pick();
    let address = await dnsCache.resolve(target.host);
    runHook('timing', 'after:access');

    const buffered = entry.plugins.some((plugin) => plugin.buffersResponse === true);
    if (buffered) runHook('timing', 'before:response');
    let upstream: IncomingMessage | undefined;
    let failure: string | undefined;
    for (let attempt = 1; upstream === undefined; attempt++) {
      runHook('timing', 'before:balancer');
      if (attempt > 1) target = entry.balancer.pick();
      runHook('timing', 'before:balancer_try', attempt, `${target.host}:${target.port}`, failure);
      try {
        if (attempt > 1) address = await dnsCache.resolve(target.host);
      } finally {
        runHook('timing', 'after:balancer_try');
        runHook('timing', 'after:balancer');
      }
      try {
        upstream = await sendUpstream({
          address,
          port: target.port,
          hostHeader: `${target.host}:${target.port}`,
          method: req.method ?? 'GET',
          path: `${target.basePath}${match.upstreamPath}`,
          headers: { ...req.headers, 'x-forwarded-for': pluginContext.clientAddress },
          body,
          requestContext: context.active(),
          agent,
        });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        if (!CONNECT_ERRORS.has(code) || attempt >= entry.balancer.attempts) {
          if (buffered) runHook('timing', 'after:response');
          respond(res, 502, { message: 'An invalid response was received from the upstream server' });
          return;
        }
        failure = code;
      }
    }

    if (!buffered) {
      res.writeHead(upstream.statusCode ?? 502, withVia(forwardableHeaders(upstream.headers)));
      upstream.pipe(res);
      return;
    }
    // The buffered body passes the body filter inside the response phase, as Kong's subrequest does.
    runHook('timing', 'before:body_filter');
    let upstreamBody: Buffer;
    try {
      upstreamBody = await readBody(upstream);
    } finally {
      runHook('timing', 'after:body_filter');
    }
    const response: BufferedResponse = {
      statusCode: upstream.statusCode ?? 502,
      headers: forwardableHeaders(upstream.headers),
      body: upstreamBody,
    };
    await runPlugins(entry.plugins, async (plugin) => {
      await plugin.response?.(pluginContext, response);
      return undefined;
    });
    runHook('timing', 'before:header_filter');
    const headers = withVia(response.headers);
    runHook('timing', 'after:header_filter');
    runHook('timing', 'after:response');
    res.writeHead(response.statusCode, headers);
    res.end(response.body);
  };

  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;
  const server = http.createServer((req, res) => {
    inFlight++;
    // While stopping, each response ends its connection: nothing is left idle to cut.
    if (closing) res.shouldKeepAlive = false;
    res.once('close', () => {
      inFlight--;
      if (inFlight === 0) drained?.();
    });
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) respond(res, 500, { message: 'An unexpected error occurred', detail: String(error) });
      else res.destroy(error as Error);
    });
  });
  return {
    server,
    get inFlight() {
      return inFlight;
    },
    async close(graceMs = 0) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0 && graceMs > 0) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          drained = resolve;
          timer = setTimeout(resolve, graceMs);
        });
        clearTimeout(timer);
      }
      const cut = inFlight;
      server.closeAllConnections();
      await closed;
      agent.destroy();
      redis?.disconnect();
      return cut;
    },
  };
}

/** Runs the plugin iterator: each plugin between `before:plugin` and `after:plugin`. */
async function runPlugins(
  plugins: readonly Plugin[],
  run: (plugin: Plugin) => Promise<'responded' | undefined> | undefined,
): Promise<boolean> {
  if (plugins.length === 0) return false;
  runHook('timing', 'before:plugin_iterator');
  try {
    for (const plugin of plugins) {
      runHook('timing', 'before:plugin', plugin.name, plugin.id);
      try {
        if ((await run(plugin)) === 'responded') return true;
      } finally {
        runHook('timing', 'after:plugin');
      }
    }
    return false;
  } finally {
    runHook('timing', 'after:plugin_iterator');
  }
}

function withVia(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  return { ...headers, via: '1.1 dynamic-hooks-gateway' };
}

function respond(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', via: '1.1 dynamic-hooks-gateway' });
  res.end(JSON.stringify(body));
}

export type { GatewayConfig, RouteConfig };
