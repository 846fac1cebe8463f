import diagnosticsChannel from 'node:diagnostics_channel';
import { SUBSCRIPTION_LINGER_MS, watchGroupActivity, type GroupState } from '../core/group-state';
import { isActive } from '../core/request-scope';
import type { ChannelHandler } from './instrumentation-internals';

/**
 * Subscribes `onMessage` to the diagnostics channel `name` only while
 * `group` is enabled anywhere (process-wide or by a live request), and for
 * `SUBSCRIPTION_LINGER_MS` after, so that while it is dormant the
 * publisher sees no subscriber and does no work.
 * While subscribed, a message reaches `onMessage` only where the group is
 * enabled: messages about one request (`message.request`, as undici
 * publishes them) follow the decision made at the first message about it,
 * in the caller's context (its later messages are published from socket
 * callbacks); other messages are decided in the context they are
 * published in. Returns the function that unsubscribes for good.
 */
export function gateChannel(group: GroupState, name: string, onMessage: ChannelHandler): () => void {
  const gated: ChannelHandler = (message, channel) => {
    if (admits(group, message)) onMessage(message, channel);
  };
  let subscribed = false;
  const stopWatching = watchGroupActivity(
    group.name,
    (active) => {
      if (active === subscribed) return;
      subscribed = active;
      if (active) diagnosticsChannel.subscribe(name, gated);
      else diagnosticsChannel.unsubscribe(name, gated);
    },
    SUBSCRIPTION_LINGER_MS,
  );
  return () => {
    stopWatching();
    if (subscribed) diagnosticsChannel.unsubscribe(name, gated);
    subscribed = false;
  };
}

/** Per request object: whether its messages go through (decided at the first one). */
const decisions = new WeakMap<object, boolean>();

function admits(group: GroupState, message: unknown): boolean {
  const request =
    typeof message === 'object' && message !== null ? (message as { request?: unknown }).request : undefined;
  if (typeof request !== 'object' || request === null) return isActive(group);
  let admitted = decisions.get(request);
  if (admitted === undefined) {
    admitted = isActive(group);
    decisions.set(request, admitted);
  }
  return admitted;
}
