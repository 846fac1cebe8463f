import http from 'node:http';
import type { Tree } from '../helpers/debugged';
import { close, listen, send, type Reply } from '../helpers/http';
import { eventually, parseLogOutput, timingHarness } from '../helpers/timing-harness';

/** What one request to a real debugged server produced. */
export interface Debugged {
  readonly reply: Reply;
  /** The header output, parsed (a truncation notice when truncated). */
  readonly header: Tree | undefined;
  /** The full tree: the header's, or the log's when the header was truncated or `log` was asked. */
  readonly tree: Tree | undefined;
}

/**
 * Serves one request with `handler` on a real node:http server and sends
 * it from Node's own HTTP client, debugged unless `debug` is false.
 */
export async function debugRequest(
  handler: http.RequestListener,
  {
    debug = true,
    log = false,
    headers = {},
  }: { debug?: boolean; log?: boolean; headers?: Record<string, string> } = {},
): Promise<Debugged> {
  const harness = timingHarness();
  const server = http.createServer(handler);
  const url = await listen(server);
  try {
    const sent = {
      ...headers,
      ...(debug ? { 'X-Request-Debug': '*' } : {}),
      ...(log ? { 'X-Request-Debug-Log': 'true' } : {}),
    };
    const reply = await send(url, sent);
    const output = reply.headers['x-request-debug-output'];
    const header = typeof output === 'string' ? (JSON.parse(output) as Tree) : undefined;
    let tree = header;
    if (header !== undefined && (header.truncated === true || log)) {
      const requestId = header.request_id as string;
      await eventually(() => harness.logOf(requestId).length > 0);
      tree = parseLogOutput(harness.logOf(requestId));
    }
    return { reply, header, tree };
  } finally {
    await close(server);
  }
}

/** How many timing contexts deep `tree` goes below its root. */
export function treeDepth(tree: Tree): number {
  let deepest = 0;
  for (const node of Object.values(tree.child ?? {})) deepest = Math.max(deepest, 1 + treeDepth(node));
  return deepest;
}
