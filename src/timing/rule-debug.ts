import type { IncomingMessage, ServerResponse } from 'node:http';
import { activeRequestScope } from '../core/request-scope';
import { clientOf, parentContext, startDebugRequest } from './auth';
import { debugRequestOfScope } from './debug-request';
import type { TimingSettings } from './settings';

/**
 * Debugs the current request because a rule selected it (a feature flag,
 * not the client's debug header): its timing output goes to the log and
 * to spans, never to the client, which did not ask for it. A request that
 * is debugged already (the client asked) is left as it is. True if it
 * started one.
 */
export function startRuleDebugRequest(settings: TimingSettings, req: IncomingMessage, res: ServerResponse): boolean {
  const scope = activeRequestScope();
  if (scope === undefined || scope.ended || debugRequestOfScope(scope) !== undefined) return false;
  startDebugRequest(settings, req, res, scope, {
    client: clientOf(settings, req),
    loopback: false,
    log: true,
    parent: parentContext(req.headers),
    toClient: false,
  });
  return true;
}

/** The client's address as the timing module reads it (trusted proxies included), for flag rules' context. */
export function ruleClientAddress(settings: TimingSettings, req: IncomingMessage): string | undefined {
  const peer = req.socket?.remoteAddress;
  // Only a trusted proxy's headers are read: for the others, req.headers need not be built.
  if (!settings.clientAddress.trustsProxies) return peer;
  return clientOf(settings, req);
}
