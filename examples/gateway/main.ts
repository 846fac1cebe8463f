// `npm run demo`: an upstream, the gateway in front of it (with the timing
// module and every instrumentation registered in the OpenTelemetry NodeSDK),
// and one debug request through it; prints the timing tree it returned in
// its header and the full tree from the log, each also drawn as the
// `dynamic-hooks` CLI draws it. With OTEL_EXPORTER_OTLP_ENDPOINT
// set (e.g. http://localhost:4318 and `docker compose up -d`), the spans go to
// Jaeger as well.
import { endpoint, logLines, recorded, sdk } from './telemetry';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startRedisServer, type RedisServer } from '../../test/helpers/redis-server';
import type { GatewayConfig, PluginConfig } from './config';
import { createGateway } from './gateway';
import { createUpstream } from './upstream';
import { PLAIN_STYLE, renderWaterfall } from '../../src/cli/render';
import { reassembleLogLines, type OutputJson } from '../../src/cli/tree-input';
import { toWaterfall } from '../../src/cli/waterfall';

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
    services: {
      // The first target refuses connections: the balancer retries with the second.
      demo: { targets: [`localhost:${deadPort}`, `localhost:${upstreamPort}`] },
    },
    routes: [{ name: 'demo', paths: ['/demo'], service: 'demo', workspace: 'demo-workspace', plugins }],
  };
  const gateway = createGateway(config, redis !== undefined ? { redis: { host: '127.0.0.1', port: redis.port } } : {});
  const gatewayPort = await listen(gateway.server);

  console.log(`gateway on http://127.0.0.1:${gatewayPort}, upstream on http://127.0.0.1:${upstreamPort}`);
  console.log(`GET /demo/slow with X-Request-Debug: * and X-Request-Debug-Log: true\n`);
  const reply = await get(`http://127.0.0.1:${gatewayPort}/demo/slow`, {
    'X-Request-Debug': '*',
    'X-Request-Debug-Log': 'true',
  });
  console.log(`status ${reply.status}, body: ${reply.body.trim()}\n`);
  console.log('X-Request-Debug-Output (written with the response headers):');
  console.log(reply.output ?? '(none)');
  if (reply.output !== undefined) console.log(`\n${waterfall(JSON.parse(reply.output) as OutputJson)}`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  console.log('\nlog output (after the response, with body_filter, log and upstream streaming):');
  for (const line of logLines) console.log(line);
  const [logged] = reassembleLogLines(logLines).trees;
  if (logged !== undefined) console.log(`\n${waterfall(logged)}`);
  console.log('\n(the same drawing for any server: npx dynamic-hooks debug <url>)');
  const spans = recorded.getFinishedSpans();
  console.log(
    `\n${spans.length} spans recorded in trace ${spans[0]?.spanContext().traceId ?? '-'}` +
      (endpoint === undefined
        ? ' (docker compose up -d, then OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 npm run demo, to see them in Jaeger)'
        : ` and exported to ${endpoint}`),
  );

  await gateway.close();
  upstream.close();
  await redis?.stop();
  await sdk.shutdown();
}

function get(url: string, headers: Record<string, string>): Promise<{ status: number; body: string; output?: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent: false }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => {
          const output = res.headers['x-request-debug-output'];
          resolve({ status: res.statusCode ?? 0, body, output: typeof output === 'string' ? output : undefined });
        });
      })
      .on('error', reject);
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
