import { type TimingOperation } from '../../src/instrumentation-api';

/**
 * A request whose connection is being opened right now by a library that
 * connects outside the request's own call (undici, for `fetch`): the
 * connection's `connections` > `tcp://host:port` > `connect` contexts nest
 * under it. Set just before the library calls `net`/`tls` `connect`
 * (synchronously after `undici:client:beforeConnect`), taken by that call's
 * before-handler, and forgotten at the next microtask if no call took it.
 */
let pending: { readonly operation: TimingOperation; readonly port: number } | undefined;

/** The next socket connect to `port`, in this synchronous stretch of code, opens a connection for `operation`. */
export function expectConnect(operation: TimingOperation, port: number): void {
  if (pending === undefined) queueMicrotask(forget);
  pending = { operation, port };
}

/**
 * In a socket connect's before-handler: if that connection was announced
 * by {@link expectConnect}, makes the call nest under the request it is for.
 */
export function claimConnect(port: number): void {
  const claimed = pending;
  if (claimed === undefined) return;
  pending = undefined;
  if (claimed.port === port) claimed.operation.adoptCall();
}

function forget(): void {
  pending = undefined;
}
