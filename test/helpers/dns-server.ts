import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
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

/** A loopback port free for both UDP and TCP (dnsmasq listens on both). */
async function freeDnsPort(): Promise<number> {
  for (;;) {
    const tcp = net.createServer().listen(0, '127.0.0.1');
    await once(tcp, 'listening');
    const { port } = tcp.address() as net.AddressInfo;
    const udp = dgram.createSocket('udp4');
    const free = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    udp.close();
    tcp.close();
    if (free) return port;
  }
}

/** Starts dnsmasq answering DNS_RECORDS; fails with a clear message if dnsmasq is not installed. */
export async function startDnsServer(): Promise<DnsServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDnsmasq(await freeDnsPort());
    } catch (error) {
      // Another process may take the port between the probe and dnsmasq's bind.
      if (attempt >= 3 || !String(error).includes('Address already in use')) throw error;
    }
  }
}

async function startDnsmasq(port: number): Promise<DnsServer> {
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
