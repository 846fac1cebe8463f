import { expect } from 'chai';
import http from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppProcess } from '../register/app-process';
import { PROJECT_ROOT } from '../helpers/run-node';

/** Seconds of load; `SOAK_SECONDS=60 npx mocha test/hardening/soak.test.ts` for a long run. */
const SECONDS = Number(process.env.SOAK_SECONDS ?? 8);
const WORKERS = 16;
/** Heap the service may keep after the load, over what it held once warm (after a full GC). */
const HEAP_GROWTH_LIMIT = 24 * 1024 * 1024;

interface Stats {
  requests: number;
  crossTalk: number;
  crossTalkSamples: string[];
  unhandledRejections: number;
  uncaughtExceptions: number;
  handlerFailuresReported: number;
  spansEnded: number;
  logLines: number;
  upstreamErrors: number;
  heapUsed: number;
  groups: number;
  soakScopes: number;
}

interface Tally {
  sent: number;
  answered: number;
  debugged: number;
  aborted: number;
  wrongBody: string[];
  wrongTree: string[];
}

function request(
  url: string,
  id: number,
  debug: boolean,
  abort: boolean,
): Promise<http.IncomingMessage & { body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'x-soak-id': String(id) };
    if (debug) headers['X-Request-Debug'] = '*';
    if (debug && id % 2 === 0) headers['X-Request-Debug-Log'] = 'true';
    const req = http.get(url, { headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(Object.assign(res, { body })));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (abort) setTimeout(() => req.destroy(new Error('aborted by the client')), id % 3);
  });
}

async function worker(base: string, next: () => number, until: number, tally: Tally): Promise<void> {
  while (Date.now() < until) {
    const id = next();
    const debug = id % 3 === 0;
    const abort = id % 13 === 5;
    tally.sent++;
    let res: http.IncomingMessage & { body: string };
    try {
      res = await request(`${base}/work`, id, debug, abort);
    } catch (error) {
      if (!abort) throw error;
      tally.aborted++;
      continue;
    }
    tally.answered++;
    if (res.body !== `soak ${id}`) tally.wrongBody.push(`${id}: ${res.body}`);
    const output = res.headers['x-request-debug-output'];
    if (!debug) {
      if (output !== undefined) tally.wrongTree.push(`${id}: output on an undebugged request`);
      continue;
    }
    tally.debugged++;
    try {
      const tree = JSON.parse(String(output)) as Record<string, unknown>;
      if (tree.truncated !== true && tree.soak_id !== id)
        tally.wrongTree.push(`${id}: soak_id ${String(tree.soak_id)}`);
    } catch {
      tally.wrongTree.push(`${id}: output is not JSON: ${String(output).slice(0, 80)}`);
    }
  }
}

async function stats(base: string): Promise<Stats> {
  const res = await request(`${base}/stats`, -1, false, false);
  return JSON.parse(res.body) as Stats;
}

describe('hardening: a soak with faults', function () {
  this.timeout((SECONDS + 30) * 1000);

  it('serves every request, with no crash, no unhandled rejection, no cross-talk and a bounded heap', async () => {
    const app = new AppProcess(
      ['--expose-gc', '--require', 'tsx', join(PROJECT_ROOT, 'test/fixtures/hardening/soak-app.ts')],
      {},
    );
    try {
      const base = await app.ready();
      const tally: Tally = { sent: 0, answered: 0, debugged: 0, aborted: 0, wrongBody: [], wrongTree: [] };
      let id = 0;
      const next = (): number => id++;

      // Warm up, then take the heap the service holds once its code and caches are in place.
      const warmUntil = Date.now() + (SECONDS * 1000) / 4;
      await Promise.all(Array.from({ length: WORKERS }, () => worker(base, next, warmUntil, tally)));
      await sleep(300);
      const warm = await stats(base);

      const until = Date.now() + SECONDS * 1000;
      await Promise.all(Array.from({ length: WORKERS }, () => worker(base, next, until, tally)));
      await sleep(500); // aborted requests' close events, the last log phases
      const end = await stats(base);

      if (process.env.SOAK_SECONDS !== undefined) {
        const growth = ((end.heapUsed - warm.heapUsed) / 1024 / 1024).toFixed(1);
        console.log(
          `      soak: ${tally.sent} requests (${tally.debugged} debugged, ${tally.aborted} aborted), ` +
            `${end.handlerFailuresReported} failures reported, heap ${growth} MB over warm`,
        );
      }
      expect(app.child.exitCode, app.stderr).to.equal(null);
      expect(end.uncaughtExceptions, app.stderr).to.equal(0);
      expect(end.unhandledRejections, app.stderr).to.equal(0);
      expect(end.crossTalk, end.crossTalkSamples.join('; ')).to.equal(0);
      expect(tally.wrongBody, "responses with another request's body").to.deep.equal([]);
      expect(tally.wrongTree, "debug outputs that are not the request's own").to.deep.equal([]);
      expect(tally.answered + tally.aborted).to.equal(tally.sent);
      // The faults really happened, and were reported rather than thrown.
      expect(end.handlerFailuresReported, 'handler failures reported through diag').to.be.greaterThan(0);
      expect(end.upstreamErrors, 'dropped upstream connections').to.be.greaterThan(0);
      expect(end.logLines).to.be.greaterThan(0);
      expect(end.spansEnded).to.be.greaterThan(tally.debugged);
      expect(tally.debugged).to.be.greaterThan(50);
      // Nothing a request enabled outlives it, and the heap does not grow with the traffic.
      expect(end.soakScopes, 'scopes still holding the group after the load').to.equal(0);
      expect(end.groups).to.equal(warm.groups);
      expect(end.heapUsed - warm.heapUsed, `heap ${warm.heapUsed} -> ${end.heapUsed}`).to.be.lessThan(
        HEAP_GROWTH_LIMIT,
      );
    } finally {
      await app.stop();
    }
  });
});
