import { expect } from 'chai';
import { once } from 'node:events';
import http from 'node:http';
import { nodeAt, type Tree } from '../helpers/debugged';
import { close, listen, send, type Reply } from '../helpers/http';
import { AppProcess } from '../register/app-process';

// Real application processes for the operations tests (issue 10, items 6 to
// 9). Those under `dynamic-hooks/register` load the built package: run
// `npm run build` first.

/** The zero-code service of the register tests: looks up localhost, calls UPSTREAM_URL, answers its body. */
export const CJS_APP = 'test/fixtures/register/app.cjs';
export const FIXTURES = 'test/fixtures/otel-stack';

/** A spawned application and the moment its output streams closed (all of stderr read). */
export class OpsApp extends AppProcess {
  readonly closed: Promise<unknown>;

  constructor(nodeArgs: readonly string[], env: NodeJS.ProcessEnv) {
    super(nodeArgs, env);
    this.closed = once(this.child, 'close');
  }

  /** The `[dynamic-hooks] ` lines on stderr, without the prefix. */
  operatorLines(): string[] {
    return this.stderr
      .split('\n')
      .filter((line) => line.startsWith('[dynamic-hooks] '))
      .map((line) => line.slice('[dynamic-hooks] '.length));
  }
}

/** The apps a suite started, stopped after each test. */
export function appsOfSuite(): (nodeArgs: readonly string[], env: NodeJS.ProcessEnv) => OpsApp {
  const apps: OpsApp[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()));
  });
  return (nodeArgs, env) => {
    const app = new OpsApp(nodeArgs, env);
    apps.push(app);
    return app;
  };
}

/** An upstream that answers "upstream", for the suite. */
export function upstreamOfSuite(): () => string {
  const server = http.createServer((_req, res) => res.end('upstream'));
  let url = '';
  before(async () => {
    url = await listen(server);
  });
  after(() => close(server));
  return () => url;
}

/** A loopback URL nothing listens on: connections to it are refused. */
export async function refusingUrl(): Promise<string> {
  const server = http.createServer();
  const url = await listen(server);
  await close(server);
  return url;
}

/** Sends `X-Request-Debug: *` to `url`: the reply and the tree of its header output. */
export async function debugRequest(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ reply: Reply; tree: Tree }> {
  const reply = await send(url, { 'X-Request-Debug': '*', ...headers });
  const output = reply.headers['x-request-debug-output'];
  expect(output, 'X-Request-Debug-Output').to.be.a('string');
  return { reply, tree: JSON.parse(output as string) as Tree };
}

/** The top-level timing contexts of a tree, and whether `connections` appears anywhere in it. */
export function contextsOf(tree: Tree): { top: string[]; connections: boolean } {
  return { top: Object.keys(tree.child ?? {}), connections: JSON.stringify(tree).includes('"connections"') };
}

export { nodeAt };
