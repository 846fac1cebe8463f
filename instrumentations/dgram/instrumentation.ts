import { InstrumentationNodeModuleDefinition, type InstrumentationConfig } from '@opentelemetry/instrumentation';
import type * as dgram from 'node:dgram';
import { callOperation, startOperation } from '../../src/instrumentation-api';
import { endOperationWithError } from '../common/end-operation';
import { observeEmits } from '../common/observe-emits';
import { TimingHookInstrumentation } from '../common/timing-hook-instrumentation';
import { socketAttributes, socketName } from '../net/destination';

/**
 * Times `dgram.Socket#connect` as Kong times ngx.socket.udp's setpeername:
 * `connections` > `udp://host:port` > `setpeername`, until the socket is
 * connected (the `'connect'` event, or the callback's error).
 */
export class DgramInstrumentation extends TimingHookInstrumentation {
  constructor(config: InstrumentationConfig = {}) {
    super('dgram', config);
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        'dgram',
        ['*'],
        (exports: typeof dgram) => {
          this.hookTiming(exports.Socket.prototype, 'connect', 'varargs', SETPEERNAME, {
            mode: 'callback',
            name: 'dgram.Socket#connect',
          });
          return exports;
        },
        (exports: typeof dgram | undefined) => {
          this.unhookAll(exports?.Socket.prototype);
        },
      ),
    ];
  }
}

const SETPEERNAME = {
  befores: [
    function (this: dgram.Socket, port: unknown, address?: unknown): void {
      const number = Number(port);
      if (!Number.isInteger(number)) return;
      const host = typeof address === 'string' ? address : localhostOf(this);
      const destination = { host, port: number, path: undefined };
      startOperation(
        ['connections', socketName('udp', destination), 'setpeername'],
        socketAttributes('udp', destination),
      );
    },
  ],
  afters: [
    // In 'callback' mode this runs when the callback is called, or, for a
    // call without a callback, at return: then follow the socket's events.
    function (this: dgram.Socket, _result: unknown, ...args: unknown[]): void {
      const operation = callOperation();
      if (operation === undefined) return;
      if (typeof args[args.length - 1] === 'function') {
        operation.end();
        return;
      }
      observeEmits(this, 'setpeername', (event, eventArgs) => {
        if (event === 'connect') operation.end();
        else if (event === 'error') operation.end(eventArgs[0]);
      });
    },
  ],
  errors: [endOperationWithError],
};

/** The address `connect(port)` without an address uses: the loopback of the socket's family. */
function localhostOf(socket: dgram.Socket): string {
  const type = (socket as unknown as { type?: string }).type;
  return type === 'udp6' ? '::1' : '127.0.0.1';
}
