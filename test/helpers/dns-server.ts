import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/** A real DNS server (dnsmasq from Debian, installed by .ci/run) on a loopback port. */
export interface DnsServer {
  /** `127.0.0.1:port`, for `Resolver#setServers`. */
  readonly address: string;
  stop(): Promise<void>;
}

/** Names the server answers: `api.test` -> 10.1.2.3; `missing.test` -> NXDOMAIN. */
export const DNS_RECORDS = { name: 'api.test', address: '10.1.2.3', missing: 'missing.test' } as const;

async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  socket.close();
  return port;
}

/** Starts dnsmasq answering DNS_RECORDS; fails with a clear message if dnsmasq is not installed. */
export async function startDnsServer(): Promise<DnsServer> {
  const port = await freeUdpPort();
  const child: ChildProcess = spawn(
    'dnsmasq',
    [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--bind-interfaces',
      '--listen-address=127.0.0.1',
      `--port=${port}`,
      `--address=/${DNS_RECORDS.name}/${DNS_RECORDS.address}`,
      `--address=/${DNS_RECORDS.missing}/`,
      '--user=root',
      '--pid-file=',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += String(chunk)));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error) =>
      reject(new Error(`cannot start dnsmasq (apt-get install dnsmasq-base; .ci/run does): ${error.message}`)),
    );
    child.once('exit', (code) => reject(new Error(`dnsmasq exited with ${code}: ${stderr}`)));
  });
  await Promise.race([failed, waitUntilAnswering(port)]);
  failed.catch(() => undefined);
  return {
    address: `127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill();
      await once(child, 'exit');
    },
  };
}

async function waitUntilAnswering(port: number): Promise<void> {
  const { Resolver } = await import('node:dns/promises');
  const resolver = new Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      await resolver.resolve4(DNS_RECORDS.name);
      return;
    } catch {
      await sleep(50);
    }
  }
  throw new Error('dnsmasq did not answer');
}
