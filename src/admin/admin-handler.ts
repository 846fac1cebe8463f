import { diag } from '@opentelemetry/api';
import cluster from 'node:cluster';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkBearerToken } from './bearer-token';
import { findGroupInfo, logChange, readSwitch, setAlwaysEnabled } from './group-control';
import { replyError, replyJson } from './json-reply';
import { adminSettings, type AdminHandlerOptions, type AdminSettings } from './options';
import { readJsonBody } from './request-body';
import { ALLOWED_METHODS, matchRoute, pathUnderBase, type Route } from './routes';
import { clusterReply } from './cluster-answer';
import type { AdminOp } from './cluster-protocol';
import { collectFromWorkers, connectedWorkers } from './cluster-relay';
import { askWorkers, isClusterWorker, thisWorker, type ClusterAnswer } from './cluster-worker';
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
 * Under node:cluster (`options.cluster`, default on), in a worker or in a
 * primary with workers, every route answers for every worker through the
 * primary's relay (see {@link relayAdminToWorkers}): `{ "workers": [{
 * worker, pid, groups | group | error }...] }`, 200 when every worker
 * answered, 404 when none knows the group, 502 naming the workers not
 * reached (no relay, exited, no answer within `clusterTimeoutMs`).
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
  const role = settings.cluster ? clusterRole() : undefined;
  if (role !== undefined) {
    await answerForCluster(settings, req, res, path, route, refuse, role);
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
  const wanted = await wantedSwitch(route, req);
  if (typeof wanted !== 'boolean') {
    refuse(wanted.status, wanted.message);
    return;
  }
  const change = setAlwaysEnabled(route.name, wanted);
  if (change === undefined) {
    refuse(404, `no group named ${JSON.stringify(route.name)}`);
    return;
  }
  logChange(route.name, change, `${method} from ${req.socket.remoteAddress ?? 'unknown client'}`);
  replyJson(res, 200, change.after);
}

/** The switch a `PUT` body or a convenience route asks for, or why it is refused. */
async function wantedSwitch(
  route: Route & { kind: 'group' | 'switch' },
  req: IncomingMessage,
): Promise<boolean | { status: number; message: string }> {
  if (route.kind === 'switch') return route.alwaysEnabled;
  const body = await readJsonBody(req);
  if (!body.ok) return body;
  const wanted = readSwitch(body.value);
  return 'error' in wanted ? { status: 400, message: wanted.error } : wanted.alwaysEnabled;
}

/**
 * Under node:cluster: the operation runs on every worker through the
 * primary's relay, and the answer has one entry per worker.
 */
function clusterRole(): 'worker' | 'primary' | undefined {
  if (isClusterWorker()) return 'worker';
  return cluster.isPrimary && connectedWorkers().length > 0 ? 'primary' : undefined;
}

/** Answers for every worker of the cluster (see {@link clusterReply}). */
async function answerForCluster(
  settings: AdminSettings,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  route: Route & { kind: 'list' | 'group' | 'switch' },
  refuse: (status: number, message: string) => void,
  role: 'worker' | 'primary',
): Promise<void> {
  const method = req.method ?? 'GET';
  let op: AdminOp;
  if (route.kind === 'list') op = { action: 'list' };
  else if (method === 'GET' || method === 'HEAD') op = { action: 'get', group: route.name };
  else {
    const wanted = await wantedSwitch(route, req);
    if (typeof wanted !== 'boolean') {
      refuse(wanted.status, wanted.message);
      return;
    }
    const client = req.socket.remoteAddress ?? 'unknown client';
    op = {
      action: 'set',
      group: route.name,
      alwaysEnabled: wanted,
      via: `${method} from ${client}, ${role === 'worker' ? `worker ${thisWorker().worker}` : 'primary'}`,
    };
  }
  const answer: ClusterAnswer =
    role === 'worker'
      ? await askWorkers(op, settings.clusterTimeoutMs)
      : { relayed: true, workers: await collectFromWorkers(op, settings.clusterTimeoutMs) };
  const reply = clusterReply(op, answer);
  if (reply.body.error !== undefined) {
    diag.warn(`${LOG_PREFIX} ${method} ${logPath(path, settings)}: ${reply.status} ${reply.body.error}`);
  }
  replyJson(res, reply.status, reply.body);
}

/** The request's path for the log: base path included, no query string, bounded. */
function logPath(path: string, settings: AdminSettings): string {
  const full = `${settings.basePath}${path}`;
  return full.length > 200 ? `${full.slice(0, 200)}...` : full;
}
