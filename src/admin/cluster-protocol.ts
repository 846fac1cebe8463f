// The messages the admin endpoint's workers and the primary's relay
// exchange over node:cluster's IPC channel. The channel also carries the
// application's own messages: ours carry TAG, everything else is ignored.
// A worker runs the application's code and has checked the admin token,
// but the relay takes no more from it than the endpoint's three operations:
// each field is checked for type and size, and what is forwarded is rebuilt
// from the checked fields, never the worker's object passed on.
import type { GroupInfo } from '../core/groups';

/** The key every message of ours carries, with the protocol version as its value. */
export const TAG = 'dynamic-hooks:admin';
export const PROTOCOL_VERSION = 1;

/** Longest group name the relay forwards (a URL segment is bounded by the header limit anyway). */
export const MAX_GROUP_NAME = 1024;
/** Longest `via` text (method and client address, for the workers' logs). */
const MAX_VIA = 256;
const ID = /^[\w.-]{1,64}$/;
/** Bounds of the per-worker answer time a worker may ask the relay for. */
export const MIN_TIMEOUT_MS = 1;
export const MAX_TIMEOUT_MS = 60_000;

/** What the admin endpoint asks of every worker. */
export type AdminOp =
  | { readonly action: 'list' }
  | { readonly action: 'get'; readonly group: string }
  | { readonly action: 'set'; readonly group: string; readonly alwaysEnabled: boolean; readonly via: string };

/** One worker's answer to an {@link AdminOp}. */
export type OpResult =
  { readonly groups: readonly GroupInfo[] } | { readonly group: GroupInfo } | { readonly unknownGroup: string };

/** A worker as the answers name it. */
export interface WorkerId {
  /** `cluster.worker.id`. */
  readonly worker: number;
  readonly pid: number;
}

/** One worker's entry in a cluster-wide answer: its result, or why there is none. */
export type WorkerAnswer = WorkerId & (OpResult | { readonly error: string });

/** Worker -> primary: run `op` on every worker. */
export interface RelayRequest {
  readonly type: 'request';
  readonly id: string;
  readonly timeoutMs: number;
  readonly op: AdminOp;
}

/** Primary -> every worker: run `op` and answer with `applied`. */
export interface ApplyMessage {
  readonly type: 'apply';
  readonly id: string;
  readonly op: AdminOp;
}

/** Worker -> primary: the result of an `apply`. */
export interface AppliedMessage {
  readonly type: 'applied';
  readonly id: string;
  readonly result: OpResult;
}

/** Primary -> the asking worker: the relay has the request (`accepted`), then every worker's answer (`response`). */
export type RelayAnswer =
  | { readonly type: 'accepted'; readonly id: string }
  | { readonly type: 'response'; readonly id: string; readonly workers: readonly WorkerAnswer[] }
  | { readonly type: 'refused'; readonly id: string; readonly error: string }
  /** The primary's own admin endpoint, when it serves one. */
  | { readonly type: 'endpoint'; readonly id: string; readonly url?: string };

/** Switches the relay remembers and sends to a worker that starts later: `[group, alwaysEnabled]`. */
export type Switches = readonly (readonly [string, boolean])[];

/** At most this many remembered switches (a group name each) travel to a starting worker. */
export const MAX_REMEMBERED_SWITCHES = 1024;

/** Wraps a message for the channel. */
export function envelope<T extends object>(message: T): T & { readonly [TAG]: number } {
  return { [TAG]: PROTOCOL_VERSION, ...message };
}

/** The fields of one of our messages (of this protocol version), or undefined for anything else. */
function ours(message: unknown): Record<string, unknown> | undefined {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return undefined;
  const record = message as Record<string, unknown>;
  return record[TAG] === PROTOCOL_VERSION ? record : undefined;
}

/** True when `message` carries our tag, whatever else it holds (the rest is then checked). */
export function isTagged(message: unknown): boolean {
  return ours(message) !== undefined;
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && ID.test(value);
}

/** A checked copy of an operation, or undefined. */
export function readOp(value: unknown): AdminOp | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { action, group, alwaysEnabled, via } = value as Record<string, unknown>;
  if (action === 'list') return { action };
  if (typeof group !== 'string' || group.length === 0 || group.length > MAX_GROUP_NAME) return undefined;
  if (action === 'get') return { action, group };
  if (action !== 'set' || typeof alwaysEnabled !== 'boolean') return undefined;
  if (typeof via !== 'string' || via.length > MAX_VIA) return undefined;
  return { action, group, alwaysEnabled, via };
}

/** A checked copy of a worker's request to the relay, or undefined. */
export function readRequest(message: unknown): RelayRequest | undefined {
  const m = ours(message);
  if (m?.type !== 'request' || !isId(m.id)) return undefined;
  const { timeoutMs } = m;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs)) return undefined;
  if (timeoutMs < MIN_TIMEOUT_MS || timeoutMs > MAX_TIMEOUT_MS) return undefined;
  const op = readOp(m.op);
  return op === undefined ? undefined : { type: 'request', id: m.id, timeoutMs, op };
}

/** True for a starting worker's `hello`. */
export function isHello(message: unknown): boolean {
  return ours(message)?.type === 'hello';
}

/** A checked copy of the primary's `restore` (switches made before this worker started), or undefined. */
export function readRestore(message: unknown): Switches | undefined {
  const m = ours(message);
  if (m?.type !== 'restore' || !Array.isArray(m.switches)) return undefined;
  const entries = m.switches as unknown[];
  if (entries.length > MAX_REMEMBERED_SWITCHES) return undefined;
  const switches: [string, boolean][] = [];
  for (const entry of entries) {
    if (!Array.isArray(entry) || entry.length !== 2) return undefined;
    const [group, on] = entry as unknown[];
    if (typeof group !== 'string' || group.length === 0 || group.length > MAX_GROUP_NAME) return undefined;
    if (typeof on !== 'boolean') return undefined;
    switches.push([group, on]);
  }
  return switches;
}

/** The id of a worker's question "does the primary serve the admin endpoint?", or undefined. */
export function readEndpointQuery(message: unknown): string | undefined {
  const m = ours(message);
  return m?.type === 'endpoint?' && isId(m.id) ? m.id : undefined;
}

/** A checked copy of the primary's `apply`, or undefined. */
export function readApply(message: unknown): ApplyMessage | undefined {
  const m = ours(message);
  if (m?.type !== 'apply' || !isId(m.id)) return undefined;
  const op = readOp(m.op);
  return op === undefined ? undefined : { type: 'apply', id: m.id, op };
}

/** A checked copy of a worker's `applied`, or undefined. */
export function readApplied(message: unknown): AppliedMessage | undefined {
  const m = ours(message);
  if (m?.type !== 'applied' || !isId(m.id)) return undefined;
  const result = readResult(m.result);
  return result === undefined ? undefined : { type: 'applied', id: m.id, result };
}

/** A checked copy of the relay's answer, or undefined. */
export function readRelayAnswer(message: unknown): RelayAnswer | undefined {
  const m = ours(message);
  if (m === undefined || !isId(m.id)) return undefined;
  if (m.type === 'accepted') return { type: 'accepted', id: m.id };
  if (m.type === 'endpoint') {
    return typeof m.url === 'string' && m.url.length <= 2048
      ? { type: 'endpoint', id: m.id, url: m.url }
      : { type: 'endpoint', id: m.id };
  }
  if (m.type === 'refused' && typeof m.error === 'string') return { type: 'refused', id: m.id, error: m.error };
  if (m.type !== 'response' || !Array.isArray(m.workers)) return undefined;
  const workers: WorkerAnswer[] = [];
  for (const entry of m.workers as unknown[]) {
    const answer = readWorkerAnswer(entry);
    if (answer === undefined) return undefined;
    workers.push(answer);
  }
  return { type: 'response', id: m.id, workers };
}

function readWorkerAnswer(value: unknown): WorkerAnswer | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { worker, pid, error } = value as Record<string, unknown>;
  if (!Number.isInteger(worker) || !Number.isInteger(pid)) return undefined;
  const id = { worker: worker as number, pid: pid as number };
  if (typeof error === 'string') return { ...id, error };
  const result = readResult(value);
  return result === undefined ? undefined : { ...id, ...result };
}

/** A checked copy of a result: groups, one group, or an unknown group's name. */
function readResult(value: unknown): OpResult | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { groups, group, unknownGroup } = value as Record<string, unknown>;
  if (typeof unknownGroup === 'string') return { unknownGroup };
  if (group !== undefined) {
    const info = readGroupInfo(group);
    return info === undefined ? undefined : { group: info };
  }
  if (!Array.isArray(groups)) return undefined;
  const infos: GroupInfo[] = [];
  for (const entry of groups as unknown[]) {
    const info = readGroupInfo(entry);
    if (info === undefined) return undefined;
    infos.push(info);
  }
  return { groups: infos };
}

function readGroupInfo(value: unknown): GroupInfo | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { name, alwaysEnabled, enabledScopes, hooks, hookedFunctions } = value as Record<string, unknown>;
  if (typeof name !== 'string' || typeof alwaysEnabled !== 'boolean' || !Number.isInteger(enabledScopes)) {
    return undefined;
  }
  if (!isStrings(hooks) || !isStrings(hookedFunctions)) return undefined;
  return { name, alwaysEnabled, enabledScopes: enabledScopes as number, hooks, hookedFunctions };
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
