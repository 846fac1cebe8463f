// The built CLI (`node dist/src/cli/main.js`, run `npm run build` first) as a
// child process against the real examples/gateway, its real upstream and the
// real instrumentations, as test/gateway/request-debug.test.ts starts them.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { createGateway as CreateGateway, Gateway } from '../../examples/gateway/gateway';
import { createUpstream } from '../../examples/gateway/upstream';
import { close, listen } from '../helpers/http';
import { libraryInstrumentations } from '../helpers/library-instrumentations';
import { PROJECT_ROOT } from '../helpers/run-node';
import { eventually, parseLogOutput, timingHarness } from '../helpers/timing-harness';
import { nonAsciiAt, renderedRows, rowPaths, type RenderedRow } from './rendered-rows';

const CLI = join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js');
const TOKEN = '6c1a1d7e-2f55-4a55-9b8e-3d8c1b0f9a21';
const REMOTE = '1.1.1.1';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built CLI (stdout a pipe, not a terminal) and collects what it wrote. */
function cli(args: readonly string[], input?: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return shell(process.execPath, [CLI, ...args], input, env);
}

function shell(file: string, args: readonly string[], input?: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!('DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN' in env)) delete childEnv.DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN;
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...args], { env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() }),
    );
    child.stdin.end(input);
  });
}

/** Every `[path, ms]` of a tree, depth first, as the waterfall should print them. */
function expectedRows(tree: Record<string, unknown>, prefix = ''): [string, string][] {
  const rows: [string, string][] = [];
  for (const [name, node] of Object.entries((tree.child ?? {}) as Record<string, Record<string, unknown>>)) {
    const path = prefix === '' ? name : `${prefix}/${name}`;
    rows.push([path, (node.total_time as number).toFixed(2)], ...expectedRows(node, path));
  }
  return rows;
}

function pathsAndTimes(rows: readonly RenderedRow[]): [string, string][] {
  const paths = rowPaths(rows);
  return rows.map((row, i) => [paths[i], row.ms]);
}

function expectAscii(run: Run): void {
  expect(nonAsciiAt(run.stdout), `non-ASCII byte in:\n${run.stdout}`).to.equal(-1);
  expect(nonAsciiAt(run.stderr), `non-ASCII byte in:\n${run.stderr}`).to.equal(-1);
}

describe('cli: dynamic-hooks debug and show against examples/gateway', () => {
  const harness = timingHarness();
  let upstream: http.Server;
  let gateway: Gateway;
  let base: string;
  let work: string;

  before(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    const sources = join(PROJECT_ROOT, 'src', 'cli');
    const newest = Math.max(...readdirSync(sources).map((file) => statSync(join(sources, file)).mtimeMs));
    if (statSync(CLI).mtimeMs < newest) throw new Error(`${CLI} is older than src/cli: run npm run build first`);

    libraryInstrumentations();
    upstream = createUpstream();
    const port = Number(new URL(await listen(upstream)).port);
    // Loaded now, after the instrumentations, as an application loads its modules.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { createGateway } = require('../../examples/gateway/gateway') as { createGateway: typeof CreateGateway };
    const policy = `http://127.0.0.1:${port}/policy`;
    const external = { name: 'external-http-calls', config: { calls: 1, url: policy } };
    gateway = createGateway({
      services: {
        fast: { url: `http://localhost:${port}/` },
        slow: { url: `http://localhost:${port}/slow` },
      },
      routes: [
        { name: 'root', paths: ['/'], service: 'fast', workspace: 'ws-root' },
        { name: 'slow', paths: ['/slow'], service: 'slow', workspace: 'ws-slow' },
        { name: 'external', paths: ['/external'], service: 'fast', plugins: [external] },
        { name: 'unicode', paths: ['/unicode'], service: 'fast', workspace: 'w\u00f6rkspace' },
        { name: 'large', paths: ['/large'], service: 'fast', plugins: Array.from({ length: 40 }, () => external) },
      ],
    });
    base = await listen(gateway.server);
    work = mkdtempSync(join(tmpdir(), 'dynamic-hooks-cli-'));
  });
  after(async () => {
    await gateway.close();
    await close(upstream);
    rmSync(work, { recursive: true, force: true });
  });
  beforeEach(() => {
    harness.configure({ token: TOKEN, trustedProxies: ['127.0.0.0/8', '::1'], clientAddressHeader: 'x-real-ip' });
    harness.reset();
  });

  it('debug draws every phase of a proxied request as a waterfall, in pure ASCII', async () => {
    const run = await cli(['debug', `${base}/slow`]);
    expect(run.code, run.stderr).to.equal(0);
    expectAscii(run);
    const lines = run.stdout.split('\n');
    expect(lines[0]).to.match(/^GET http:\/\/127\.0\.0\.1:\d+\/slow -> 200 OK, \d+ bytes in \d+\.\d\d ms$/);
    expect(run.stdout).to.match(/request_id=[0-9a-f-]{36} trace_id=[0-9a-f]{32} workspace_id=ws-slow/);
    const rows = renderedRows(run.stdout);
    const paths = rowPaths(rows);
    expect(paths).to.include.members([
      'rewrite',
      'access',
      'access/router',
      'access/dns',
      'access/dns/localhost',
      'access/dns/localhost/resolve',
      'balancer',
      'upstream',
      'upstream/time_to_first_byte',
      'header_filter',
    ]);
    expect(paths.indexOf('rewrite')).to.be.below(paths.indexOf('access'));
    expect(paths.indexOf('access')).to.be.below(paths.indexOf('balancer'));
    for (const row of rows) expect(row.ms, row.name).to.match(/^\d+\.\d\d$/);
    expect(rows[paths.indexOf('access/dns/localhost/resolve')].props).to.match(/^cache_hit=(true|false)$/);
    const ttfb = Number(rows[paths.indexOf('upstream/time_to_first_byte')].ms);
    expect(ttfb).to.be.closeTo(250, 100);
    // The upstream wait dominates this request: its bar is the longest, and most of the track.
    const cells = (row: RenderedRow) => row.track.replace(/ /g, '').length;
    const upstreamRow = rows[paths.indexOf('upstream')];
    expect(cells(upstreamRow)).to.be.at.least(Math.floor(upstreamRow.track.length * 0.8));
    for (const row of rows) expect(cells(row)).to.be.at.most(cells(upstreamRow));
    expect(run.stdout).to.match(/The\s+tree\s+has\s+durations\s+but\s+no\s+start\s+times/);
  });

  it('--json prints the tree; show draws it from a file and from stdin, row for row', async () => {
    const json = await cli(['debug', `${base}/external`, '-X', 'POST', '--data', '{"a":1}', '--json']);
    expect(json.code, json.stderr).to.equal(0);
    expect(json.stderr).to.match(/^POST http:\/\/127\.0\.0\.1:\d+\/external -> 200 OK/);
    const tree = JSON.parse(json.stdout) as Record<string, unknown>;
    const expected = expectedRows(tree);
    expect(expected.map(([path]) => path)).to.include(
      'access/plugins/external-http-calls/external:external-http-calls:0/external_http',
    );
    const file = join(work, 'external.json');
    writeFileSync(file, json.stdout);

    for (const run of [
      await cli(['show', file]),
      await cli(['show', '-'], json.stdout),
      await cli(['show'], json.stdout),
    ]) {
      expect(run.code, run.stderr).to.equal(0);
      expectAscii(run);
      expect(pathsAndTimes(renderedRows(run.stdout))).to.deep.equal(expected);
      expect(run.stdout).to.include(`request_id=${tree.request_id as string}`);
    }
  });

  it('escapes what is not ASCII when stdout is not a terminal', async () => {
    const run = await cli(['debug', `${base}/unicode/x`]);
    expect(run.code, run.stderr).to.equal(0);
    expectAscii(run);
    expect(run.stdout).to.include('workspace_id=w\\u00f6rkspace');
  });

  it('says where the tree went when the server truncated it, and show puts the split log back together', async () => {
    const run = await cli(['debug', `${base}/large`, '--token', TOKEN, '-H', `X-Real-IP: ${REMOTE}`]);
    expect(run.code, run.stderr).to.equal(0);
    expectAscii(run);
    expect(renderedRows(run.stdout)).to.deep.equal([]);
    const match = /wrote the full tree to its log\s+under\s+request_id\s+([0-9a-f-]{36})\./.exec(run.stdout);
    expect(match, run.stdout).to.not.equal(null);
    const requestId = (match as RegExpExecArray)[1];
    expect(run.stdout).to.include('[request-debug]');
    expect(run.stdout).to.match(/"parts: i\/n" lines/);
    expect(run.stdout).to.include(`grep -F 'request_id: ${requestId}' <server log> | npx dynamic-hooks show -`);

    await eventually(() => harness.logOf(requestId).length > 0);
    const lines = harness.logOf(requestId);
    expect(lines.length, 'the log output came in parts').to.be.greaterThan(1);
    expect(lines[0]).to.include(`parts: 1/${lines.length}`);
    const tree = parseLogOutput(lines);
    const log = join(work, 'server.log');
    writeFileSync(log, ['gateway listening', ...lines.slice(1).reverse(), 'GET /large 200', lines[0], ''].join('\n'));

    // The very command the message suggests, through a real shell and grep.
    const suggested = await shell('/bin/sh', [
      '-c',
      `grep -F 'request_id: ${requestId}' "$1" | "$2" "$3" show -`,
      'sh',
      log,
      process.execPath,
      CLI,
    ]);
    const fromFile = await cli(['show', log]);
    for (const shown of [suggested, fromFile]) {
      expect(shown.code, shown.stderr).to.equal(0);
      expectAscii(shown);
      const rows = renderedRows(shown.stdout);
      expect(pathsAndTimes(rows)).to.deep.equal(expectedRows(tree));
      const instances = rows.filter((_, i) => /^access\/plugins\/external-http-calls\/[^/]+$/.test(rowPaths(rows)[i]));
      expect(instances).to.have.length(40);
    }
    const asJson = await cli(['show', log, '--json']);
    expect(JSON.parse(asJson.stdout)).to.deep.equal(tree);
  });

  it('--log asks the server to log the tree too; show draws the logged tree with body_filter and log', async () => {
    const run = await cli(['debug', `${base}/`, '--log']);
    expect(run.code, run.stderr).to.equal(0);
    const match = /The server also logged this tree, under request_id ([0-9a-f-]{36})\./.exec(run.stdout);
    expect(match, run.stdout).to.not.equal(null);
    const requestId = (match as RegExpExecArray)[1];
    await eventually(() => harness.logOf(requestId).length > 0);
    const shown = await cli(['show', '-', '--request-id', requestId], harness.logLines.join('\n'));
    expect(shown.code, shown.stderr).to.equal(0);
    expect(rowPaths(renderedRows(shown.stdout))).to.include.members(['rewrite', 'header_filter', 'body_filter', 'log']);
    const other = await cli(['show', '-', '--request-id', 'nope'], harness.logLines.join('\n'));
    expect(other.code).to.equal(2);
    expect(other.stderr).to.include(`no tree for request_id nope in the input (it holds: ${requestId})`);
  });

  it('explains a response without output, and exits 1', async () => {
    const remote = ['-H', `X-Real-IP: ${REMOTE}`];
    const noToken = await cli(['debug', `${base}/`, ...remote]);
    expect(noToken.code).to.equal(1);
    expect(noToken.stdout).to.match(/^GET .* -> 200 OK/);
    expect(noToken.stderr).to.include('No X-Request-Debug-Output header in the response');
    expect(noToken.stderr).to.include('no token was sent: pass --token (or set DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN)');
    expectAscii(noToken);

    const wrongToken = await cli(['debug', `${base}/`, ...remote, '--token', 'wrong']);
    expect(wrongToken.code).to.equal(1);
    expect(wrongToken.stderr).to.include('the token sent is not its token');

    const fromEnv = await cli(['debug', `${base}/`, ...remote], undefined, {
      DYNAMIC_HOOKS_REQUEST_DEBUG_TOKEN: TOKEN,
    });
    expect(fromEnv.code, fromEnv.stderr).to.equal(0);
    expect(rowPaths(renderedRows(fromEnv.stdout))).to.include('access');

    harness.configure({ requestDebug: false });
    const off = await cli(['debug', `${base}/`]);
    expect(off.code).to.equal(1);
    expect(off.stderr).to.include('request debugging may be off');
  });

  it('speaks another header prefix with --header-prefix', async () => {
    harness.configure({ headerPrefix: 'X-Kong-Request-Debug' });
    const plain = await cli(['debug', `${base}/`]);
    expect(plain.code).to.equal(1);
    expect(plain.stderr).to.include('--header-prefix');
    const kong = await cli(['debug', `${base}/`, '--header-prefix', 'X-Kong-Request-Debug']);
    expect(kong.code, kong.stderr).to.equal(0);
    expect(rowPaths(renderedRows(kong.stdout))).to.include.members(['rewrite', 'access', 'balancer', 'upstream']);
  });

  it('usage and input errors exit 2 with a clear message; help exits 0', async () => {
    const help = await cli(['--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/^Usage:\n {2}dynamic-hooks debug <url>/);

    for (const args of [['debug'], ['debug', base, '--bogus'], ['frobnicate'], []]) {
      const run = await cli(args);
      expect(run.code, args.join(' ')).to.equal(2);
      expect(run.stderr, args.join(' ')).to.match(/^dynamic-hooks: .+\n\nUsage:/);
      expect(run.stdout).to.equal('');
    }

    const invalid = join(work, 'invalid.json');
    writeFileSync(invalid, '{"child": {"rewrite": ');
    const bad = await cli(['show', invalid]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/nothing to draw in .*invalid\.json: not valid JSON/);
    const missing = await cli(['show', join(work, 'missing.json')]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.include('cannot read');
    expect(missing.stderr).to.include('ENOENT');
  });

  it('a request that fails exits 1 naming the error', async () => {
    const dead = http.createServer();
    const deadUrl = await listen(dead);
    await close(dead);
    const run = await cli(['debug', `${deadUrl}/`]);
    expect(run.code).to.equal(1);
    expect(run.stderr).to.match(/GET http:\/\/127\.0\.0\.1:\d+\/ failed: .*ECONNREFUSED/);
  });
});
