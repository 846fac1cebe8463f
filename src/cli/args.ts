import { parseArgs } from 'node:util';
import { DEFAULT_HEADER_PREFIX, HEADER_NAME, TOKEN_ENV } from '../names/debug-headers';

/** How the waterfall is drawn, from the flags both commands share. */
export interface DrawFlags {
  /** Print the tree's JSON instead of drawing it. */
  readonly json: boolean;
  /** Total width in columns; undefined: the terminal's, or 100. */
  readonly width: number | undefined;
  /** Plain ASCII even on a terminal. */
  readonly ascii: boolean;
}

/** `dynamic-hooks debug <url>`: send one debugged request and draw its tree. */
export interface DebugCommand extends DrawFlags {
  readonly command: 'debug';
  readonly url: URL;
  readonly method: string;
  /** Extra request headers, in order, as given with `-H`. */
  readonly headers: readonly (readonly [string, string])[];
  readonly data: string | undefined;
  readonly token: string | undefined;
  /** Ask the server to log the tree as well (`<prefix>-Log: true`). */
  readonly log: boolean;
  readonly headerPrefix: string;
  readonly timeoutMs: number;
  /** Accept any TLS certificate (self-signed development servers). */
  readonly insecure: boolean;
}

/** `dynamic-hooks show [file|-]`: draw a saved tree, or trees reassembled from log lines. */
export interface ShowCommand extends DrawFlags {
  readonly command: 'show';
  /** A file path, or `-` for stdin. */
  readonly source: string;
  /** Only the tree of this request (when the input holds several). */
  readonly requestId: string | undefined;
}

/** What the command line asked for. */
export type Command = DebugCommand | ShowCommand | { readonly command: 'help' } | { readonly command: 'version' };

/** A command line the CLI cannot run; the message says why, the usage follows it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The usage text printed by `--help` and after a usage error. */
export const USAGE = `Usage:
  dynamic-hooks debug <url> [options]   send a debugged request, draw its timing tree
  dynamic-hooks show [file.json|-]      draw a saved tree (JSON, or the server's
                                        [request-debug] log lines) from a file or stdin

debug options:
  --token <token>          debug token for non-loopback clients (env ${TOKEN_ENV})
  -H, --header 'N: v'      extra request header (repeatable)
  -X, --request <method>   request method (default GET, or POST with --data)
  -d, --data <body>        request body
  --log                    ask the server to log the tree too (${DEFAULT_HEADER_PREFIX}-Log: true)
  --header-prefix <name>   debug header prefix (default ${DEFAULT_HEADER_PREFIX})
  --timeout <ms>           give up after this long (default 30000)
  -k, --insecure           accept any TLS certificate

show options:
  --request-id <id>        only the tree of this request (log input may hold several)

common options:
  --json                   print the tree's JSON instead of drawing it
  --width <n>              output width in columns (default: the terminal's, or 100)
  --ascii                  plain ASCII even on a terminal (always so when not a TTY)
  -h, --help               this text
  -v, --version            the version

Exit codes: 0 drawn; 1 no tree (request not debugged, or failed); 2 usage or input error.`;

const OPTIONS = {
  token: { type: 'string' },
  header: { type: 'string', short: 'H', multiple: true },
  request: { type: 'string', short: 'X' },
  data: { type: 'string', short: 'd' },
  log: { type: 'boolean' },
  'header-prefix': { type: 'string' },
  timeout: { type: 'string' },
  insecure: { type: 'boolean', short: 'k' },
  'request-id': { type: 'string' },
  json: { type: 'boolean' },
  width: { type: 'string' },
  ascii: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

const DEBUG_ONLY = ['token', 'header', 'request', 'data', 'log', 'header-prefix', 'timeout', 'insecure'] as const;

/**
 * Parses the arguments after the program name. Throws a `UsageError` that
 * names the problem for anything it cannot run.
 */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv = {}): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help === true || positionals[0] === 'help') return { command: 'help' };
  if (values.version === true) return { command: 'version' };

  const [command, ...rest] = positionals;
  if (command === undefined) throw new UsageError('missing command: debug or show');
  const draw: DrawFlags = {
    json: values.json === true,
    width: values.width === undefined ? undefined : positiveInteger('--width', values.width, 20),
    ascii: values.ascii === true,
  };

  if (command === 'show') {
    for (const name of DEBUG_ONLY) {
      if (values[name] !== undefined) throw new UsageError(`--${name} is an option of debug, not show`);
    }
    if (rest.length > 1) throw new UsageError(`show takes one file (or -), got ${rest.length}`);
    return { command: 'show', ...draw, source: rest[0] ?? '-', requestId: values['request-id'] };
  }

  if (command !== 'debug') throw new UsageError(`unknown command '${command}': debug or show`);
  if (values['request-id'] !== undefined) throw new UsageError('--request-id is an option of show, not debug');
  if (rest.length === 0) throw new UsageError('debug needs a URL');
  if (rest.length > 1) throw new UsageError(`debug takes one URL, got ${rest.length}`);
  const url = parseUrl(rest[0]);
  const headerPrefix = values['header-prefix'] ?? DEFAULT_HEADER_PREFIX;
  if (!HEADER_NAME.test(headerPrefix)) throw new UsageError(`--header-prefix '${headerPrefix}' is not a header name`);
  const method = values.request ?? (values.data === undefined ? 'GET' : 'POST');
  if (!HEADER_NAME.test(method)) throw new UsageError(`-X '${method}' is not a method`);
  const token = values.token ?? env[TOKEN_ENV];
  return {
    command: 'debug',
    ...draw,
    url,
    method: method.toUpperCase(),
    headers: (values.header ?? []).map(parseHeader),
    data: values.data,
    token: token === '' ? undefined : token,
    log: values.log === true,
    headerPrefix,
    timeoutMs: values.timeout === undefined ? 30_000 : positiveInteger('--timeout', values.timeout, 1),
    insecure: values.insecure === true,
  };
}

function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`'${text}' is not a URL (write it in full, e.g. http://127.0.0.1:8000/path)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`'${text}': only http and https URLs can be debugged`);
  }
  return url;
}

/** `Name: value` (curl's form) into a name/value pair. */
function parseHeader(text: string): readonly [string, string] {
  const colon = text.indexOf(':');
  const name = colon < 0 ? '' : text.slice(0, colon).trim();
  if (!HEADER_NAME.test(name)) throw new UsageError(`-H '${text}' is not 'Name: value'`);
  const value = text.slice(colon + 1).trim();
  if (/[\r\n\0]/.test(value)) throw new UsageError(`-H '${name}': the value holds a line break`);
  return [name, value];
}

function positiveInteger(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`${flag} '${text}' must be a whole number of at least ${min}`);
  }
  return value;
}
