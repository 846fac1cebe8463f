import { hook, timing } from '../../src';

/**
 * How the balancer's tries show in the timing tree. Kong's balancer phase
 * runs once per try and its timing adds them up in one `balancer` context,
 * so a retry after a refused connection would not show. Here each try is a
 * child context of `balancer`: `try_<n>` with the `target` it chose and,
 * from the second on, the failure it is `retrying_after` (`ECONNREFUSED`,
 * known only when the next try starts, as Kong records it); `balancer`
 * itself carries the number of `tries`. The gateway runs
 * `before:balancer_try` / `after:balancer_try` inside each balancer phase;
 * as every hook of group `timing`, they run only for debugged requests.
 */
export function registerBalancerTryHooks(): void {
  hook('timing', 'before:balancer_try', (attempt: number, target: string, retryingAfter?: string) => {
    timing.setContextProp('tries', attempt);
    timing.enterContext(`try_${attempt}`);
    timing.setContextProp('target', target);
    if (retryingAfter !== undefined) timing.setContextProp('retrying_after', retryingAfter);
  });
  hook('timing', 'after:balancer_try', () => {
    timing.leaveContext();
  });
}
