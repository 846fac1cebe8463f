import cluster from 'node:cluster';
import { performLocally, restoreSwitches } from './group-control';
import {
  envelope,
  isTagged,
  readApply,
  readRelayAnswer,
  readRestore,
  type AdminOp,
  type RelayAnswer,
  type WorkerAnswer,
  type WorkerId,
} from './cluster-protocol';

/** How long a worker waits for the relay's answer beyond the per-worker time the relay itself waits. */
const RELAY_MARGIN_MS = 1_000;

/** What the workers of the cluster answered to one admin operation. */
export type ClusterAnswer =
  | { readonly relayed: true; readonly workers: readonly WorkerAnswer[] }
  /** No relay answered: `workers` holds this worker alone, which ran the operation itself. */
  | { readonly relayed: false; readonly reason: string; readonly workers: readonly WorkerAnswer[] }
  | { readonly refused: string };

const AGENT = Symbol.for('dynamic-hooks.admin.cluster-worker.v1');
const registry = globalThis as { [AGENT]?: WorkerAgent };

/** True in a node:cluster worker that can talk to its primary. */
export function isClusterWorker(): boolean {
  return cluster.isWorker && typeof process.send === 'function';
}

/** This worker as the answers name it. */
export function thisWorker(): WorkerId {
  return { worker: cluster.worker?.id ?? 0, pid: process.pid };
}

/**
 * Installs, once per process, the worker's side of the admin relay: runs
 * the operations the primary relays and routes the relay's answers to
 * {@link askWorkers}. A cluster worker's IPC channel already keeps it
 * alive while it is connected, so the listener changes nothing there.
 */
export function installWorkerAgent(): void {
  if (!isClusterWorker() || registry[AGENT] !== undefined) return;
  const agent = new WorkerAgent();
  registry[AGENT] = agent;
  process.on('message', agent.onMessage);
  // The relay answers with the switches made before this worker started.
  void agent.send({ type: 'hello' });
}

/**
 * Runs `op` on every worker of the cluster through the primary's relay;
 * each worker answers within `timeoutMs` or is reported as not answering.
 * When no relay acknowledges the request within `timeoutMs`, runs it on
 * this worker alone and says so. Never rejects; settles within about
 * `2 * timeoutMs + 1 s`.
 */
export async function askWorkers(op: AdminOp, timeoutMs: number): Promise<ClusterAnswer> {
  installWorkerAgent();
  const agent = registry[AGENT] as WorkerAgent;
  const alone = (reason: string): ClusterAnswer => ({
    relayed: false,
    reason,
    workers: [{ ...thisWorker(), ...performLocally(op) }],
  });
  if (!process.connected) return alone('this worker is disconnected from the cluster primary');
  const id = agent.nextId();
  const answers = agent.listen(id);
  try {
    const sent = await agent.send({ type: 'request', id, timeoutMs, op });
    if (sent !== undefined) return alone(`the cluster primary could not be reached (${sent})`);
    const first = await answers.next(timeoutMs);
    if (first === undefined) {
      return alone(
        `no dynamic-hooks relay answered in the cluster primary within ${timeoutMs} ms ` +
          '(load dynamic-hooks in the primary, or call relayAdminToWorkers() there)',
      );
    }
    if (first.type === 'refused') return { refused: first.error };
    const last = first.type === 'response' ? first : await answers.next(timeoutMs + RELAY_MARGIN_MS);
    if (last?.type === 'response') return { relayed: true, workers: last.workers };
    if (last?.type === 'refused') return { refused: last.error };
    return { refused: `the cluster primary's relay did not answer within ${timeoutMs + RELAY_MARGIN_MS} ms` };
  } finally {
    answers.stop();
  }
}

/**
 * In a cluster worker: the URL of the admin endpoint the primary serves,
 * or undefined when it serves none or no relay answers within `timeoutMs`.
 */
export async function askPrimaryEndpoint(timeoutMs: number): Promise<string | undefined> {
  if (!isClusterWorker() || !process.connected) return undefined;
  installWorkerAgent();
  const agent = registry[AGENT] as WorkerAgent;
  const id = agent.nextId();
  const answers = agent.listen(id);
  try {
    if ((await agent.send({ type: 'endpoint?', id })) !== undefined) return undefined;
    const answer = await answers.next(timeoutMs);
    return answer?.type === 'endpoint' ? answer.url : undefined;
  } finally {
    answers.stop();
  }
}

/** The relay's answers to one request, one at a time. */
interface AnswerQueue {
  /** The next answer, or undefined after `ms` without one. */
  next(ms: number): Promise<RelayAnswer | undefined>;
  stop(): void;
}

class WorkerAgent {
  private sequence = 0;
  private readonly waiting = new Map<string, (answer: RelayAnswer) => void>();

  readonly onMessage = (message: unknown): void => {
    if (!isTagged(message)) return;
    const apply = readApply(message);
    if (apply !== undefined) {
      void this.send({ type: 'applied', id: apply.id, result: performLocally(apply.op) });
      return;
    }
    const restore = readRestore(message);
    if (restore !== undefined) {
      restoreSwitches(restore);
      return;
    }
    const answer = readRelayAnswer(message);
    if (answer !== undefined) this.waiting.get(answer.id)?.(answer);
  };

  nextId(): string {
    this.sequence = (this.sequence + 1) % Number.MAX_SAFE_INTEGER;
    return `w${process.pid}-${this.sequence}`;
  }

  listen(id: string): AnswerQueue {
    const queued: RelayAnswer[] = [];
    let wake: (() => void) | undefined;
    this.waiting.set(id, (answer) => {
      queued.push(answer);
      wake?.();
    });
    return {
      next: async (ms) => {
        if (queued.length === 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, ms);
            timer.unref();
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
        return queued.shift();
      },
      stop: () => {
        this.waiting.delete(id);
      },
    };
  }

  /** Sends to the primary; resolves with the error's text when it could not, else undefined. */
  send(message: object): Promise<string | undefined> {
    return new Promise((resolve) => {
      try {
        process.send?.(envelope(message), undefined, {}, (error: Error | null) => {
          resolve(error === null ? undefined : error.message);
        });
      } catch (error) {
        resolve(String(error));
      }
    });
  }
}
