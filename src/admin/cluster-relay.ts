import { diag } from '@opentelemetry/api';
import cluster, { type Worker } from 'node:cluster';
import {
  envelope,
  isHello,
  isTagged,
  MAX_REMEMBERED_SWITCHES,
  readApplied,
  readEndpointQuery,
  readRequest,
  type AdminOp,
  type OpResult,
  type RelayRequest,
  type WorkerAnswer,
} from './cluster-protocol';

/** Admin requests one worker may have in flight at once; beyond, the relay refuses. */
const MAX_IN_FLIGHT_PER_WORKER = 8;

/** The admin relay of a node:cluster primary, from {@link relayAdminToWorkers}. */
export interface AdminRelay {
  /** Stops relaying; requests in flight are answered at once with what has arrived. */
  close(): void;
}

// Versioned: another copy of the library in the process shares the relay only if it speaks the same protocol.
const RELAY = Symbol.for('dynamic-hooks.admin.relay.v1');
const registry = globalThis as { [RELAY]?: Relay };

/**
 * Relays the admin endpoint of node:cluster workers to every worker: a
 * `PUT` received by one worker switches the group in all of them, and
 * `GET /groups` lists each worker's groups. Call it in the primary; loading
 * `dynamic-hooks` (or `dynamic-hooks/register`) in the primary already
 * does. Idempotent: one relay per process, returned again by later calls.
 *
 * Each worker has the time the asking worker's endpoint allows
 * (`clusterTimeoutMs`, default 1000 ms) to answer; a worker that exits
 * first or does not answer in time is reported as such. A worker's message
 * is checked for shape and size and only the endpoint's three operations
 * are relayed, rebuilt from the checked fields; other messages on the
 * channel are ignored. The relay adds no timer or handle that keeps the
 * primary alive.
 *
 * @throws Error in a cluster worker (the relay belongs in the primary).
 */
export function relayAdminToWorkers(): AdminRelay {
  if (cluster.isWorker) {
    throw new Error('relayAdminToWorkers() belongs in the cluster primary; in a worker, start the admin endpoint');
  }
  return theRelay();
}

/** The process's relay, started on first use. */
function theRelay(): Relay {
  let relay = registry[RELAY];
  if (relay === undefined) {
    relay = new Relay();
    registry[RELAY] = relay;
    relay.start();
  }
  return relay;
}

class Relay implements AdminRelay {
  private sequence = 0;
  private readonly inFlight = new Map<number, number>();
  private readonly collections = new Map<string, Collection>();
  private readonly warned = new Set<number>();
  private endpoint: Promise<string | undefined> = Promise.resolve(undefined);
  /** The last switch of each group that some worker applied, for workers that start later. */
  private readonly remembered = new Map<string, boolean>();

  private readonly onMessage = (worker: Worker, message: unknown): void => {
    if (!isTagged(message)) return;
    const request = readRequest(message);
    if (request !== undefined) {
      this.relay(worker, request);
      return;
    }
    if (isHello(message)) {
      if (this.remembered.size > 0) send(worker, { type: 'restore', switches: [...this.remembered] });
      return;
    }
    const query = readEndpointQuery(message);
    if (query !== undefined) {
      this.answerEndpointQuery(worker, query);
      return;
    }
    const applied = readApplied(message);
    if (applied !== undefined) {
      this.collections.get(applied.id)?.answer(worker, applied.result);
      return;
    }
    if (!this.warned.has(worker.id)) {
      this.warned.add(worker.id);
      diag.warn(`dynamic-hooks admin relay: ignored a malformed admin message from worker ${worker.id}`);
    }
  };

  private readonly onExit = (worker: Worker, code: number | null, signal: string | null): void => {
    for (const collection of [...this.collections.values()]) collection.exited(worker, code, signal);
    this.inFlight.delete(worker.id);
    this.warned.delete(worker.id);
  };

  start(): void {
    cluster.on('message', this.onMessage);
    cluster.on('exit', this.onExit);
  }

  close(): void {
    cluster.off('message', this.onMessage);
    cluster.off('exit', this.onExit);
    if (registry[RELAY] === this) registry[RELAY] = undefined;
    for (const collection of [...this.collections.values()]) collection.finish('the relay was closed');
  }

  /** Runs `op` on every connected worker; resolves with each one's answer (or why none) within `timeoutMs`. */
  collect(op: AdminOp, timeoutMs: number): Promise<WorkerAnswer[]> {
    this.sequence = (this.sequence + 1) % Number.MAX_SAFE_INTEGER;
    const id = `r${process.pid}-${this.sequence}`;
    const targets = connectedWorkers();
    return new Promise((resolve) => {
      const collection = new Collection(targets, timeoutMs, (workers) => {
        this.collections.delete(id);
        if (op.action === 'set' && workers.some((worker) => 'group' in worker))
          this.remember(op.group, op.alwaysEnabled);
        resolve(workers);
      });
      this.collections.set(id, collection);
      const apply = rebuild(op);
      for (const worker of targets) {
        send(worker, { type: 'apply', id, op: apply }, (error) => {
          collection.fail(worker, `could not be reached: ${error}`);
        });
      }
      collection.checkDone();
    });
  }

  /** Records the URL of the primary's own admin endpoint, for workers that ask (see `askPrimaryEndpoint`). */
  serveEndpoint(url: Promise<string | undefined>): void {
    this.endpoint = url;
  }

  /** Forgets the endpoint announced as `url`, unless another one replaced it since. */
  endpointClosed(url: Promise<string | undefined>): void {
    if (this.endpoint === url) this.endpoint = Promise.resolve(undefined);
  }

  private remember(group: string, on: boolean): void {
    this.remembered.delete(group);
    this.remembered.set(group, on);
    if (this.remembered.size > MAX_REMEMBERED_SWITCHES) {
      const oldest = this.remembered.keys().next().value;
      if (oldest !== undefined) this.remembered.delete(oldest);
    }
  }

  private relay(origin: Worker, request: RelayRequest): void {
    const count = this.inFlight.get(origin.id) ?? 0;
    if (count >= MAX_IN_FLIGHT_PER_WORKER) {
      send(origin, {
        type: 'refused',
        id: request.id,
        error: `worker ${origin.id} has ${count} admin requests in flight already; try again`,
      });
      return;
    }
    this.inFlight.set(origin.id, count + 1);
    send(origin, { type: 'accepted', id: request.id });
    void this.collect(request.op, request.timeoutMs).then((workers) => {
      const left = (this.inFlight.get(origin.id) ?? 1) - 1;
      if (left > 0) this.inFlight.set(origin.id, left);
      else this.inFlight.delete(origin.id);
      send(origin, { type: 'response', id: request.id, workers });
    });
  }

  private answerEndpointQuery(origin: Worker, id: string): void {
    void this.endpoint.then(
      (url) => send(origin, { type: 'endpoint', id, ...(url === undefined ? {} : { url }) }),
      () => send(origin, { type: 'endpoint', id }),
    );
  }
}

/** The workers the relay asks: every connected one. */
export function connectedWorkers(): Worker[] {
  return Object.values(cluster.workers ?? {}).filter(
    (worker): worker is Worker => worker !== undefined && worker.isConnected(),
  );
}

/**
 * In the primary: runs `op` on every worker through the relay (installed
 * if it is not), as the admin endpoint of a primary with workers does.
 */
export function collectFromWorkers(op: AdminOp, timeoutMs: number): Promise<WorkerAnswer[]> {
  return theRelay().collect(op, timeoutMs);
}

/**
 * In the primary: tells workers that ask that the primary serves the admin
 * endpoint at `url`; the function it returns withdraws it.
 */
export function announcePrimaryEndpoint(url: Promise<string | undefined>): () => void {
  if (cluster.isWorker) return () => undefined;
  theRelay().serveEndpoint(url);
  return () => registry[RELAY]?.endpointClosed(url);
}

/** The answers to one relayed operation, in the order of the workers asked. */
class Collection {
  private readonly answers = new Map<number, WorkerAnswer>();
  private readonly timer: NodeJS.Timeout;
  private done = false;

  constructor(
    private readonly targets: readonly Worker[],
    timeoutMs: number,
    private readonly onDone: (workers: WorkerAnswer[]) => void,
  ) {
    this.timer = setTimeout(() => this.finish(`no answer within ${timeoutMs} ms`), timeoutMs);
    this.timer.unref();
  }

  answer(worker: Worker, result: OpResult): void {
    this.record(worker, { ...identify(worker), ...result });
  }

  fail(worker: Worker, error: string): void {
    this.record(worker, { ...identify(worker), error });
  }

  exited(worker: Worker, code: number | null, signal: string | null): void {
    const how = signal !== null ? `signal ${signal}` : `code ${String(code)}`;
    this.fail(worker, `exited (${how}) before answering`);
  }

  checkDone(): void {
    if (!this.done && this.targets.every((worker) => this.answers.has(worker.id))) this.finish('');
  }

  /** Answers now: workers that have not answered get `reason` (plus a hint when it is the timeout). */
  finish(reason: string): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    const hint = reason.startsWith('no answer') ? ' (has it loaded dynamic-hooks? is its event loop blocked?)' : '';
    this.onDone(
      this.targets.map((worker) => this.answers.get(worker.id) ?? { ...identify(worker), error: `${reason}${hint}` }),
    );
  }

  private record(worker: Worker, answer: WorkerAnswer): void {
    if (this.done || this.answers.has(worker.id) || !this.targets.includes(worker)) return;
    this.answers.set(worker.id, answer);
    this.checkDone();
  }
}

function identify(worker: Worker): { worker: number; pid: number } {
  return { worker: worker.id, pid: worker.process.pid ?? 0 };
}

/** The operation as forwarded: a fresh object of the checked fields only. */
function rebuild(op: AdminOp): AdminOp {
  if (op.action === 'list') return { action: 'list' };
  if (op.action === 'get') return { action: 'get', group: op.group };
  return { action: 'set', group: op.group, alwaysEnabled: op.alwaysEnabled, via: op.via };
}

/** Sends to a worker; a failure goes to `onError` (never an 'error' event). */
function send(worker: Worker, message: object, onError?: (error: string) => void): void {
  try {
    if (!worker.isConnected()) {
      onError?.('disconnected');
      return;
    }
    worker.send(envelope(message), undefined, (error: Error | null) => {
      if (error !== null) onError?.(error.message);
    });
  } catch (error) {
    onError?.(String(error));
  }
}
