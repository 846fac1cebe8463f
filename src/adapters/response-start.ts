import type { ServerResponse } from 'node:http';

const apply = Reflect.apply;
const WRITERS = ['writeHead', 'write', 'end'] as const;
type Writer = (typeof WRITERS)[number];

/**
 * Calls `listener` once, when the application starts writing `res` (its
 * first `writeHead`, `write` or `end`, before the call goes on), so that an
 * adapter can leave its phases before the server integration's
 * header_filter and body_filter start, instead of nesting them. Patches
 * the three methods on this one response (a debugged request's) and puts
 * them back once it fired.
 */
export function onResponseStart(res: ServerResponse, listener: () => void): void {
  const originals = WRITERS.map((key) => res[key]);
  const wrappers: unknown[] = [];
  let pending = true;
  const fire = (): void => {
    if (!pending) return;
    pending = false;
    WRITERS.forEach((key, i) => {
      if (res[key] === wrappers[i]) assign(res, key, originals[i]);
    });
    listener();
  };
  WRITERS.forEach((key, i) => {
    const original = originals[i];
    const wrapper = function (this: ServerResponse): unknown {
      fire();
      // eslint-disable-next-line prefer-rest-params
      return apply(original, this, arguments);
    };
    wrappers.push(wrapper);
    assign(res, key, wrapper);
  });
}

function assign(res: ServerResponse, key: Writer, fn: unknown): void {
  (res as unknown as Record<Writer, unknown>)[key] = fn;
}
