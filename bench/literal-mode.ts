/**
 * Whether native gateway processes run in Node 22's "literal mode": the
 * tick objects of `process.nextTick`, inlined in the optimised `onwrite`
 * of Node's writable streams, having their symbol keys defined in V8's
 * runtime (`Runtime_DefineKeyedOwnPropertyInLiteral`) instead of by inline
 * stores, for the life of the process. The instructions suite found it
 * under callgrind (docs/benchmarks.md, Instructions), where it costs some
 * 84 runtime entries and +40 % of instructions per gateway request; this
 * suite looks for it where users run: fresh processes of
 * bench/servers/gateway-server.ts, no V8 flags, their stderr a pipe or a
 * file (under callgrind the mode came with a pipe), loaded by autocannon (32
 * connections), each sampled by `perf record` (CPU clock, call graphs) for
 * a few seconds after a warm-up. A process's figure is the share of its
 * main thread's samples with that runtime function on the stack; in the
 * mode it would be large (27 % of a slow process's instructions under
 * callgrind), where compiled code leaves it near 0. A control script whose
 * literal always takes that path shows first that perf sees the function.
 * Run by name (`npm run bench -- literal-mode`); needs `perf` (Debian's
 * `linux-perf`) and skips without it. BENCH_NODE picks the Node line,
 * BENCH_PROCESSES the processes per setup (6), BENCH_SECONDS the sampled
 * seconds (4).
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { missingTool, type Suite } from './harness';
import { machineLine, runLoad, serverNode, startServer } from './load';
import { gatewayArgs } from './server';

const RUNTIME_FUNCTION = 'Runtime_DefineKeyedOwnPropertyInLiteral';
/** A process whose main thread has more than this share of its samples in the runtime function is in the mode. */
const MODE_SHARE = 0.05;
const CONNECTIONS = 32;
const WARMUP_SECONDS = 5;

/** The setups sampled: the set dormant with the server's stderr a pipe (as under containers and systemd) and a file. */
const SETUPS = [
  { label: '(a) gateway, no OpenTelemetry, stderr a pipe', setup: 'plain', stderr: 'pipe' },
  { label: "(e'') gateway, the default set dormant, stderr a pipe", setup: 'otel-all-dormant', stderr: 'pipe' },
  { label: "(e'') gateway, the default set dormant, stderr a file", setup: 'otel-all-dormant', stderr: 'file' },
] as const;

const run = promisify(execFile);

/** What one process's samples said. */
interface Sampled {
  /** Samples of the main thread. */
  readonly samples: number;
  /** Share of them with the runtime function on the stack. */
  readonly share: number;
}

/**
 * The main thread's sample count and the share of samples under the
 * runtime function, from `perf report`'s inclusive ("children") column.
 */
async function readSamples(data: string, pid: number | undefined): Promise<Sampled> {
  const thread = pid === undefined ? [] : ['--tid', String(pid)];
  const report = await run(
    'perf',
    ['report', '-i', data, '--stdio', ...thread, '--children', '--sort', 'sym', '-g', 'none'],
    { maxBuffer: 1 << 28 },
  );
  const text = report.stdout;
  const count = /^# Samples: (\d+)(K?)/m.exec(text);
  const samples = count === null ? 0 : Number(count[1]) * (count[2] === 'K' ? 1000 : 1);
  const line = text.split('\n').find((each) => each.includes(RUNTIME_FUNCTION));
  const share = line === undefined ? 0 : Number.parseFloat(line.trim().split(/\s+/)[0]) / 100;
  return { samples, share };
}

/**
 * A script that defines computed keys of 50 different symbols at one
 * object literal, which leaves its feedback megamorphic: every definition
 * then goes through the runtime function, in any tier. Sampled like the
 * servers, it shows that perf finds the function on this machine and Node
 * line (a share well over the mode's threshold).
 */
const CONTROL = `
const keys = Array.from({ length: 50 }, (_, i) => Symbol(String(i)));
const make = (key, value) => ({ [key]: value, next: null });
let kept = 0;
const until = Date.now() + Number(process.argv[1]) * 1000;
while (Date.now() < until) for (let i = 0; i < 100000; i++) kept += make(keys[i % 50], i)[keys[i % 50]] & 1;
console.log(kept);
`;

/** Runs `perf record` (CPU clock, 999 Hz, call graphs) into `data` on `target` (a command, or `-p <pid>` and a duration). */
async function record(data: string, target: readonly string[]): Promise<void> {
  const recorder = spawn('perf', ['record', '-q', '-e', 'cpu-clock', '-F', '999', '-g', '-o', data, ...target], {
    stdio: 'ignore',
  });
  const [code] = (await once(recorder, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`perf record ${target.join(' ')} exited with ${String(code)}`);
}

async function sampleControl(seconds: number, dir: string): Promise<Sampled> {
  const data = join(dir, 'control.data');
  await record(data, ['--', serverNode(), '-e', CONTROL, String(seconds)]);
  return readSamples(data, undefined);
}

/** One fresh gateway process in `setup`: warmed up under load, then sampled while the load goes on. */
async function sampleProcess(setup: string, stderr: 'pipe' | 'file', seconds: number, dir: string): Promise<Sampled> {
  const fd = stderr === 'file' ? openSync(join(dir, `${setup}.stderr`), 'a') : undefined;
  const server = await startServer(gatewayArgs(setup), fd ?? 'pipe').finally(() => {
    if (fd !== undefined) closeSync(fd);
  });
  const pid = server.child.pid as number;
  const data = join(dir, `${setup}-${String(pid)}.data`);
  try {
    await runLoad(server.url, undefined, WARMUP_SECONDS, CONNECTIONS, undefined);
    await Promise.all([
      record(data, ['-p', String(pid), '--', 'sleep', String(seconds)]),
      runLoad(server.url, undefined, seconds + 1, CONNECTIONS, undefined),
    ]);
  } finally {
    server.child.kill();
    await once(server.child, 'exit');
  }
  return readSamples(data, pid);
}

async function runLiteralModeSuite(): Promise<void> {
  console.log("\n== literal-mode: Node 22's nextTick literal mode in native gateway processes ==");
  if (missingTool('perf', 'linux-perf')) return;
  const processes = Number(process.env.BENCH_PROCESSES ?? 6);
  const seconds = Number(process.env.BENCH_SECONDS ?? 4);
  console.log(
    `fresh processes, no V8 flags, autocannon with ${String(CONNECTIONS)} connections; ${String(WARMUP_SECONDS)} s ` +
      `of warm-up, then ${String(seconds)} s sampled by perf (999 Hz, call graphs); per process, the share of the ` +
      `main thread's samples with ${RUNTIME_FUNCTION} on the stack (under callgrind the mode is 27 % of instructions). ` +
      `${String(processes)} processes per setup, alternating (BENCH_PROCESSES, BENCH_SECONDS).`,
  );
  console.log(machineLine());
  const dir = mkdtempSync(join(tmpdir(), 'literal-mode-'));
  const shares: number[][] = SETUPS.map(() => []);
  try {
    const control = await sampleControl(2, dir);
    console.log(
      `control (a literal whose computed keys went megamorphic, 2 s): ${(control.share * 100).toFixed(2)} % ` +
        `of ${String(control.samples)} samples`,
    );
    if (control.share <= MODE_SHARE) {
      console.log(`perf does not see ${RUNTIME_FUNCTION} here (symbols or call graphs missing): no figures`);
      return;
    }
    for (let p = 0; p < processes; p++) {
      for (const [i, { setup, stderr }] of SETUPS.entries()) {
        const sampled = await sampleProcess(setup, stderr, seconds, dir);
        if (sampled.samples === 0) throw new Error(`${setup}: perf recorded no samples of the main thread`);
        shares[i].push(sampled.share);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const [i, { label }] of SETUPS.entries()) {
    const inMode = shares[i].filter((share) => share > MODE_SHARE).length;
    console.log(
      `${label}: ${shares[i].map((share) => `${(share * 100).toFixed(2)} %`).join(', ')}; ` +
        `${String(inMode)} of ${String(shares[i].length)} processes in the mode (over ${String(MODE_SHARE * 100)} %)`,
    );
  }
}

export const literalModeSuite: Suite = { name: 'literal-mode', run: runLiteralModeSuite };
