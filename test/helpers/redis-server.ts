import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { freeTcpPort } from './free-port';

/** A real redis-server (from Debian, installed by .ci/run) on a loopback port. */
export interface RedisServer {
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts redis-server without persistence; fails with a clear message if it is not installed. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freeTcpPort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
    { stdio: 'ignore' },
  );
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error) =>
      reject(new Error(`cannot start redis-server (apt-get install redis-server; .ci/run does): ${error.message}`)),
    );
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  failed.catch(() => undefined);
  await Promise.race([failed, waitForPort(port)]);
  return {
    port,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill();
      await once(child, 'exit');
    },
  };
}

async function waitForPort(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (connected) return;
    await sleep(50);
  }
  throw new Error(`redis-server did not listen on ${port}`);
}
