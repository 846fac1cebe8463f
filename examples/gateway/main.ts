// The gateway command: `npm run gateway -- --config gateway.json`, or
// `node dist/examples/gateway/main.js --config gateway.json` after
// `npm run build`. Serves until SIGTERM or SIGINT, then stops accepting,
// lets the requests in flight finish (at most the file's
// `shutdownTimeoutSeconds`, default 10), exports the pending spans and exits
// 0. A bad command line exits 2, a bad configuration file 1, each with one
// line on stderr.
import { parseArgs } from 'node:util';
import { ConfigFileError } from './config-file';
import { serve, type RunningGateway } from './serve';

const USAGE = `Usage: gateway --config <file.json> [--port <n>]

  -c, --config <file>   the configuration (routes, services, plugins, listen, redis, timing);
                        examples/gateway/gateway.example.json is one
  -p, --port <n>        listen on this port instead of the file's listen.port (0: any free one)
  -h, --help            this text

Environment: OTEL_* (service name, sampler, propagators; spans are exported when
OTEL_TRACES_EXPORTER or OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set) and the
timing module's DYNAMIC_HOOKS_* (they win over the file's "timing").`;

class UsageError extends Error {}

function parseCommandLine(argv: readonly string[]): { configFile: string; port: number | undefined } | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string', short: 'c' },
        port: { type: 'string', short: 'p' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help === true) return 'help';
  if (values.config === undefined || values.config === '') throw new UsageError('--config <file> is required');
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65_535) {
      throw new UsageError(`--port must be a port number from 0 to 65535, got ${JSON.stringify(values.port)}`);
    }
  }
  return { configFile: values.config, port };
}

function fail(message: string, code: number): void {
  process.stderr.write(`gateway: ${message}\n`);
  process.exitCode = code;
}

async function main(): Promise<void> {
  let command: ReturnType<typeof parseCommandLine>;
  try {
    command = parseCommandLine(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    fail(`${error.message}\n${USAGE}`, 2);
    return;
  }
  if (command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let gateway: RunningGateway;
  try {
    gateway = await serve({ configFile: command.configFile, port: command.port });
  } catch (error) {
    if (error instanceof ConfigFileError || /^cannot listen on /.test((error as Error).message)) {
      fail((error as Error).message, 1);
      process.exit();
    }
    throw error;
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) {
        process.stdout.write(`gateway: ${signal} again: exiting now\n`);
        process.exit(1);
      }
      stopping = true;
      process.stdout.write(`gateway: ${signal}: stopping (no new connections; requests in flight finish)\n`);
      void gateway.stop().then(({ cut, flushed }) => {
        const notes = [
          ...(cut > 0 ? [`${cut} request${cut === 1 ? '' : 's'} cut off after the grace period`] : []),
          ...(gateway.exportsTo === undefined ? [] : [flushed ? 'spans exported' : 'spans not all exported in time']),
        ];
        process.stdout.write(`gateway: stopped${notes.length === 0 ? '' : ` (${notes.join('; ')})`}\n`);
        process.exit(0);
      });
    });
  }
}

let stopping = false;

main().catch((error: unknown) => {
  process.stderr.write(`gateway: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
