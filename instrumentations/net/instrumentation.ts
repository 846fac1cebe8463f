import { InstrumentationNodeModuleDefinition, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import type * as net from 'node:net';
import { isIP } from 'node:net';
import type * as tls from 'node:tls';
import { callOperation, startOperation, type TimingOperation } from '../../src/instrumentation-api';
import { claimConnect } from '../common/connect-owner';
import { endOperationWithError } from '../common/end-operation';
import { observeEmits } from '../common/observe-emits';
import { TimingHookInstrumentation } from '../common/timing-hook-instrumentation';
import { socketAttributes, socketDestination, socketName } from './destination';

type TlsModule = Pick<typeof tls, 'connect'>;

/**
 * Times connections as Kong times ngx.socket.tcp: `connections` >
 * `tcp://host:port` (or `unix:path`) > `connect` for `net.Socket#connect`
 * until `'connect'`, and `sslhandshake` (props `sni`,
 * `attempt_reuse_session`) for `tls.connect` from the TCP connection until
 * `'secureConnect'`. A TLS connection's `connect` and `sslhandshake` are
 * siblings under the same destination, as in Kong. A connection undici
 * opens for a `fetch` nests under that request's `http_request`, like one
 * `http.request` opens.
 */
export class NetInstrumentation extends TimingHookInstrumentation {
  constructor(config: InstrumentationConfig = {}) {
    super('net', config);
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        'net',
        ['*'],
        (exports: typeof net) => {
          this.hookTiming(exports.Socket.prototype, 'connect', 'varargs', SOCKET_CONNECT, {
            name: 'net.Socket#connect',
          });
          return exports;
        },
        (exports: typeof net | undefined) => {
          this.unhookAll(exports?.Socket.prototype);
        },
      ),
      new InstrumentationNodeModuleDefinition(
        'tls',
        ['*'],
        (exports: TlsModule) => {
          this.hookTiming(exports, 'connect', 'varargs', TLS_CONNECT, { name: 'tls.connect' });
          return exports;
        },
        (exports: TlsModule | undefined) => {
          this.unhookAll(exports);
        },
      ),
    ];
  }
}

const SOCKET_CONNECT = {
  befores: [
    (...args: unknown[]): void => {
      const destination = socketDestination(args);
      if (destination === undefined) return;
      claimConnect(destination.port);
      startOperation(['connections', socketName('tcp', destination), 'connect'], socketAttributes('tcp', destination));
    },
  ],
  afters: [
    (socket: unknown): void => {
      const operation = callOperation();
      if (operation === undefined) return;
      const connecting = socket as net.Socket;
      observeEmits(connecting, 'connect', (event, args) => {
        if (event === 'connect') {
          operation.setAttributes(peerAttributes(connecting));
          operation.end();
        } else if (event === 'error') operation.end(args[0]);
        else if (event === 'close') operation.end(new Error('socket closed before it connected'));
      });
    },
  ],
  errors: [endOperationWithError],
};

/** The peer a connected socket reached (`network.peer.*`); nothing for a unix socket. */
function peerAttributes(socket: net.Socket): Record<string, string | number> {
  const { remoteAddress, remotePort } = socket;
  if (remoteAddress === undefined || remotePort === undefined) return {};
  return { 'network.peer.address': remoteAddress, 'network.peer.port': remotePort };
}

interface TlsOptions {
  host?: string;
  port?: number;
  path?: string;
  servername?: string;
  session?: unknown;
  socket?: unknown;
}

const TLS_CONNECT = {
  befores: [
    (...args: unknown[]): void => {
      const destination = socketDestination(args);
      if (destination === undefined) return;
      claimConnect(destination.port);
      startOperation(['connections', socketName('tcp', destination)], socketAttributes('tcp', destination));
    },
  ],
  afters: [
    (socket: unknown, ...args: unknown[]): void => {
      const operation = callOperation();
      if (operation !== undefined) followHandshake(socket as tls.TLSSocket, operation, tlsOptions(args));
    },
  ],
  errors: [endOperationWithError],
};

/** The options object among `tls.connect`'s arguments (`(options)`, `(port, host, options)`, `(path, options)`). */
function tlsOptions(args: readonly unknown[]): TlsOptions {
  const options = args.find((arg) => typeof arg === 'object' && arg !== null) as TlsOptions | undefined;
  return options ?? {};
}

/** Opens `sslhandshake` once the TCP connection is up (at once on a given socket), ends all at `'secureConnect'`. */
function followHandshake(socket: tls.TLSSocket, operation: TimingOperation, options: TlsOptions): void {
  let handshake: TimingOperation | undefined;
  const startHandshake = (): void => {
    if (handshake !== undefined) return;
    handshake = operation.child('sslhandshake', { 'tls.protocol.name': 'tls' });
    // Node sends no SNI for an IP address, so there is none to report.
    const host = options.host ?? 'localhost';
    const sni = options.servername ?? (isIP(host) === 0 ? host : undefined);
    if (sni !== undefined && sni !== '') handshake?.setProp('sni', sni);
    handshake?.setProp('attempt_reuse_session', options.session !== undefined);
  };
  const end = (error?: unknown): void => {
    handshake?.end(error);
    operation.end(error);
  };
  if (options.socket !== undefined) startHandshake();
  observeEmits(socket, 'sslhandshake', (event, args) => {
    if (event === 'connect') startHandshake();
    else if (event === 'secureConnect') end();
    else if (event === 'error') end(args[0]);
    else if (event === 'close') end(new Error('socket closed before the TLS handshake completed'));
  });
}
