// The admin endpoint under node:cluster: a real primary with two real
// workers (test/fixtures/cluster/admin-cluster.ts) sharing the admin port,
// as an application that starts the endpoint in each worker does.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { send } from '../helpers/http';
import { PROJECT_ROOT } from '../helpers/run-node';
import { adminRequest, putGroup } from './admin-client';
import { freeTcpPort } from '../helpers/free-port';

const TOKEN = 'cluster-admin-token-81b2';
const FIXTURE = join(PROJECT_ROOT, 'test/fixtures/cluster/admin-cluster.ts');
const ZERO_CODE_FIXTURE = join(PROJECT_ROOT, 'test/fixtures/cluster/zero-code-cluster.cjs');

interface WorkerEntry {
  worker: number;
  pid: number;
  error?: string;
  group?: { name: string; alwaysEnabled: boolean };
  groups?: { name: string; alwaysEnabled: boolean }[];
}

class ClusterApp {
  readonly workers = new Map<number, number>();
  output = '';
  private child: ChildProcess | undefined;
  appUrl = '';
  adminUrl = '';
  adminPort = 0;

  async start(
    env: Record<string, string> = {},
    args: readonly string[] = ['--require', 'tsx', FIXTURE],
  ): Promise<void> {
    const [appPort, adminPort] = [await freeTcpPort(), await freeTcpPort()];
    this.adminPort = adminPort;
    this.appUrl = `http://127.0.0.1:${appPort}/`;
    this.adminUrl = `http://127.0.0.1:${adminPort}/dynamic-hooks`;
    const child = spawn(process.execPath, args, {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        APP_PORT: String(appPort),
        ADMIN_PORT: String(adminPort),
        DYNAMIC_HOOKS_ADMIN_PORT: String(adminPort),
        OTEL_LOG_LEVEL: 'info',
        ADMIN_TOKEN: TOKEN,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    const deadline = Date.now() + 30_000;
    while (this.readyWorkers() < 2) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`cluster did not start:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private readyWorkers(): number {
    for (const [, id, pid] of this.output.matchAll(/^ready (\d+) (\d+)$/gm)) this.workers.set(Number(id), Number(pid));
    return this.workers.size;
  }

  /** Waits for a worker started after the first two; resolves with its id. */
  async nextWorker(): Promise<number> {
    const known = this.workers.size;
    const deadline = Date.now() + 30_000;
    while (this.readyWorkers() === known) {
      if (Date.now() > deadline) throw new Error(`no new worker:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return Math.max(...this.workers.keys());
  }

  /** What the application answers, from each worker: requests until both have answered. */
  async probeEachWorker(): Promise<Map<number, boolean>> {
    const seen = new Map<number, boolean>();
    for (let i = 0; i < 100 && seen.size < this.workers.size; i++) {
      const reply = JSON.parse((await send(this.appUrl)).body) as { worker: number; probed: boolean };
      seen.set(reply.worker, reply.probed);
    }
    return seen;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

function workersOf(body: Record<string, unknown>): WorkerEntry[] {
  return (body.workers as WorkerEntry[]).slice().sort((a, b) => a.worker - b.worker);
}

describe('admin endpoint under node:cluster (2 real workers)', function () {
  this.timeout(60_000);

  describe('with the relay in the primary (the primary loads dynamic-hooks)', () => {
    const app = new ClusterApp();
    before(() => app.start());
    after(() => app.stop());

    it('GET /groups answers for every worker, by worker id and pid', async () => {
      const reply = await adminRequest(`${app.adminUrl}/groups`, { token: TOKEN });
      expect(reply.status, reply.body).to.equal(200);
      const workers = workersOf(reply.json());
      expect(workers.map((w) => [w.worker, w.pid])).to.deep.equal([...app.workers].sort((a, b) => a[0] - b[0]));
      for (const worker of workers) {
        expect(worker.groups?.find((g) => g.name === 'cluster_probe')).to.include({ alwaysEnabled: false });
      }
    });

    it('one PUT switches the group in both workers, and one POST switches it off again', async () => {
      expect([...(await app.probeEachWorker()).values()]).to.deep.equal([false, false]);

      const on = await putGroup(app.adminUrl, 'cluster_probe', { alwaysEnabled: true }, TOKEN);
      expect(on.status, on.body).to.equal(200);
      const workers = workersOf(on.json());
      expect(workers.map((w) => w.worker)).to.deep.equal([...app.workers.keys()].sort());
      for (const worker of workers) expect(worker.group).to.include({ name: 'cluster_probe', alwaysEnabled: true });
      const probed = await app.probeEachWorker();
      expect(probed.size).to.equal(2);
      expect([...probed.values()]).to.deep.equal([true, true]);

      const off = await adminRequest(`${app.adminUrl}/groups/cluster_probe/disable`, { method: 'POST', token: TOKEN });
      expect(off.status, off.body).to.equal(200);
      for (const worker of workersOf(off.json())) expect(worker.group).to.include({ alwaysEnabled: false });
      expect([...(await app.probeEachWorker()).values()]).to.deep.equal([false, false]);
      // Each worker logs its own change, naming the worker that took the request.
      expect(app.output).to.match(
        /group "cluster_probe" alwaysEnabled false -> true \(PUT from 127\.0\.0\.1, worker \d\)/,
      );
    });

    it('adds no listener per request, in the workers', async () => {
      const listeners = async () => {
        const seen = new Map<number, number>();
        for (let i = 0; i < 100 && seen.size < 2; i++) {
          const reply = JSON.parse((await send(app.appUrl)).body) as { worker: number; listeners: number };
          seen.set(reply.worker, reply.listeners);
        }
        return [...seen].sort((a, b) => a[0] - b[0]);
      };
      const before = await listeners();
      for (let i = 0; i < 10; i++) {
        expect((await putGroup(app.adminUrl, 'cluster_probe', { alwaysEnabled: i % 2 === 0 }, TOKEN)).status).to.equal(
          200,
        );
        expect((await adminRequest(`${app.adminUrl}/groups`, { token: TOKEN })).status).to.equal(200);
      }
      await putGroup(app.adminUrl, 'cluster_probe', { alwaysEnabled: false }, TOKEN);
      expect(await listeners()).to.deep.equal(before);
    });

    it('an unknown group is a 404 from every worker, and refusals stay local', async () => {
      const unknown = await putGroup(app.adminUrl, 'no_such_group', { alwaysEnabled: true }, TOKEN);
      expect(unknown.status).to.equal(404);
      expect(unknown.json().error).to.match(/no group named "no_such_group" in any worker/);
      expect(workersOf(unknown.json())).to.have.length(2);
      const denied = await putGroup(app.adminUrl, 'cluster_probe', { alwaysEnabled: true }, 'wrong');
      expect(denied.status).to.equal(403);
      const bad = await putGroup(app.adminUrl, 'cluster_probe', { on: true }, TOKEN);
      expect(bad.status).to.equal(400);
      expect([...(await app.probeEachWorker()).values()]).to.deep.equal([false, false]);
    });
  });

  describe('a worker forked after a switch (a restart after a crash)', () => {
    it('starts with the switches the relay remembers', async () => {
      const app = new ClusterApp();
      try {
        await app.start({ RESPAWN: '1' });
        const on = await putGroup(app.adminUrl, 'cluster_probe', { alwaysEnabled: true }, TOKEN);
        expect(on.status, on.body).to.equal(200);
        const [, victim] = [...app.workers].sort((a, b) => a[0] - b[0]);
        process.kill(victim[1], 'SIGKILL');
        const fresh = await app.nextWorker();
        expect(fresh).to.not.equal(victim[0]);
        let probed: boolean | undefined;
        for (let i = 0; i < 100 && probed === undefined; i++) {
          const reply = JSON.parse((await send(app.appUrl)).body) as { worker: number; probed: boolean };
          if (reply.worker === fresh) probed = reply.probed;
        }
        expect(probed).to.equal(true);
        expect(app.output).to.match(/group "cluster_probe" alwaysEnabled .*\(restored from the cluster primary\)/);
      } finally {
        await app.stop();
      }
    });
  });

  describe('a worker that dies or stalls while the others answer', () => {
    it('reports a worker that exits mid-request instead of hanging', async () => {
      const app = new ClusterApp();
      try {
        await app.start({ ADMIN_ON: 'first', SECOND_WORKER: 'die', CLUSTER_TIMEOUT_MS: '20000' });
        const started = Date.now();
        const reply = await putGroup(app.adminUrl, 'die_on_switch', { alwaysEnabled: true }, TOKEN);
        // Well before the 20 s the relay would wait for an answer.
        expect(Date.now() - started).to.be.below(10_000);
        expect(reply.status, reply.body).to.equal(502);
        const [first, second] = workersOf(reply.json());
        expect(first.group).to.include({ name: 'die_on_switch', alwaysEnabled: true });
        expect(second.error).to.match(/exited \(code 7\) before answering/);
        expect(reply.json().error).to.match(/1 of 2 workers did not switch/);
      } finally {
        await app.stop();
      }
    });

    it('reports a worker that does not answer in time, and ignores its late answer', async () => {
      const app = new ClusterApp();
      try {
        await app.start({ ADMIN_ON: 'first', SECOND_WORKER: 'hang', CLUSTER_TIMEOUT_MS: '500' });
        const started = Date.now();
        const reply = await putGroup(app.adminUrl, 'hang_on_switch', { alwaysEnabled: true }, TOKEN);
        expect(Date.now() - started).to.be.below(2_900);
        expect(reply.status, reply.body).to.equal(502);
        const [first, second] = workersOf(reply.json());
        expect(first.group).to.include({ alwaysEnabled: true });
        expect(second.error).to.match(/no answer within 500 ms/);
        // The stalled worker applies it late: once it is free again, both list it switched.
        const deadline = Date.now() + 15_000;
        let list = await adminRequest(`${app.adminUrl}/groups/hang_on_switch`, { token: TOKEN });
        while (list.status !== 200 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          list = await adminRequest(`${app.adminUrl}/groups/hang_on_switch`, { token: TOKEN });
        }
        expect(list.status, list.body).to.equal(200);
        for (const worker of workersOf(list.json())) expect(worker.group).to.include({ alwaysEnabled: true });
      } finally {
        await app.stop();
      }
    });
  });

  describe('without a relay (the primary does not load dynamic-hooks)', () => {
    const app = new ClusterApp();
    before(() => app.start({ PRIMARY_LOADS: 'no', ADMIN_ON: 'first', CLUSTER_TIMEOUT_MS: '300' }));
    after(() => app.stop());

    it('switches the receiving worker, answers within the bound, and says which worker it reached', async () => {
      const started = Date.now();
      const reply = await putGroup(app.adminUrl, 'cluster_probe', { alwaysEnabled: true }, TOKEN);
      expect(Date.now() - started).to.be.below(2_000);
      expect(reply.status, reply.body).to.equal(502);
      expect(reply.json().error).to.match(/no dynamic-hooks relay answered in the cluster primary within 300 ms/);
      expect(reply.json().error).to.match(/relayAdminToWorkers\(\)/);
      const [only] = workersOf(reply.json());
      expect(workersOf(reply.json())).to.have.length(1);
      expect(only.group).to.include({ alwaysEnabled: true });
      const probed = await app.probeEachWorker();
      expect(probed.get(only.worker)).to.equal(true);
      expect([...probed.values()].filter((on) => on)).to.have.length(1);
    });
  });

  describe('zero-code: node --require dynamic-hooks/register in the primary and the workers', () => {
    const app = new ClusterApp();
    before(() =>
      app.start({ OTEL_TRACES_EXPORTER: 'none', DYNAMIC_HOOKS_ADMIN_TOKEN: TOKEN }, [
        '--require',
        join(PROJECT_ROOT, 'dist/src/register/index.js'),
        ZERO_CODE_FIXTURE,
      ]),
    );
    after(() => app.stop());

    it('the primary serves the endpoint and switches every worker; no worker fails to listen', async () => {
      // Set here, as the primary reads it: the fixture knows nothing of the port.
      const reply = await putGroup(app.adminUrl, 'timing', { alwaysEnabled: true }, TOKEN);
      expect(reply.status, reply.body).to.equal(200);
      const workers = workersOf(reply.json());
      expect(workers.map((w) => [w.worker, w.pid])).to.deep.equal([...app.workers].sort((a, b) => a[0] - b[0]));
      for (const worker of workers) expect(worker.group).to.include({ name: 'timing', alwaysEnabled: true });
      expect(app.output).to.match(/group "timing" alwaysEnabled false -> true \(PUT from 127\.0\.0\.1, primary\)/);
      expect(app.output).to.not.match(/admin endpoint not started/);
      const off = await putGroup(app.adminUrl, 'timing', { alwaysEnabled: false }, TOKEN);
      expect(off.status, off.body).to.equal(200);
    });
  });
});
