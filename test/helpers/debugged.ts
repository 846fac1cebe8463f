import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import http from 'node:http';
import { close, listen, send } from './http';
import { eventually, timingHarness } from './timing-harness';

/** A timing tree node as the header output carries it. */
export type Tree = Record<string, unknown> & { child?: Record<string, Tree>; total_time?: number };

/** What one request that ran `work` produced. */
export interface Outcome<T> {
  /** The header output's tree (`undefined` for an undebugged request). */
  readonly tree: Tree | undefined;
  /** The spans of that request's trace, once its root span ended. */
  readonly spans: ReadableSpan[];
  readonly result: T | undefined;
  readonly error: unknown;
}

/**
 * Runs `work` inside a real request to a real node:http server (so in its
 * request scope), debugged or not, and collects what the timing module made
 * of it. The response is sent once `work` settled.
 */
export async function runInRequest<T>(work: () => Promise<T>, debug = true): Promise<Outcome<T>> {
  const harness = timingHarness();
  let result: T | undefined;
  let error: unknown;
  const server = http.createServer((_req, res) => {
    work().then(
      (value) => {
        result = value;
        res.end('done');
      },
      (failure: unknown) => {
        error = failure;
        res.end('failed');
      },
    );
  });
  const url = await listen(server);
  try {
    const reply = await send(url, debug ? { 'X-Request-Debug': '*' } : {});
    const output = reply.headers['x-request-debug-output'];
    const tree = typeof output === 'string' ? (JSON.parse(output) as Tree) : undefined;
    let spans: ReadableSpan[] = [];
    if (tree !== undefined) {
      const traceId = tree.trace_id as string;
      const ofTrace = () => harness.spans().filter((s) => s.spanContext().traceId === traceId);
      await eventually(() => ofTrace().some((s) => s.name.startsWith('request_debug')));
      spans = ofTrace();
    }
    return { tree, spans, result, error };
  } finally {
    await close(server);
  }
}

/** The node at `path` (names from the root's children down), or fails the test naming what is there. */
export function nodeAt(tree: Tree | undefined, ...path: string[]): Tree {
  let node: Tree | undefined = tree;
  for (const name of path) {
    const next: Tree | undefined = node?.child?.[name];
    if (next === undefined) {
      throw new Error(
        `no '${name}' under ${JSON.stringify(Object.keys(node?.child ?? {}))} in ${JSON.stringify(tree)}`,
      );
    }
    node = next;
  }
  return node as Tree;
}

/** The span named `name` and the names of its ancestors up to the request's root span. */
export function spanPath(spans: readonly ReadableSpan[], name: string): string[] {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  let span = spans.find((s) => s.name === name);
  const path: string[] = [];
  while (span !== undefined) {
    path.unshift(span.name);
    const parentId = span.parentSpanContext?.spanId;
    span = parentId === undefined ? undefined : byId.get(parentId);
  }
  return path;
}
