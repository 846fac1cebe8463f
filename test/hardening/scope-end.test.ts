import { expect } from 'chai';
import { once } from 'node:events';
import http from 'node:http';
import { enableOnThisRequest, isGroupEnabled, listGroups } from '../../src';
import { findGroup } from '../../src/core/group-state';
import { close, getOverAgent as get, listen } from '../helpers/http';
import { eventually, timingHarness } from '../helpers/timing-harness';

// Issue 9, item 10: a server request's scope ends when its response is over
// (finished, or closed early), debugged or not, even while timers and pooled
// keep-alive sockets opened during the request still reach it. No test here
// collects garbage: what ends the scope must be the response.

let seq = 0;
function freshGroup(): string {
  return `hardening-scope-end-${++seq}`;
}

function enabledScopes(group: string): number | undefined {
  return listGroups().find((g) => g.name === group)?.enabledScopes;
}

/** What a continuation the handler left behind saw once the response was over. */
interface Later {
  enabled: boolean;
  enableError: string | undefined;
}

describe('hardening: a server request scope ends with its response', () => {
  const harness = timingHarness();
  /** An upstream the handler calls over a keep-alive agent: its pooled sockets are opened in the request's context. */
  let upstream: http.Server;
  let upstreamUrl: string;
  let upstreamAgent: http.Agent;
  let clientAgent: http.Agent;

  before(async () => {
    harness.configure({});
    upstream = http.createServer((_req, res) => res.end('up'));
    upstreamUrl = await listen(upstream);
  });
  after(() => close(upstream));
  beforeEach(() => {
    upstreamAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    clientAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  });
  afterEach(() => {
    upstreamAgent.destroy();
    clientAgent.destroy();
  });

  /**
   * A server whose handler enables `group`, calls the upstream over the
   * keep-alive agent, answers, and leaves a timer and an interval that look
   * at the group after the response.
   */
  async function serverEnabling(group: string, later: Later[]): Promise<{ server: http.Server; url: string }> {
    const server = http.createServer((_req, res) => {
      enableOnThisRequest(group);
      const during = isGroupEnabled(group);
      void get(`${upstreamUrl}/`, upstreamAgent).then(() => {
        // Both continuations are created inside the request, so they run in its context.
        const interval = setInterval(() => {
          if (!res.writableFinished) return;
          clearInterval(interval);
          let enableError: string | undefined;
          try {
            enableOnThisRequest(group);
          } catch (error) {
            enableError = (error as Error).message;
          }
          later.push({ enabled: isGroupEnabled(group), enableError });
        }, 5);
        setTimeout(() => later.push({ enabled: isGroupEnabled(group), enableError: undefined }), 60);
        res.end(String(during));
      });
    });
    return { server, url: await listen(server) };
  }

  for (const debugged of [false, true]) {
    it(`${debugged ? 'debugged' : 'undebugged'}: continuations and keep-alive sockets do not keep the group enabled`, async () => {
      const group = freshGroup();
      const later: Later[] = [];
      const { server, url } = await serverEnabling(group, later);
      try {
        const headers: Record<string, string> = debugged ? { 'X-Request-Debug': '*' } : {};
        const body = await get(`${url}/`, clientAgent, headers);
        expect(body, 'enabled while the request runs').to.equal('true');
        await eventually(() => later.length === 2, 5000);
        expect(later.map((l) => l.enabled)).to.deep.equal([false, false]);
        const afterEnd = later.find((l) => l.enableError !== undefined);
        expect(afterEnd?.enableError).to.match(/after its request ended/);
        // The client's and the upstream's keep-alive sockets are still open and reach the scope.
        expect(Object.keys(upstreamAgent.freeSockets)).to.have.length(1);
        expect(Object.keys(clientAgent.freeSockets)).to.have.length(1);
        expect(enabledScopes(group)).to.equal(0);
        expect(findGroup(group)?.active).to.equal(0);
      } finally {
        await close(server);
      }
    });
  }

  it('after a load run over keep-alive connections, no scope holds the group', async () => {
    const group = freshGroup();
    const later: Later[] = [];
    const { server, url } = await serverEnabling(group, later);
    try {
      const replies = await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          get(`${url}/${i}`, clientAgent, i % 10 === 0 ? { 'X-Request-Debug': '*' } : {}),
        ),
      );
      expect(new Set(replies)).to.deep.equal(new Set(['true']));
      await eventually(() => later.length === 600, 10_000);
      expect(later.filter((l) => l.enabled)).to.have.length(0);
      expect(Object.keys(clientAgent.freeSockets)).to.have.length(1);
      expect(enabledScopes(group)).to.equal(0);
      expect(findGroup(group)?.active).to.equal(0);
    } finally {
      await close(server);
    }
  });

  it('an aborted request (the client destroys its socket mid-response) ends its scope too', async () => {
    const group = freshGroup();
    const seen: boolean[] = [];
    let closed!: Promise<unknown>;
    const server = http.createServer((_req, res) => {
      enableOnThisRequest(group);
      closed = once(res, 'close');
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      // Never ended by the handler: a slow stream the client gives up on.
      const interval = setInterval(() => {
        if (!res.destroyed) return;
        clearInterval(interval);
        seen.push(isGroupEnabled(group));
      }, 5);
    });
    const url = await listen(server);
    try {
      await new Promise<void>((resolve, reject) => {
        const req = http.get(`${url}/`, { agent: clientAgent }, (res) => {
          res.once('data', () => {
            expect(enabledScopes(group)).to.equal(1);
            req.destroy();
            resolve();
          });
        });
        req.on('error', (error: NodeJS.ErrnoException) => {
          if (error.code !== 'ECONNRESET') reject(error);
        });
      });
      await closed;
      await eventually(() => seen.length === 1, 5000);
      expect(seen).to.deep.equal([false]);
      expect(enabledScopes(group)).to.equal(0);
      expect(findGroup(group)?.active).to.equal(0);
    } finally {
      await close(server);
    }
  });

  it('arms the end only when the scope first holds a group: other requests get no listener', async () => {
    const group = freshGroup();
    const counts: number[][] = [];
    const server = http.createServer((req, res) => {
      const count = (): number => res.listenerCount('finish') + res.listenerCount('close');
      const before = count();
      if (req.url === '/enable') {
        enableOnThisRequest(group);
        const once = count();
        enableOnThisRequest(group);
        enableOnThisRequest(freshGroup());
        counts.push([before, once, count()]);
      } else {
        counts.push([before, count()]);
      }
      res.end();
    });
    const url = await listen(server);
    try {
      await get(`${url}/plain`, clientAgent);
      await get(`${url}/enable`, clientAgent);
      const [plain, enabling] = counts;
      expect(plain[1], 'a request that enables nothing').to.equal(plain[0]);
      expect(enabling[1], 'armed on the first group').to.be.above(enabling[0]);
      expect(enabling[2], 'and only once').to.equal(enabling[1]);
      expect(enabledScopes(group)).to.equal(0);
    } finally {
      await close(server);
    }
  });
});
