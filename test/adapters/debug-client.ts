import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Tree } from '../helpers/debugged';
import { send, type Reply } from '../helpers/http';
import { eventually, parseLogOutput, timingHarness } from '../helpers/timing-harness';

/** What one debugged request to a framework app produced. */
export interface Debugged {
  readonly reply: Reply;
  /** The header output's tree. */
  readonly header: Tree;
  /** The log output's tree (the full tree, written once the response closed). */
  readonly logged: Tree;
  /** The spans of the request's trace, once its root span ended. */
  readonly spans: ReadableSpan[];
}

/** Sends a request with `X-Request-Debug: *` and `X-Request-Debug-Log: true` and collects its outputs. */
export async function debugRequest(url: string, method = 'GET'): Promise<Debugged> {
  const harness = timingHarness();
  const reply = await send(url, { 'X-Request-Debug': '*', 'X-Request-Debug-Log': 'true' }, method);
  const output = reply.headers['x-request-debug-output'];
  if (typeof output !== 'string') throw new Error(`no debug output for ${method} ${url} (status ${reply.status})`);
  const header = JSON.parse(output) as Tree;
  const requestId = header.request_id as string;
  const traceId = header.trace_id as string;
  await eventually(() => harness.logOf(requestId).length > 0);
  const ofTrace = () => harness.spans().filter((s) => s.spanContext().traceId === traceId);
  await eventually(() => ofTrace().some((s) => s.name.startsWith('request_debug')));
  return { reply, header, logged: parseLogOutput(harness.logOf(requestId)), spans: ofTrace() };
}

/** The paths (names from the root down, joined by ' > ') of every node flagged dangling. */
export function danglingPaths(tree: Tree, path: string[] = []): string[] {
  const found: string[] = [];
  for (const [name, node] of Object.entries(tree.child ?? {})) {
    if (node.dangling === true) found.push([...path, name].join(' > '));
    found.push(...danglingPaths(node, [...path, name]));
  }
  if (path.length === 0 && tree.dangling === true) found.push('(root)');
  return found;
}

/** The names of a node's children, in the tree's order. */
export function childNames(node: Tree): string[] {
  return Object.keys(node.child ?? {});
}

/** Every node name anywhere in the tree. */
export function allNames(tree: Tree): string[] {
  return Object.entries(tree.child ?? {}).flatMap(([name, node]) => [name, ...allNames(node)]);
}

/** A reply without what legitimately differs between two requests (date, the debug output). */
export function comparable(reply: Reply): { status: number; body: string; headers: Record<string, unknown> } {
  const headers: Record<string, unknown> = { ...reply.headers };
  delete headers.date;
  delete headers['x-request-debug-output'];
  return { status: reply.status, body: reply.body, headers };
}
