// `npm run demo`: an upstream, the gateway command in front of it (started as
// `npm run gateway` starts it, with a generated configuration file whose
// first target refuses connections, so that the balancer retries with the
// second), and one debug request through it. Prints the response status,
// the tree the gateway sent back in its response header and the fuller one
// it logged afterwards, each drawn as `npx dynamic-hooks debug` draws it,
// and how to get the JSON. With OTEL_EXPORTER_OTLP_ENDPOINT set (e.g.
// http://localhost:4318 after `docker compose up -d`) the gateway exports its
// spans there (to Jaeger).
import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { PLAIN_STYLE, renderWaterfall } from '../../src/cli/render';
import { reassembleLogLines, type OutputJson } from '../../src/cli/tree-input';
import { toWaterfall } from '../../src/cli/waterfall';
import { startRedisServer, type RedisServer } from '../../test/helpers/redis-server';
import type { GatewayConfig, PluginConfig } from './config';
import { createUpstream } from './upstream';

const DEBUG_HEADER = 'X-Request-Debug';
const PATH = '/demo/slow';

/** The tree as the `dynamic-hooks` CLI draws it: block characters on a terminal, ASCII otherwise. */
function waterfall(output: OutputJson): string {
  const tty = process.stdout.isTTY;
  const style = tty ? { unicode: true, color: false, width: Math.min(process.stdout.columns, 120) } : PLAIN_STYLE;
  return renderWaterfall(toWaterfall(output), style).join('\n');
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** The gateway command as a child process, its stdout collected line by line. */
class GatewayProcess {
  readonly lines: string[] = [];
  private readonly child: ChildProcessByStdio<null, Readable, null>;
  private readonly exited: Promise<[number | null, NodeJS.Signals | null]>;

  constructor(configFile: string) {
    // The same command as `npm run gateway -- --config <file>`: main.ts through tsx.
    this.child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'main.ts'), '--config', configFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let rest = '';
    this.child.stdout.on('data', (chunk: Buffer) => {
      const parts = (rest + chunk.toString()).split('\n');
      rest = parts.pop() ?? '';
      this.lines.push(...parts);
    });
    this.exited = once(this.child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  }

  /** Waits for a line matching `pattern`; fails if the gateway exits first or takes too long. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const line of this.lines) {
        const match = pattern.exec(line);
        if (match !== null) return match;
      }
      if (this.child.exitCode !== null) throw new Error(`the gateway exited with code ${this.child.exitCode}`);
      if (Date.now() > deadline) throw new Error(`the gateway wrote no line matching ${pattern}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends SIGTERM and resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    const [code] = await this.exited;
    return code;
  }
}

async function main(): Promise<void> {
  const upstream = createUpstream();
  const upstreamPort = await listen(upstream);
  // A port nothing listens on any more: connections to it are refused.
  const dead = http.createServer();
  const deadPort = await listen(dead);
  await new Promise((resolve) => dead.close(resolve));

  let redis: RedisServer | undefined;
  if (spawnSync('redis-server', ['--version']).status === 0) redis = await startRedisServer();
  else
    console.log('redis-server is not installed: the rate-limiting plugin is left out (apt-get install redis-server)');

  const plugins: PluginConfig[] = [
    ...(redis !== undefined ? [{ name: 'rate-limiting', config: { minute: 100 } }] : []),
    { name: 'external-http-calls', config: { calls: 2, url: `http://127.0.0.1:${upstreamPort}/policy` } },
  ];
  const config: GatewayConfig = {
    listen: { host: '127.0.0.1', port: 0 },
    ...(redis !== undefined ? { redis: { host: '127.0.0.1', port: redis.port } } : {}),
    services: {
      // The first target refuses connections: the balancer retries with the second.
      demo: { targets: [`localhost:${deadPort}`, `localhost:${upstreamPort}`] },
    },
    routes: [{ name: 'demo', paths: ['/demo'], service: 'demo', workspace: 'demo-workspace', plugins }],
  };
  const work = mkdtempSync(join(tmpdir(), 'dynamic-hooks-demo-'));
  const configFile = join(work, 'gateway.json');
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);

  console.log(`$ npm run gateway -- --config ${configFile}`);
  const gateway = new GatewayProcess(configFile);
  try {
    const [startLine, base] = await gateway.waitFor(/^gateway: listening on (\S+).*$/);
    console.log(startLine);
    console.log(`(the first of the two targets, localhost:${deadPort}, refuses connections: the balancer retries)\n`);

    const url = `${base}${PATH}`;
    console.log(`GET ${url} with ${DEBUG_HEADER}: * and ${DEBUG_HEADER}-Log: true`);
    const reply = await get(url, { [DEBUG_HEADER]: '*', [`${DEBUG_HEADER}-Log`]: 'true' });
    console.log(`-> ${reply.status} ${http.STATUS_CODES[reply.status] ?? ''}\n`);

    if (reply.output === undefined) {
      console.log(`no ${DEBUG_HEADER}-Output header: the request was not debugged`);
    } else {
      const tree = JSON.parse(reply.output) as OutputJson;
      console.log(`${DEBUG_HEADER}-Output, the tree sent with the response headers:\n`);
      console.log(waterfall(tree));
      const requestId = String(tree.request_id);
      // The log output is written once the response is over (body_filter, log, upstream streaming).
      await gateway.waitFor(new RegExp(`request_id: ${requestId} `), 5_000);
      const [logged] = reassembleLogLines(gateway.lines).trees;
      if (logged !== undefined) {
        console.log(
          `\nThe log output the gateway wrote to stdout after the response (with body_filter, log, streaming):\n`,
        );
        console.log(waterfall(logged));
      }
      console.log(`\nThe JSON: npx dynamic-hooks debug --json ${url} (or the ${DEBUG_HEADER}-Output response header)`);
      console.log(
        process.env.OTEL_EXPORTER_OTLP_ENDPOINT === undefined
          ? `The spans (trace ${String(tree.trace_id)}) in Jaeger: docker compose up -d, ` +
              'then OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 npm run demo'
          : `The spans (trace ${String(tree.trace_id)}) go to ${process.env.OTEL_EXPORTER_OTLP_ENDPOINT}`,
      );
    }
  } finally {
    const code = await gateway.stop();
    const stopping = gateway.lines.filter((line) => /^gateway: (SIGTERM|stopped)/.test(line));
    console.log(`\n$ kill -TERM ${gateway.pid}\n${stopping.join('\n')}\nexit code ${String(code)}`);
    upstream.close();
    await redis?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

function get(url: string, headers: Record<string, string>): Promise<{ status: number; output?: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent: false }, (res) => {
        res.resume();
        res.on('end', () => {
          const output = res.headers[`${DEBUG_HEADER.toLowerCase()}-output`];
          resolve({ status: res.statusCode ?? 0, output: typeof output === 'string' ? output : undefined });
        });
      })
      .on('error', reject);
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
