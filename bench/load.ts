/**
 * Load tests of servers running in their own process, driven over loopback
 * by autocannon in this one: each setup is started fresh, warmed up, and
 * measured in several alternating rounds, so that drift on the machine
 * affects every setup alike; the median of the rounds is reported.
 *
 * CPU per request is given as user plus system time, and as user time
 * alone. Over loopback the kernel's network work for both ends runs in
 * softirqs, charged as system time to whichever process the CPU was
 * running: a server that is busier per request is charged more of it,
 * whatever its own work. A plain hello world that spins 25 or 50 us of
 * user time per request, at a fixed 10,000 req/s, was charged +6.2 and
 * +11.2 us of system time per request (Node 20, 2026-12-03): about a
 * fifth of any extra work again. User time compares setups' own work
 * more fairly; a fixed rate (BENCH_RATE) compares them at equal load.
 */
import autocannon from 'autocannon';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { once } from 'node:events';
import { median } from './harness';

/** One server setup to measure. */
export interface ServerSetup {
  readonly label: string;
  /** Node arguments that start the server; it prints `ready <url>` when listening. */
  readonly args: readonly string[];
  /** Headers every request carries. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Path requested (default `/`). */
  readonly path?: string;
}

export interface LoadOptions {
  readonly rounds: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  /**
   * Requests per second of the measured phase, all connections together;
   * undefined for as many as the server answers. At a fixed rate the
   * req/s column only shows whether a setup kept up: compare CPU.
   */
  readonly rate?: number;
}

/** What one setup achieved: medians over the rounds, and each round's req/s. */
export interface LoadResult {
  readonly label: string;
  /** Requests per second (median). */
  rps: number;
  /** The server process's CPU time (user and system) per request in microseconds (median): less noisy than req/s. */
  cpuMicrosPerRequest: number;
  /** The server process's user CPU time per request in microseconds (median): its own work (see the file's comment). */
  userMicrosPerRequest: number;
  /** Spans the server's SDK exported per request (median; 0 for a server without the bench SDK, bench/servers/sdk.cjs). */
  spansPerRequest: number;
  readonly rounds: number[];
  readonly cpuRounds: number[];
  readonly userRounds: number[];
}

/** Measures each setup in alternating rounds, in the order given. */
export async function measureServers(setups: readonly ServerSetup[], options: LoadOptions): Promise<LoadResult[]> {
  const results: LoadResult[] = setups.map((setup) => ({
    label: setup.label,
    rps: 0,
    cpuMicrosPerRequest: 0,
    userMicrosPerRequest: 0,
    spansPerRequest: 0,
    rounds: [],
    cpuRounds: [],
    userRounds: [],
  }));
  const spanRounds: number[][] = setups.map(() => []);
  for (let round = 0; round < options.rounds; round++) {
    for (const [i, setup] of setups.entries()) {
      const server = await startServer(setup.args);
      try {
        const url = `${server.url}${setup.path ?? '/'}`;
        await runLoad(url, setup.headers, options.warmupSeconds, options.connections, undefined);
        const before = await server.stats();
        results[i].rounds.push(await runLoad(url, setup.headers, options.seconds, options.connections, options.rate));
        const after = await server.stats();
        const requests = after.requests - before.requests;
        results[i].cpuRounds.push((after.cpuMicros - before.cpuMicros) / requests);
        results[i].userRounds.push((after.userMicros - before.userMicros) / requests);
        spanRounds[i].push((after.spans - before.spans) / requests);
      } finally {
        server.child.kill();
        await once(server.child, 'exit');
      }
    }
  }
  for (const [i, result] of results.entries()) {
    result.rps = median(result.rounds);
    result.cpuMicrosPerRequest = median(result.cpuRounds);
    result.userMicrosPerRequest = median(result.userRounds);
    result.spansPerRequest = median(spanRounds[i]);
  }
  return results;
}

/** A ratio's median and quartiles over rounds. */
export interface RoundRatios {
  readonly median: number;
  readonly lower: number;
  readonly upper: number;
}

/**
 * `base`'s CPU per request over `x`'s, round by round (each round runs
 * every setup once, one after the other): drift on the machine moves both
 * setups of a round alike, so the spread of these ratios shows what a
 * difference between the setups' medians is worth.
 */
export function pairedCpuRatios(x: LoadResult, base: LoadResult): RoundRatios {
  const ratios = base.cpuRounds.map((cpu, round) => cpu / x.cpuRounds[round]).sort((a, b) => a - b);
  const at = (q: number): number => ratios[Math.min(ratios.length - 1, Math.floor(q * ratios.length))];
  return { median: median(ratios), lower: at(0.25), upper: at(0.75) };
}

/** The machine's load when a suite starts (the figures depend on it: say so beside them). */
export function machineLine(): string {
  const [one, five] = loadavg();
  return `servers on Node ${serverNodeVersion()}; load average ${one.toFixed(2)} (1 min), ${five.toFixed(2)} (5 min)`;
}

/**
 * Loads `url` with autocannon for `seconds` (at `rate` req/s overall, or as
 * fast as the server answers); its req/s. Throws on any error or non-2xx.
 */
export async function runLoad(
  url: string,
  headers: Readonly<Record<string, string>> | undefined,
  seconds: number,
  connections: number,
  rate: number | undefined,
): Promise<number> {
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    headers: { ...headers },
    ...(rate === undefined ? {} : { overallRate: rate }),
  });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${url}: ${result.non2xx} non-2xx responses and ${result.errors} errors under load`);
  }
  return result.requests.total / seconds;
}

/**
 * The node binary that runs the servers: BENCH_NODE if set and not empty
 * (say, a Node 22 or 24 build, to compare lines with one autocannon), else
 * this process's.
 */
export function serverNode(): string {
  const node = process.env.BENCH_NODE;
  return node === undefined || node === '' ? process.execPath : node;
}

/** The version of `serverNode()`, for the suites' headers. */
export function serverNodeVersion(): string {
  return execFileSync(serverNode(), ['--version'], { encoding: 'utf8' }).trim();
}

/** What a bench server answers to `stats` (bench/servers/stats.cjs). */
export interface ServerStats {
  readonly cpuMicros: number;
  readonly userMicros: number;
  readonly requests: number;
  readonly spans: number;
}

export interface RunningServer {
  readonly child: ChildProcess;
  readonly url: string;
  /** Asks the server for its CPU time so far (all, and user), the requests it served and the spans its SDK exported. */
  stats(): Promise<ServerStats>;
}

/**
 * Starts a bench server (`args` to node) and waits for its `ready <url>`.
 * Its stderr is this process's (`inherit`), a pipe whose output this
 * process copies to its own (`pipe`, as under a container runtime or
 * systemd), or an open file descriptor.
 */
export async function startServer(
  args: readonly string[],
  stderr: 'inherit' | 'pipe' | number = 'inherit',
): Promise<RunningServer> {
  const child = spawn(serverNode(), [...args], { stdio: ['pipe', 'pipe', stderr] });
  child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  let output = '';
  const waiters: ((line: string) => void)[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      let newline: number;
      while ((newline = output.indexOf('\n')) >= 0) {
        const line = output.slice(0, newline);
        output = output.slice(newline + 1);
        if (line.startsWith('ready ')) resolve(line.slice('ready '.length));
        else if (line.startsWith('stats ')) waiters.shift()?.(line);
      }
    });
    child.on('exit', (code) => {
      reject(new Error(`server ${args.join(' ')} exited with ${code}`));
    });
  });
  const stats = async (): Promise<ServerStats> => {
    const line = await new Promise<string>((resolve) => {
      waiters.push(resolve);
      child.stdin?.write('stats\n');
    });
    const [, cpu, requests, spans, user] = line.split(' ');
    return { cpuMicros: Number(cpu), userMicros: Number(user), requests: Number(requests), spans: Number(spans ?? 0) };
  };
  return { child, url, stats };
}
