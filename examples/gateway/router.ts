import type { RouteConfig } from './config';

/** A request matched to its route. */
export interface RouteMatch {
  readonly route: RouteConfig;
  /** The path to send upstream (the prefix stripped if the route says so). */
  readonly upstreamPath: string;
}

/** Finds the route with the longest path prefix matching `url` (path and query). */
export function matchRoute(routes: readonly RouteConfig[], url: string): RouteMatch | undefined {
  const queryAt = url.indexOf('?');
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  const query = queryAt < 0 ? '' : url.slice(queryAt);
  let best: { route: RouteConfig; prefix: string } | undefined;
  for (const route of routes) {
    for (const prefix of route.paths) {
      const matches = path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);
      if (matches && (best === undefined || prefix.length > best.prefix.length)) best = { route, prefix };
    }
  }
  if (best === undefined) return undefined;
  const rest = best.route.stripPath === false ? path : path.slice(best.prefix.length);
  return { route: best.route, upstreamPath: `${rest.startsWith('/') ? rest : `/${rest}`}${query}` };
}
