// What the specs of test/docs/snippets.test.ts share: requests and checks
// against the servers the snippets start, the applications they run in
// front of, and the preludes of one-line blocks.
import { expect } from 'chai';
import { join } from 'node:path';
import { OtlpReceiver } from '../helpers/otlp-receiver';
import { PROJECT_ROOT } from '../helpers/run-node';
import type { CodeBlock } from './markdown-blocks';
import type { Background, Outcome, SnippetApp } from './snippet-app';

/** The debug token of the snippets' services, and what their clients send. */
export const TOKEN = 'c0ffee00-5n1p-pet5-test-token00000000';

export type Tree = { child?: Record<string, Tree> } & Record<string, unknown>;

/** The context named `name` anywhere in `tree` (depth first), or undefined. */
export function findContext(tree: Tree | undefined, name: string): Tree | undefined {
  for (const [key, child] of Object.entries(tree?.child ?? {})) {
    if (key === name) return child;
    const found = findContext(child, name);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Sends a debug request and returns the response with its parsed output (undefined without one). */
export async function debugRequest(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; output: Tree | undefined }> {
  const response = await fetch(url, { headers: { 'X-Request-Debug': '*', ...headers } });
  const header = response.headers.get('x-request-debug-output');
  return {
    status: response.status,
    body: await response.text(),
    output: header === null ? undefined : (JSON.parse(header) as Tree),
  };
}

export function describeOutcome(outcome: Outcome): string {
  return `exit ${outcome.code ?? outcome.signal}\nstdout:\n${outcome.stdout}\nstderr:\n${outcome.stderr}`;
}

/** Fails with the process's output unless it ended with code 0. */
export function expectSuccess(outcome: Outcome): void {
  expect(outcome.code, describeOutcome(outcome)).to.equal(0);
}

/** Stops a server a snippet started and checks that it died of the signal (as an unhandled SIGTERM does). */
export async function stopServer(server: Background): Promise<Outcome> {
  const end = await server.stop('SIGTERM');
  expect(end.signal === 'SIGTERM' || end.code === 143, `${server.label}\n${describeOutcome(end)}`).to.equal(true);
  return end;
}

/** Polls `check` until it holds (work that ends after the response, such as the log phase). */
export async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The application the snippets' setup code runs in front of, CommonJS (`app.js`): it answers every request. */
export const APP_JS = `const http = require('node:http');
http.createServer((req, res) => res.end('hello\\n')).listen(Number(process.env.PORT));
`;

/** The same as an ES module (`app.mjs`); with NEXT_URL it calls that service first, with fetch. */
export const APP_MJS = `import { createServer } from 'node:http';
createServer(async (req, res) => {
  if (process.env.NEXT_URL !== undefined) await (await fetch(process.env.NEXT_URL)).text();
  res.end('hello\\n');
}).listen(Number(process.env.PORT));
`;

/** Starts a real OTLP/JSON receiver and maps the documented collector port (4318) to it. */
export async function collector(app: SnippetApp): Promise<OtlpReceiver> {
  const receiver = await new OtlpReceiver().start();
  app.mapPort(4318, Number(new URL(receiver.tracesUrl).port));
  return receiver;
}

/** The code of a marked block (the spec lists its id, so it is there). */
export function code(blocks: Readonly<Record<string, CodeBlock>>, id: string): string {
  const block = blocks[id];
  if (block === undefined) throw new Error(`no block ${id}`);
  return block.code;
}

/**
 * The names the one-line configuration blocks of docs/proxies.md take from
 * their page; prepended to them when they run and when they are type-checked.
 */
export const PRELUDES: Readonly<Record<string, string>> = Object.fromEntries(
  ['proxies-real-ip', 'proxies-load-balancer', 'proxies-two-hops-ranges', 'proxies-two-hops-count'].map((id) => [
    id,
    `import { TimingInstrumentation } from 'dynamic-hooks';\nconst cdnRanges = ['198.51.100.0/24'];\n`,
  ]),
);

/** A block's code as a program: its prelude, if it is a fragment, then the block. */
export function program(blocks: Readonly<Record<string, CodeBlock>>, id: string): string {
  return `${PRELUDES[id] ?? ''}${code(blocks, id)}`;
}

export const TSC = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
