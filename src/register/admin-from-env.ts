import { diag } from '@opentelemetry/api';
import { startAdminServer, type AdminServer } from '../admin/admin-server';
import { askPrimaryEndpoint, isClusterWorker } from '../admin/cluster-worker';
import { tellOperator } from '../timing/logger';

/** How long a cluster worker waits for the primary to say whether it serves the endpoint. */
const PRIMARY_QUESTION_TIMEOUT_MS = 1_000;

/**
 * Starts the admin endpoint for `dynamic-hooks/register` when
 * `DYNAMIC_HOOKS_ADMIN_PORT` is set (`0`: any free port, logged through
 * diag at info): bound to `DYNAMIC_HOOKS_ADMIN_HOST` (default `127.0.0.1`),
 * protected by `DYNAMIC_HOOKS_ADMIN_TOKEN`, which is required. Its server
 * does not keep the process alive. A bad setting or a failed listen is
 * reported (diag and stderr, see `tellOperator`) and leaves the application running without the
 * endpoint; it never throws. Resolves with the server, or `undefined`.
 */
export async function startAdminFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<AdminServer | undefined> {
  const portText = env.DYNAMIC_HOOKS_ADMIN_PORT;
  if (portText === undefined || portText === '') return undefined;
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    refuse(`DYNAMIC_HOOKS_ADMIN_PORT must be a port number (0-65535), got ${JSON.stringify(portText)}`);
    return undefined;
  }
  const token = env.DYNAMIC_HOOKS_ADMIN_TOKEN;
  if (token === undefined || token === '') {
    refuse('DYNAMIC_HOOKS_ADMIN_TOKEN is required');
    return undefined;
  }
  const host =
    env.DYNAMIC_HOOKS_ADMIN_HOST === undefined || env.DYNAMIC_HOOKS_ADMIN_HOST === ''
      ? undefined
      : env.DYNAMIC_HOOKS_ADMIN_HOST;
  if (isClusterWorker()) {
    // Under `node --require dynamic-hooks/register`, the primary starts the
    // endpoint first and takes the port; it switches this worker through
    // its relay.
    const served = await askPrimaryEndpoint(PRIMARY_QUESTION_TIMEOUT_MS);
    if (served !== undefined) {
      diag.info(`dynamic-hooks admin: served by the cluster primary at ${served}; it switches this worker too`);
      return undefined;
    }
  }
  try {
    const admin = await startAdminServer({ token, port, host });
    admin.server.unref();
    return admin;
  } catch (error) {
    refuse(String(error));
    return undefined;
  }
}

function refuse(reason: string): void {
  tellOperator('error', `admin endpoint not started: ${reason}`);
}
