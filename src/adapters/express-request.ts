import type { IncomingMessage, ServerResponse } from 'node:http';
import { PhaseTrail, type PhaseEntry } from './phase-trail';
import { onResponseStart } from './response-start';

const STATE = Symbol('dynamic-hooks express timing');

type Tagged = IncomingMessage & { [STATE]?: ExpressRequestTiming };

/** The adapter's state for a debugged request, if the request is one. */
export function timingOf(req: IncomingMessage): ExpressRequestTiming | undefined {
  return (req as Tagged)[STATE];
}

/** Starts the access phase of a debugged request (once, however many apps it passes). */
export function startTiming(req: IncomingMessage, res: ServerResponse): ExpressRequestTiming {
  let timing = (req as Tagged)[STATE];
  if (timing === undefined) {
    timing = new ExpressRequestTiming(res);
    (req as Tagged)[STATE] = timing;
  }
  return timing;
}

/**
 * The phases of one debugged Express request: `access` from the first
 * layer until the matched route's handler starts, with `plugins` >
 * middleware name > layer id for each middleware (until it calls `next`)
 * and `router` for route matching. An error handed to `next` (or thrown),
 * or the response starting, ends access: what follows is the handler's or
 * the error handler's. Every method is idempotent once access is over.
 */
export class ExpressRequestTiming {
  private readonly trail = new PhaseTrail();
  private accessDone = false;

  constructor(res: ServerResponse) {
    this.trail.enter('access');
    // A middleware that responds itself (or the final 404/500 handler)
    // ends access before the response phases start.
    onResponseStart(res, () => {
      this.endAccess();
    });
  }

  /** A middleware starts: one `plugin` context in the `plugins` iterator. */
  startPlugin(name: string, id: string): PhaseEntry | undefined {
    if (this.accessDone) return undefined;
    if (this.trail.top() === 'router') this.trail.leavePhase('router');
    if (this.trail.top() === 'access') this.trail.enter('plugin_iterator');
    return this.trail.enter('plugin', name, id);
  }

  /** A middleware called `next` (with `error`, if any). */
  endPlugin(entry: PhaseEntry, error: unknown): void {
    this.trail.leave(entry);
    if (isError(error)) this.endAccess();
  }

  /** The router matches a route layer against the path: `router` until a layer runs. */
  startRouting(): void {
    if (this.accessDone) return;
    const top = this.trail.top();
    if (top === 'router') return;
    if (top === 'plugin_iterator') this.trail.leavePhase('plugin_iterator');
    this.trail.enter('router');
  }

  /** A matched layer starts running: route matching is over. */
  endRouting(): void {
    if (this.trail.top() === 'router') this.trail.leavePhase('router');
  }

  /** The route's handler (or an error handler) starts, or the response does: access is over. */
  endAccess(): void {
    if (this.accessDone) return;
    this.accessDone = true;
    this.trail.leaveAll();
  }
}

/** Whether a value handed to `next` is an error, as the router reads it (`'route'` and `'router'` are signals). */
function isError(value: unknown): boolean {
  return Boolean(value) && value !== 'route' && value !== 'router';
}
