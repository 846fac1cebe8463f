#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { VERSION } from '../version';
import { parseCommandLine, USAGE, UsageError, type DebugCommand, type DrawFlags, type ShowCommand } from './args';
import { notDebuggedMessage, statusLine, truncationMessage } from './messages';
import { printable, renderWaterfall, type RenderStyle } from './render';
import { sendDebugRequest } from './request';
import { InputError, parseDebugInput, type OutputJson } from './tree-input';
import { toWaterfall, truncationOf } from './waterfall';

/** Exit codes: drawn (or a truncation notice shown), no tree to draw, bad usage or input. */
export const EXIT_OK = 0;
export const EXIT_NO_TREE = 1;
export const EXIT_USAGE = 2;

/** What the CLI reads and writes, so that it can run in-process as well as from `main`. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly readStdin: () => Promise<string>;
  readonly env: NodeJS.ProcessEnv;
  /** stdout is a terminal: Unicode, and colour unless NO_COLOR is set. */
  readonly isTTY: boolean;
  /** stdin is a terminal (`show` with nothing piped in says it is waiting). */
  readonly stdinIsTTY: boolean;
  readonly columns: number | undefined;
}

/**
 * Runs `dynamic-hooks <argv...>` and resolves with the exit code:
 * `debug <url>` sends a debugged request and draws its timing tree; `show
 * [file|-]` draws saved trees or trees put back together from log lines.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let command;
  try {
    command = parseCommandLine(argv, io.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`dynamic-hooks: ${error.message}\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  switch (command.command) {
    case 'help':
      io.stdout(`${USAGE}\n`);
      return EXIT_OK;
    case 'version':
      io.stdout(`${VERSION}\n`);
      return EXIT_OK;
    case 'debug':
      return debug(command, io);
    case 'show':
      return show(command, io);
  }
}

async function debug(command: DebugCommand, io: CliIo): Promise<number> {
  const style = styleFor(command, io);
  let reply;
  try {
    reply = await sendDebugRequest(command);
  } catch (error) {
    io.stderr(`dynamic-hooks: ${command.method} ${command.url.href} failed: ${describe(error)}\n`);
    return EXIT_NO_TREE;
  }
  // With --json, stdout holds the JSON alone.
  (command.json ? io.stderr : io.stdout)(`${statusLine(command, reply, style.unicode)}\n`);
  if (reply.output === undefined) {
    io.stderr(`${notDebuggedMessage(command)}\n`);
    return EXIT_NO_TREE;
  }
  let output: unknown;
  try {
    output = JSON.parse(reply.output);
  } catch (error) {
    io.stderr(`dynamic-hooks: the ${command.headerPrefix}-Output header is not valid JSON: ${describe(error)}\n`);
    return EXIT_USAGE;
  }
  if (typeof output !== 'object' || output === null || Array.isArray(output)) {
    io.stderr(`dynamic-hooks: the ${command.headerPrefix}-Output header is not a JSON object\n`);
    return EXIT_USAGE;
  }
  if (command.json) {
    io.stdout(`${reply.output}\n`);
    return EXIT_OK;
  }
  io.stdout(`\n${draw(output as OutputJson, style)}\n`);
  const requestId = (output as OutputJson).request_id;
  if (command.log && truncationOf(output as OutputJson) === undefined && typeof requestId === 'string') {
    io.stdout(`\nThe server also logged this tree, under request_id ${printable(requestId, style.unicode)}.\n`);
  }
  return EXIT_OK;
}

async function show(command: ShowCommand, io: CliIo): Promise<number> {
  const style = styleFor(command, io);
  let text: string;
  try {
    if (command.source === '-') {
      if (io.stdinIsTTY) io.stderr('dynamic-hooks: reading a tree or log lines from stdin (end with Ctrl-D)\n');
      text = await io.readStdin();
    } else text = await readFile(command.source, 'utf8');
  } catch (error) {
    io.stderr(`dynamic-hooks: cannot read ${command.source}: ${describe(error)}\n`);
    return EXIT_USAGE;
  }

  let parsed;
  try {
    parsed = parseDebugInput(text);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    const source = command.source === '-' ? 'stdin' : command.source;
    io.stderr(`dynamic-hooks: nothing to draw in ${printable(source, false)}: ${error.message}\n`);
    return EXIT_USAGE;
  }
  for (const problem of parsed.problems) io.stderr(`dynamic-hooks: ${printable(problem, style.unicode)}\n`);
  let trees = parsed.trees;
  if (command.requestId !== undefined) {
    trees = trees.filter((tree) => tree.request_id === command.requestId);
    if (trees.length === 0) {
      const found = parsed.trees.map((tree) => String(tree.request_id)).join(', ');
      io.stderr(
        `dynamic-hooks: no tree for request_id ${printable(command.requestId, false)} in the input` +
          ` (it holds: ${printable(found === '' ? 'none' : found, false)})\n`,
      );
      return EXIT_USAGE;
    }
  }

  if (command.json) {
    for (const tree of trees) io.stdout(`${JSON.stringify(tree)}\n`);
  } else {
    io.stdout(trees.map((tree) => `${draw(tree, style)}\n`).join('\n'));
  }
  return parsed.problems.length > 0 ? EXIT_USAGE : EXIT_OK;
}

/** One output drawn: its waterfall, or where the tree went if the server truncated it. */
function draw(output: OutputJson, style: RenderStyle): string {
  const truncation = truncationOf(output);
  if (truncation !== undefined) return truncationMessage(truncation, style.unicode, style.width);
  return renderWaterfall(toWaterfall(output), style).join('\n');
}

function styleFor(flags: DrawFlags, io: CliIo): RenderStyle {
  const noColor = io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '';
  return {
    unicode: io.isTTY && !flags.ascii,
    color: io.isTTY && !noColor && io.env.TERM !== 'dumb',
    width: flags.width ?? (io.isTTY && io.columns !== undefined && io.columns > 0 ? io.columns : 100),
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== undefined && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

/** The process's own streams and environment. */
export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    env: process.env,
    isTTY: process.stdout.isTTY,
    stdinIsTTY: process.stdin.isTTY,
    columns: process.stdout.columns,
  };
}

if (require.main === module) {
  // A closed pipe (`| head`) ends the output, not the process with a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  runCli(process.argv.slice(2), processIo()).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(
        `dynamic-hooks: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = EXIT_NO_TREE;
    },
  );
}
