import { diag } from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkBearerToken } from './bearer-token';
import { findGroupInfo, readSwitch, setAlwaysEnabled } from './group-control';
import { replyError, replyJson } from './json-reply';
import { adminSettings, type AdminHandlerOptions, type AdminSettings } from './options';
import { readJsonBody } from './request-body';
import { ALLOWED_METHODS, matchRoute, pathUnderBase } from './routes';
import { listGroups } from '../core/groups';

/**
 * A request listener for `http.createServer`, and an Express-style
 * middleware: requests outside the base path go to `next()` when there is
 * one, otherwise they get a 404.
 */
export type AdminHandler = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void;

const LOG_PREFIX = 'dynamic-hooks admin:';

/**
 * Creates the admin endpoint: an opt-in HTTP handler that lists hook
 * groups and switches them on or off for every request, for operators.
 *
 * Routes, under `basePath` (default `/dynamic-hooks`):
 * - `GET /groups`: `{ "groups": [GroupInfo...] }`, as `listGroups()`;
 * - `GET /groups/:name`: one `GroupInfo`;
 * - `PUT /groups/:name` with `{"alwaysEnabled": true | false}`: calls
 *   `alwaysEnable` or `disableByDefault` and answers the new `GroupInfo`;
 * - `POST /groups/:name/enable`, `POST /groups/:name/disable`: the same
 *   without a body.
 *
 * Every request must carry `Authorization: Bearer <token>` (401 without,
 * 403 with a wrong one; compared in constant time). Unknown groups (404),
 * bad bodies (400, 413 over 16 KB, 415 compressed) and wrong methods (405)
 * change nothing.
 * Changes are logged with `diag.info`, refusals with `diag.warn`; the
 * token is never logged.
 *
 * @throws TypeError when `options.token` is missing or empty, or `options.basePath` is not a path.
 */
export function createAdminHandler(options: AdminHandlerOptions): AdminHandler {
  return adminHandler(adminSettings(options));
}

/** The handler of {@link createAdminHandler}, for settings already validated. */
export function adminHandler(settings: AdminSettings): AdminHandler {
  return function dynamicHooksAdmin(req, res, next) {
    const path = pathUnderBase(req.url, settings.basePath);
    if (path === undefined) {
      if (next !== undefined) next();
      else replyError(res, 404, 'not found');
      return;
    }
    handle(settings, req, res, path).catch((error: unknown) => {
      diag.error(`${LOG_PREFIX} ${req.method ?? ''} ${logPath(path, settings)} failed: ${String(error)}`);
      if (!res.writableEnded) replyError(res, 500, 'internal error');
    });
  };
}

async function handle(settings: AdminSettings, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const refuse = (status: number, message: string, headers?: Record<string, string>): void => {
    const client = req.socket.remoteAddress ?? 'unknown client';
    diag.warn(
      `${LOG_PREFIX} refused ${req.method ?? ''} ${logPath(path, settings)} from ${client}: ${status} ${message}`,
    );
    // A 413 leaves the rest of the body unread: Node drains it after the
    // response (bounded by the server's requestTimeout) and keeps the
    // connection, rather than closing under a client still sending.
    replyError(res, status, message, headers);
  };

  const denied = checkBearerToken(req, settings.token);
  if (denied !== undefined) {
    refuse(denied.status, denied.message, denied.status === 401 ? { 'www-authenticate': 'Bearer' } : undefined);
    return;
  }
  const route = matchRoute(path);
  if (route === undefined) {
    refuse(404, 'no such route; try GET /groups');
    return;
  }
  if (route.kind === 'malformed') {
    refuse(400, route.message);
    return;
  }
  const method = req.method ?? 'GET';
  const allowed = ALLOWED_METHODS[route.kind];
  if (!allowed.includes(method)) {
    refuse(405, `${method} is not allowed here`, { allow: allowed.join(', ') });
    return;
  }
  if (route.kind === 'list') {
    replyJson(res, 200, { groups: listGroups() });
    return;
  }
  const group = findGroupInfo(route.name);
  if (group === undefined) {
    refuse(404, `no group named ${JSON.stringify(route.name)}`);
    return;
  }
  if (method === 'GET' || method === 'HEAD') {
    replyJson(res, 200, group);
    return;
  }

  let alwaysEnabled: boolean;
  if (route.kind === 'switch') {
    alwaysEnabled = route.alwaysEnabled;
  } else {
    const body = await readJsonBody(req);
    if (!body.ok) {
      refuse(body.status, body.message);
      return;
    }
    const wanted = readSwitch(body.value);
    if ('error' in wanted) {
      refuse(400, wanted.error);
      return;
    }
    alwaysEnabled = wanted.alwaysEnabled;
  }
  const change = setAlwaysEnabled(route.name, alwaysEnabled);
  if (change === undefined) {
    refuse(404, `no group named ${JSON.stringify(route.name)}`);
    return;
  }
  const { before, after } = change;
  const transition =
    before.alwaysEnabled === after.alwaysEnabled
      ? `stays ${after.alwaysEnabled}`
      : `${before.alwaysEnabled} -> ${after.alwaysEnabled}`;
  diag.info(
    `${LOG_PREFIX} group ${JSON.stringify(route.name)} alwaysEnabled ${transition} ` +
      `(${method} from ${req.socket.remoteAddress ?? 'unknown client'})`,
  );
  replyJson(res, 200, after);
}

/** The request's path for the log: base path included, no query string, bounded. */
function logPath(path: string, settings: AdminSettings): string {
  const full = `${settings.basePath}${path}`;
  return full.length > 200 ? `${full.slice(0, 200)}...` : full;
}
