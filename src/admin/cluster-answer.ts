import type { AdminOp, WorkerAnswer } from './cluster-protocol';
import type { ClusterAnswer } from './cluster-worker';

/** One worker's entry in the endpoint's answer. */
type WorkerEntry = WorkerAnswer | { readonly worker: number; readonly pid: number; readonly error: string };

/** The HTTP answer to a cluster-wide operation. */
export interface ClusterReply {
  readonly status: number;
  readonly body: { readonly error?: string; readonly workers: readonly WorkerEntry[] };
}

/**
 * The endpoint's answer under node:cluster: `{ workers: [...] }`, one
 * entry per worker (`worker`, `pid`, then `groups`, `group` or `error`).
 * 200 when every worker answered with a result; 404 when no worker knows
 * the group; otherwise 502 with an `error` that says which workers were not
 * reached (the relay is missing, a worker exited or did not answer, or
 * does not know the group); 503 when the relay refused the request.
 */
export function clusterReply(op: AdminOp, answer: ClusterAnswer): ClusterReply {
  if ('refused' in answer) return { status: 503, body: { error: answer.refused, workers: [] } };
  const workers = answer.workers.map(entry);
  const failed = workers.filter((worker) => 'error' in worker);
  if (!answer.relayed) {
    const only = workers.map((worker) => worker.worker).join(', ');
    return { status: 502, body: { error: `${answer.reason}; only worker ${only} answered`, workers } };
  }
  if (workers.length > 0 && failed.length === 0) return { status: 200, body: { workers } };
  const unknown = answer.workers.filter((worker) => 'unknownGroup' in worker);
  if (op.action !== 'list' && workers.length > 0 && unknown.length === workers.length) {
    return { status: 404, body: { error: `no group named ${JSON.stringify(op.group)} in any worker`, workers } };
  }
  const names = failed.map((worker) => worker.worker).join(', ');
  const error =
    workers.length === 0
      ? 'the relay found no connected worker'
      : `${failed.length} of ${workers.length} workers did not ${op.action === 'set' ? 'switch' : 'answer'} (worker ${names})`;
  return { status: 502, body: { error, workers } };
}

function entry(answer: WorkerAnswer): WorkerEntry {
  if ('unknownGroup' in answer) {
    return { worker: answer.worker, pid: answer.pid, error: `no group named ${JSON.stringify(answer.unknownGroup)}` };
  }
  return answer;
}
