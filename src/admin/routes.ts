/** What a path under the base path asks for. */
export type Route =
  | { readonly kind: 'list' }
  | { readonly kind: 'group'; readonly name: string }
  | { readonly kind: 'switch'; readonly name: string; readonly alwaysEnabled: boolean }
  | { readonly kind: 'malformed'; readonly message: string };

/** The methods each kind of route answers, for `405` and `Allow`. */
export const ALLOWED_METHODS: Readonly<Record<Exclude<Route['kind'], 'malformed'>, readonly string[]>> = {
  list: ['GET', 'HEAD'],
  group: ['GET', 'HEAD', 'PUT'],
  switch: ['POST'],
};

/**
 * The part of `url` under `basePath` (`''` or starting with `/`), or
 * undefined when the request is not for the admin endpoint. The query
 * string is ignored.
 */
export function pathUnderBase(url: string | undefined, basePath: string): string | undefined {
  const path = (url ?? '/').split('?', 1)[0];
  if (basePath === '') return path;
  if (path === basePath) return '';
  return path.startsWith(`${basePath}/`) ? path.slice(basePath.length) : undefined;
}

/**
 * Routes `/groups`, `/groups/:name`, `/groups/:name/enable` and
 * `/groups/:name/disable`; `:name` is percent-decoded, so a group name
 * may hold any character (`/` as `%2F`).
 */
export function matchRoute(path: string): Route | undefined {
  const segments = path.split('/').slice(1);
  if (segments[0] !== 'groups') return undefined;
  if (segments.length === 1) return { kind: 'list' };
  if (segments.length > 3) return undefined;
  const name = decodeSegment(segments[1]);
  if (name === undefined) return { kind: 'malformed', message: 'the group name is not valid percent-encoding' };
  if (name === '') return undefined;
  if (segments.length === 2) return { kind: 'group', name };
  if (segments[2] === 'enable') return { kind: 'switch', name, alwaysEnabled: true };
  if (segments[2] === 'disable') return { kind: 'switch', name, alwaysEnabled: false };
  return undefined;
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
