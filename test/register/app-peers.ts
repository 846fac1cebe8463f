import http from 'node:http';
import { close, listen } from '../helpers/http';
import { OtlpReceiver } from '../helpers/otlp-receiver';
import type { AppProcess } from './app-process';

/** What application processes under test talk to, and the processes themselves. */
export interface AppPeers {
  /** A real OTLP/HTTP receiver, started before the suite. */
  readonly receiver: OtlpReceiver;
  /** A plain upstream answering `upstream`, for the apps' outgoing calls. */
  readonly upstreamUrl: string;
  /** Push each app started; they are stopped after each test. */
  readonly apps: AppProcess[];
}

/**
 * Registers, in the calling `describe`, the hooks that start a receiver and
 * an upstream before the suite, stop the apps after each test, and stop the
 * peers after the suite. Read the fields inside hooks and tests only.
 */
export function useAppPeers(): AppPeers {
  let receiver: OtlpReceiver | undefined;
  let upstream: http.Server | undefined;
  let upstreamUrl: string | undefined;
  const apps: AppProcess[] = [];
  before(async () => {
    receiver = await new OtlpReceiver().start();
    upstream = http.createServer((_req, res) => res.end('upstream'));
    upstreamUrl = await listen(upstream);
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.stop()));
  });
  after(async () => {
    if (upstream !== undefined) await close(upstream);
    await receiver?.stop();
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is read before the suite's before hook ran`);
    return value;
  };
  return {
    get receiver() {
      return started(receiver, 'receiver');
    },
    get upstreamUrl() {
      return started(upstreamUrl, 'upstreamUrl');
    },
    apps,
  };
}
