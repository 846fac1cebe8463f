import { once } from 'node:events';
import net from 'node:net';

/**
 * A TCP port free on loopback when asked (bound, then released before this
 * returns); for peers and apps that must be told their port up front.
 */
export async function freeTcpPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
