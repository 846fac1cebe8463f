import { expect } from 'chai';
import http from 'node:http';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { debugRulesFromFlags, isGroupEnabled, listGroups, timing, type DebugRules } from '../../src';
import { DiagCapture } from '../helpers/diag-capture';
import { close, listen, send } from '../helpers/http';
import { eventually, parseLogOutput, timingHarness } from '../helpers/timing-harness';

/** A boolean flag definition for flagd. */
function flag(defaultVariant: 'on' | 'off', targeting?: unknown, state = 'ENABLED'): unknown {
  return { state, variants: { on: true, off: false }, defaultVariant, ...(targeting ? { targeting } : {}) };
}

const TENANT_ACME = { if: [{ '==': [{ var: 'headers.x-tenant' }, 'acme'] }, 'on', null] };
const POST_CHECKOUT = {
  if: [{ and: [{ '==': [{ var: 'method' }, 'POST'] }, { '==': [{ var: 'path' }, '/checkout'] }] }, 'on', null],
};

describe('debug rules from a flagd flag file', () => {
  const harness = timingHarness();
  let server: http.Server;
  let base: string;
  let dir: string;
  let file: string;
  let rules: DebugRules | undefined;
  let stderr: string[];
  let writeStderr: typeof process.stderr.write;

  /** Writes the flag file whole (a rename, as editors and config management do). */
  function writeFlags(flags: Record<string, unknown>): void {
    writeRaw(JSON.stringify({ flags }));
  }
  function writeRaw(text: string): void {
    const temp = `${file}.tmp`;
    writeFileSync(temp, text);
    renameSync(temp, file);
  }

  /** Sends a request and says whether it was debugged through the log (and never through the header). */
  async function debuggedInLog(path = '/', headers: Record<string, string> = {}, method = 'GET'): Promise<boolean> {
    harness.reset();
    const reply = await send(`${base}${path}`, headers, method);
    expect(reply.body).to.equal('ok');
    expect(reply.headers).to.not.have.property('x-request-debug-output');
    // The log phase runs once the response is closed.
    await sleep(30);
    if (harness.logLines.length === 0) return false;
    const tree = parseLogOutput(harness.logLines);
    expect(tree.child).to.include.keys('rewrite', 'handler', 'log');
    expect(harness.spans().length).to.be.greaterThan(0);
    return true;
  }

  before(async () => {
    server = http.createServer((_req, res) => {
      timing.enterContext('handler');
      timing.leaveContext();
      res.setHeader('x-group-enabled', String(isGroupEnabled('flagged_group')));
      res.end('ok');
    });
    base = await listen(server);
  });
  after(() => close(server));
  beforeEach(() => {
    harness.configure({ token: 'flags-test-token' });
    harness.reset();
    dir = mkdtempSync(join(tmpdir(), 'dh-flags-'));
    file = join(dir, 'flags.json');
    stderr = [];
    writeStderr = process.stderr.write;
    process.stderr.write = (chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      if (text.includes('[dynamic-hooks]')) {
        stderr.push(text);
        return true;
      }
      return (writeStderr as (...a: unknown[]) => boolean).call(process.stderr, chunk, ...rest);
    };
  });
  afterEach(() => {
    process.stderr.write = writeStderr;
    rules?.close();
    rules = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('debugs only the requests a header rule selects, to the log and spans, never to the client', async () => {
    writeFlags({ 'dynamic-hooks.timing': flag('off', TENANT_ACME) });
    rules = debugRulesFromFlags({ file, headers: ['X-Tenant'] });
    expect(await debuggedInLog('/', { 'x-tenant': 'acme' })).to.equal(true);
    expect(await debuggedInLog('/', { 'x-tenant': 'other' })).to.equal(false);
    expect(await debuggedInLog('/')).to.equal(false);
  });

  it('leaves a request its client debugs with the header output', async () => {
    writeFlags({ 'dynamic-hooks.timing': flag('off', TENANT_ACME) });
    rules = debugRulesFromFlags({ file, headers: ['x-tenant'] });
    const reply = await send(`${base}/`, { 'x-tenant': 'acme', 'X-Request-Debug': '*' });
    expect(reply.headers).to.have.property('x-request-debug-output');
  });

  it('does not see headers outside the allow-list', async () => {
    writeFlags({ 'dynamic-hooks.timing': flag('off', TENANT_ACME) });
    rules = debugRulesFromFlags({ file });
    expect(await debuggedInLog('/', { 'x-tenant': 'acme' })).to.equal(false);
  });

  it('follows the file: a new rule applies within a bounded time, and a flag turned off stops it', async () => {
    writeFlags({ 'dynamic-hooks.timing': flag('off', TENANT_ACME) });
    rules = debugRulesFromFlags({ file, headers: ['x-tenant'], pollIntervalMs: 100 });
    expect(await debuggedInLog('/checkout', {}, 'POST')).to.equal(false);

    writeFlags({ 'dynamic-hooks.timing': flag('off', POST_CHECKOUT) });
    const started = Date.now();
    while (!(await debuggedInLog('/checkout', {}, 'POST'))) {
      if (Date.now() - started > 3000) throw new Error('the rewritten file was not applied within 3 s');
    }
    expect(await debuggedInLog('/checkout', {}, 'GET')).to.equal(false);
    expect(await debuggedInLog('/', { 'x-tenant': 'acme' })).to.equal(false);

    writeFlags({ 'dynamic-hooks.timing': flag('off', POST_CHECKOUT, 'DISABLED') });
    const stopping = Date.now();
    while (await debuggedInLog('/checkout', {}, 'POST')) {
      if (Date.now() - stopping > 3000) throw new Error('the disabled flag still debugs after 3 s');
    }
  });

  it('reports a malformed file on stderr, keeps the rules in force, and picks up a later valid file', async () => {
    writeFlags({ 'dynamic-hooks.timing': flag('off', TENANT_ACME) });
    rules = debugRulesFromFlags({ file, headers: ['x-tenant'], pollIntervalMs: 100 });
    writeRaw('{ "flags": { "dynamic-hooks.timing": ');
    await eventually(() => stderr.length > 0, 3000);
    expect(stderr[0]).to.include(file).and.to.include('not JSON').and.to.include('previous flag rules stay in force');
    expect(await debuggedInLog('/', { 'x-tenant': 'acme' })).to.equal(true);

    writeFlags({ 'dynamic-hooks.timing': { state: 'ENABLED', variants: { on: 'yes' }, defaultVariant: 'on' } });
    await eventually(() => stderr.length > 1, 3000);
    expect(stderr[1]).to.include('variant "on" must be true or false');

    writeFlags({ 'dynamic-hooks.timing': flag('off', POST_CHECKOUT) });
    const started = Date.now();
    while (!(await debuggedInLog('/checkout', {}, 'POST'))) {
      if (Date.now() - started > 3000) throw new Error('the valid file was not applied within 3 s');
    }
  });

  it('reports a malformed file at start, and a missing one', async () => {
    writeRaw('not json at all');
    rules = debugRulesFromFlags({ file, pollIntervalMs: 100 });
    expect(stderr.join('')).to.include(`flag file ${file}: not JSON`);
    rules.close();
    rules = debugRulesFromFlags({ file: join(dir, 'missing.json'), pollIntervalMs: 100 });
    expect(stderr.join('')).to.include(`${join(dir, 'missing.json')}: not found`);
    writeFileSync(join(dir, 'missing.json'), JSON.stringify({ flags: { 'dynamic-hooks.timing': flag('on') } }));
    const started = Date.now();
    while (!(await debuggedInLog('/'))) {
      if (Date.now() - started > 3000) throw new Error('the file that appeared was not applied within 3 s');
    }
  });

  it('switches a group process-wide by the default variant of a flag without targeting, logged', async () => {
    const diagCapture = new DiagCapture().install();
    try {
      writeFlags({ 'dynamic-hooks.flagged_group': flag('on') });
      rules = debugRulesFromFlags({ file, pollIntervalMs: 100 });
      expect(groupInfo('flagged_group')?.alwaysEnabled).to.equal(true);
      expect((await send(`${base}/`)).headers['x-group-enabled']).to.equal('true');
      const infos = (): string[] => diagCapture.messages.filter((m) => m.level === 'info').map((m) => m.message);
      expect(infos()).to.include(
        `dynamic-hooks flags: group "flagged_group" alwaysEnabled false -> true (flag dynamic-hooks.flagged_group in flag file ${file})`,
      );
      // No flag needs a per-request evaluation: requests evaluate nothing.
      expect(groupInfo('flags:rules')?.alwaysEnabled ?? false).to.equal(false);

      writeFlags({ 'dynamic-hooks.flagged_group': flag('off') });
      await eventually(() => groupInfo('flagged_group')?.alwaysEnabled === false, 3000);
      expect((await send(`${base}/`)).headers['x-group-enabled']).to.equal('false');
      expect(infos()).to.include(
        `dynamic-hooks flags: group "flagged_group" alwaysEnabled true -> false (flag dynamic-hooks.flagged_group in flag file ${file})`,
      );
    } finally {
      diagCapture.uninstall();
    }
  });

  it('makes every request a log-only debug request when timing is on without targeting', async () => {
    writeFlags({ 'dynamic-hooks.timing': flag('on') });
    rules = debugRulesFromFlags({ file, pollIntervalMs: 100 });
    expect(groupInfo('timing')?.alwaysEnabled ?? false).to.equal(false);
    expect(await debuggedInLog('/')).to.equal(true);
    expect(await debuggedInLog('/other', {}, 'POST')).to.equal(true);
    writeFlags({ 'dynamic-hooks.timing': flag('off') });
    await eventually(() => groupInfo('flags:rules')?.alwaysEnabled === false, 3000);
    expect(await debuggedInLog('/')).to.equal(false);
  });

  it('evaluates a fractional rule per request, near its share, and never switches the group process-wide', async () => {
    writeFlags({
      'dynamic-hooks.flagged_group': flag('off', {
        fractional: [
          ['on', 20],
          ['off', 80],
        ],
      }),
    });
    rules = debugRulesFromFlags({ file });
    expect(groupInfo('flagged_group')?.alwaysEnabled ?? false).to.equal(false);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    try {
      const replies = await Promise.all(
        Array.from(
          { length: 500 },
          () =>
            new Promise<string>((resolve, reject) => {
              http
                .get(`${base}/`, { agent }, (res) => {
                  res.resume();
                  res.on('end', () => resolve(String(res.headers['x-group-enabled'])));
                })
                .on('error', reject);
            }),
        ),
      );
      const enabled = replies.filter((value) => value === 'true').length;
      // 20% of 500: 100, with a standard deviation of about 9.
      expect(enabled).to.be.within(60, 140);
    } finally {
      agent.destroy();
    }
    expect(groupInfo('flagged_group')?.alwaysEnabled ?? false).to.equal(false);
    expect(isGroupEnabled('flagged_group')).to.equal(false);
  });

  it('buckets a fractional rule by the configured targeting key', async () => {
    writeFlags({
      'dynamic-hooks.flagged_group': flag('off', {
        fractional: [
          ['on', 50],
          ['off', 50],
        ],
      }),
    });
    rules = debugRulesFromFlags({ file, headers: ['x-user'], targetingKey: 'headers.x-user' });
    const seen = new Map<string, Set<string>>();
    for (let user = 0; user < 20; user++) {
      for (let i = 0; i < 3; i++) {
        const value = String((await send(`${base}/`, { 'x-user': `user-${user}` })).headers['x-group-enabled']);
        seen.set(`user-${user}`, (seen.get(`user-${user}`) ?? new Set()).add(value));
      }
    }
    for (const values of seen.values()) expect(values.size).to.equal(1);
    const on = [...seen.values()].filter((values) => values.has('true')).length;
    expect(on).to.be.within(2, 18);
  });

  it('adds what the application hook returns to the context', async () => {
    writeFlags({
      'dynamic-hooks.timing': flag('off', { if: [{ '==': [{ var: 'tenant' }, 't-42'] }, 'on', null] }),
    });
    rules = debugRulesFromFlags({
      file,
      context: (req) => ({ tenant: new URL(req.url ?? '/', 'http://x').searchParams.get('tenant') }),
    });
    expect(await debuggedInLog('/?tenant=t-42')).to.equal(true);
    expect(await debuggedInLog('/?tenant=t-1')).to.equal(false);
  });

  it('undoes its switches when closed', () => {
    writeFlags({ 'dynamic-hooks.flagged_group': flag('on'), 'dynamic-hooks.timing': flag('off', TENANT_ACME) });
    rules = debugRulesFromFlags({ file });
    expect(groupInfo('flags:rules')?.alwaysEnabled).to.equal(true);
    rules.close();
    rules = undefined;
    expect(groupInfo('flagged_group')?.alwaysEnabled).to.equal(false);
    expect(groupInfo('flags:rules')?.alwaysEnabled).to.equal(false);
  });
});

function groupInfo(name: string): ReturnType<typeof listGroups>[number] | undefined {
  return listGroups().find((group) => group.name === name);
}
