import type { ServerResponse } from 'node:http';
import { PhaseTrail, type PhaseEntry } from './phase-trail';
import { onResponseStart } from './response-start';

/** Where a Fastify request keeps the adapter's state (a request decorator, `null` unless debugged). */
export const TIMING_STATE = Symbol('dynamic-hooks fastify timing');

/** The parts of a Fastify request the adapter reads. */
export interface FastifyRequestLike {
  [TIMING_STATE]?: FastifyRequestTiming | null;
  /** The matched route (Fastify 4.10 and later). */
  readonly routeOptions?: { readonly url?: unknown };
}

/** The adapter's state for a debugged request, if the request is one. */
export function timingOf(request: FastifyRequestLike): FastifyRequestTiming | undefined {
  return request[TIMING_STATE] ?? undefined;
}

/** Where a request is: rewrite, access, or after access (the handler, an error or the response started). */
const REWRITE = 0;
const ACCESS = 1;
const AFTER = 2;

/**
 * The phases of one debugged Fastify request: `rewrite` (the onRequest
 * hooks), `access` > `router` (preParsing through validation) and
 * `access` > `plugins` (the preHandler hooks, one plugin context each)
 * until the handler starts, then `header_filter` for the onSend hooks.
 * Phases only move forward; whatever is open when the response starts is
 * left then, before the server integration's own header_filter.
 */
export class FastifyRequestTiming {
  private readonly trail = new PhaseTrail();
  private stage = REWRITE;
  private responding = false;

  constructor(res: ServerResponse) {
    this.trail.enter('rewrite');
    onResponseStart(res, () => {
      this.responding = true;
      this.stage = AFTER;
      this.trail.leaveAll();
    });
  }

  /** The onRequest hooks are done (preParsing starts): access begins with route processing. */
  startAccess(): void {
    if (this.stage !== REWRITE) return;
    this.stage = ACCESS;
    this.trail.leaveAll();
    this.trail.enter('access');
    this.trail.enter('router');
  }

  /** The preHandler hooks start: route processing is over, the plugin iterator begins. */
  startPlugins(): void {
    if (this.stage !== ACCESS) return;
    this.trail.leavePhase('router');
    if (!this.trail.has('plugin_iterator')) this.trail.enter('plugin_iterator');
  }

  /** One preHandler hook starts. */
  startPlugin(name: string, id: string): PhaseEntry | undefined {
    if (this.stage !== ACCESS) return undefined;
    this.startPlugins();
    return this.trail.enter('plugin', name, id);
  }

  endPlugin(entry: PhaseEntry): void {
    this.trail.leave(entry);
  }

  /** The handler starts, or an error is being handled: access is over. */
  endAccess(): void {
    if (this.stage === AFTER) return;
    this.stage = AFTER;
    this.trail.leaveAll();
  }

  /** The onSend hooks start (again, after an error in one of them). */
  startHeaderFilter(): void {
    this.endAccess();
    this.trail.leaveAll();
    if (!this.responding) this.trail.enter('header_filter');
  }

  /** An error is being handled: whatever the adapter has open ends. */
  onError(): void {
    this.endAccess();
    this.trail.leaveAll();
  }
}
