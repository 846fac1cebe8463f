import { expect } from 'chai';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  alwaysEnable,
  disableByDefault,
  enableOnThisRequest,
  hook,
  hookFunction,
  isGroupEnabled,
  listGroups,
  runHook,
  withGroupsEnabled,
  withRequestScope,
  type HookMode,
  type MaxArgs,
  type Unhook,
} from '../../src';
import { DiagCapture } from '../helpers/diag-capture';
import { releaseRequestScopes } from '../helpers/scopes';
import { prng } from '../helpers/prng';

/**
 * Issue 9: a property fuzz of the core API with a fixed seed. Random
 * sequences of hookFunction (every maxArgs and mode, handlers that throw,
 * reject or return values), unhooks in random order, process-wide and
 * per-request enabling, runHook, and calls of every shape; after each call
 * and at the end, the invariants a host relies on.
 */

const SEED = 0x5eed_0009;
const ITERATIONS = 2_000;
const GROUPS = ['fuzz-g0', 'fuzz-g1', 'fuzz-g2', 'fuzz-g3'];
const HOOK_NAMES = ['n0', 'n1'];
const MODES: readonly HookMode[] = ['auto', 'sync', 'promise', 'callback'];
const MAX_ARGS: readonly MaxArgs[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 'varargs'];
const KEYS = ['sync', 'prom', 'cb', 'thenish', 'Make'] as const;
type Key = (typeof KEYS)[number];

/** What the next call of an original does, decided by the caller. */
interface Plan {
  fail: boolean;
  /** Settle (or call back) in a later turn rather than at once. */
  later: boolean;
  /** Which hostile shape `thenish` returns. */
  shape: number;
  value: object;
  error: Error;
}

/** What the last original call received. */
interface Received {
  self: unknown;
  args: unknown[];
  returned: unknown;
}

let plan: Plan;
let received: Received | undefined;

/** What the original received in the call just made (read at once: overlapping calls replace it). */
function lastReceived(): Received | undefined {
  return received;
}

function settleLater(fn: () => void): void {
  setImmediate(fn);
}

class Target {
  readonly id: number;
  cb: (...args: unknown[]) => unknown;
  thenish: (...args: unknown[]) => unknown;
  Make: new (...args: unknown[]) => object;

  constructor(id: number) {
    this.id = id;
    // Own methods next to the inherited ones, so that unhook restores both kinds.
    this.cb = function (this: unknown, ...args: unknown[]): void {
      const callback = args[args.length - 1] as (error: unknown, value?: unknown) => void;
      received = { self: this, args, returned: undefined };
      const { fail, error, value } = plan;
      const finish = (): void => {
        if (fail) callback(error);
        else callback(null, value);
      };
      if (plan.later) settleLater(finish);
      else finish();
    };
    this.thenish = function (this: unknown, ...args: unknown[]): unknown {
      const returned = hostileResult(plan);
      received = { self: this, args, returned };
      return returned;
    };
    this.Make = class Made {
      readonly args: unknown[];
      constructor(...args: unknown[]) {
        received = { self: undefined, args, returned: undefined };
        if (plan.fail) throw plan.error;
        this.args = args;
      }
    };
  }

  sync(...args: unknown[]): unknown {
    received = { self: this, args, returned: undefined };
    if (plan.fail) throw plan.error;
    received.returned = plan.value;
    return plan.value;
  }

  prom(...args: unknown[]): Promise<unknown> {
    const { fail, error, value, later } = plan;
    const promise = later
      ? new Promise((resolve, reject) => {
          settleLater(() => {
            if (fail) reject(error);
            else resolve(value);
          });
        })
      : fail
        ? Promise.reject(error)
        : Promise.resolve(value);
    received = { self: this, args, returned: promise };
    return promise;
  }
}

/** Results that observing must not trip over; none rejects, so nothing is left unhandled by the test itself. */
function hostileResult(p: Plan): unknown {
  switch (p.shape % 5) {
    case 0:
      return {
        then() {
          throw p.error;
        },
      };
    case 1:
      return {
        get then(): unknown {
          throw p.error;
        },
      };
    case 2: {
      const promise = Promise.resolve(p.value);
      Reflect.defineProperty(promise, 'then', {
        value() {
          throw p.error;
        },
      });
      return promise;
    }
    case 3:
      return {
        then(resolve: (v: unknown) => void) {
          settleLater(() => {
            resolve(p.value);
          });
        },
      };
    default:
      return p.value;
  }
}

interface LiveHook {
  readonly unhook: Unhook;
  readonly id: number;
}

/** The fuzz run itself; returns once every call settled, so that nothing it made keeps a scope alive. */
async function fuzz(capture: DiagCapture, unhandled: readonly unknown[]): Promise<void> {
  const random = prng(SEED);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const chance = (p: number): boolean => random() < p;

  const targets = [new Target(0), new Target(1), new Target(2)];
  const originals = targets.map((target) => {
    const own = new Map<Key, boolean>();
    const fns = new Map<Key, unknown>();
    for (const key of KEYS) {
      own.set(key, Object.prototype.hasOwnProperty.call(target, key));
      fns.set(key, target[key]);
    }
    return { own, fns };
  });

  const violations: string[] = [];
  const violate = (what: string): void => {
    if (violations.length < 20) violations.push(what);
  };
  /** Handler failures that must each be reported once. */
  let failuresToReport = 0;
  /** Per hook: befores run and calls completed (afters or errors), which must match in the end. */
  const started = new Map<number, number>();
  const ended = new Map<number, number>();
  const live: LiveHook[] = [];
  let hookIds = 0;
  let currentArgs: unknown[] = [];
  const pending: Promise<void>[] = [];

  /** A handler of a random kind; every kind is isolated from the call. */
  const makeHandler = (): ((...args: unknown[]) => unknown) => {
    switch (Math.floor(random() * 6)) {
      case 0:
        return () => undefined;
      case 1:
        return () => {
          failuresToReport++;
          throw new Error('handler throws');
        };
      case 2:
        return async () => {
          failuresToReport++;
          await Promise.resolve();
          throw new Error('async handler rejects');
        };
      case 3:
        return () => {
          failuresToReport++;
          return {
            then() {
              throw new Error('returned then throws');
            },
          };
        };
      case 4:
        return () => ({ some: 'value' });
      default:
        return () => Promise.resolve('fine');
    }
  };

  const hookOne = (): void => {
    const target = pick(targets);
    const key = pick(KEYS);
    const group = pick(GROUPS);
    const maxArgs = pick(MAX_ARGS);
    const mode = pick(MODES);
    const id = ++hookIds;
    started.set(id, 0);
    ended.set(id, 0);
    const probeBefore = function (this: unknown, ...args: unknown[]): void {
      started.set(id, (started.get(id) ?? 0) + 1);
      if (key !== 'Make' && this !== target) violate(`before ${id}: wrong this`);
      const expected = maxArgs === 'varargs' ? currentArgs.length : maxArgs;
      if (args.length !== expected) violate(`before ${id}: ${args.length} arguments, expected ${expected}`);
      for (let i = 0; i < args.length; i++) {
        // A callback may arrive wrapped by another hook in 'callback' mode beneath which this one runs.
        const same = typeof currentArgs[i] === 'function' ? typeof args[i] === 'function' : args[i] === currentArgs[i];
        if (!same) violate(`before ${id}: argument ${i} differs`);
      }
    };
    const probeEnd = function (this: unknown): void {
      ended.set(id, (ended.get(id) ?? 0) + 1);
      if (key !== 'Make' && this !== target) violate(`end ${id}: wrong this`);
    };
    const list = (probe: (...args: unknown[]) => void): ((...args: unknown[]) => unknown)[] => {
      const handlers = [probe];
      const extra = Math.floor(random() * 3);
      for (let i = 0; i < extra; i++) handlers.splice(Math.floor(random() * (handlers.length + 1)), 0, makeHandler());
      return handlers;
    };
    const unhook = hookFunction(
      group,
      target,
      key,
      maxArgs,
      { befores: list(probeBefore), afters: list(probeEnd), errors: list(probeEnd) },
      { mode },
    );
    live.push({ unhook, id });
  };

  const unhookOne = (): void => {
    if (live.length === 0) return;
    const i = Math.floor(random() * live.length);
    const [removed] = live.splice(i, 1);
    removed.unhook();
  };

  /** Calls a random function of a random target and checks what the caller gets. */
  const callOne = async (): Promise<void> => {
    const target = pick(targets);
    const key = pick(KEYS);
    const args = Array.from({ length: Math.floor(random() * 11) }, (_, i) => (chance(0.5) ? i : { arg: i }));
    plan = {
      fail: chance(0.3),
      later: chance(0.5),
      shape: Math.floor(random() * 5),
      value: { value: true },
      error: new Error('host error'),
    };
    const expected = plan;
    received = undefined;
    currentArgs = args;
    let got: Received | undefined;
    switch (key) {
      case 'sync': {
        let outcome: { threw: boolean; value: unknown };
        try {
          outcome = { threw: false, value: target.sync(...args) };
        } catch (error) {
          outcome = { threw: true, value: error };
        }
        got = lastReceived();
        if (outcome.threw !== expected.fail) violate(`sync: threw ${outcome.threw}`);
        if (outcome.value !== (expected.fail ? expected.error : expected.value)) violate('sync: result differs');
        break;
      }
      case 'prom': {
        const promise = target.prom(...args);
        got = lastReceived();
        if (promise !== got?.returned) violate('prom: a different promise');
        try {
          const value = await promise;
          if (expected.fail || value !== expected.value) violate('prom: fulfilled wrongly');
        } catch (error) {
          if (!expected.fail || error !== expected.error) violate('prom: rejected wrongly');
        }
        break;
      }
      case 'cb': {
        const settled = new Promise<void>((resolve) => {
          const callback = function (this: unknown, ...callbackArgs: unknown[]): void {
            const [error, value] = callbackArgs;
            if (expected.fail ? error !== expected.error : error !== null || value !== expected.value) {
              violate('cb: called back wrongly');
            }
            resolve();
          };
          currentArgs = [...args, callback];
          const returned = target.cb(...args, callback);
          got = lastReceived();
          if (returned !== undefined) violate('cb: returned something');
        });
        await settled;
        // The original got the caller's arguments and a callback (the caller's, or one that completes the call).
        if (got?.args.length !== args.length + 1) violate('cb: argument count');
        break;
      }
      case 'thenish': {
        let returned: unknown;
        try {
          returned = target.thenish(...args);
        } catch {
          violate('thenish: threw into the caller');
        }
        got = lastReceived();
        if (returned !== got?.returned) violate('thenish: result differs');
        if (expected.shape % 5 >= 3) {
          const value = await (returned as Promise<unknown>);
          if (value !== expected.value) violate('thenish: settled wrongly');
        }
        break;
      }
      case 'Make': {
        const Make = target.Make;
        const Original = originals[target.id].fns.get('Make') as new () => object;
        try {
          const made = new Make(...args);
          if (expected.fail) violate('Make: constructed despite failing');
          if (!(made instanceof Make) || !(made instanceof Original)) violate('Make: instance of the wrong class');
        } catch (error) {
          if (!expected.fail || error !== expected.error) violate('Make: threw wrongly');
        }
        got = lastReceived();
        break;
      }
    }
    if (got === undefined) violate(`${key}: the original was not called`);
    else if (key !== 'Make' && got.self !== target) violate(`${key}: wrong this`);
    else if (got.args.length < args.length || args.some((arg, i) => got?.args[i] !== arg)) {
      violate(`${key}: arguments differ`);
    }
  };

  const registered = new Map<string, { handler: () => unknown; returns: unknown }>();
  const registerNamed = (): void => {
    const group = pick(GROUPS);
    const name = pick(HOOK_NAMES);
    const returns = { named: true };
    const kind = Math.floor(random() * 3);
    const handler =
      kind === 0
        ? () => returns
        : kind === 1
          ? () => {
              failuresToReport++;
              throw new Error('named throws');
            }
          : async () => {
              failuresToReport++;
              await Promise.resolve();
              throw new Error('named rejects');
            };
    hook(group, name, handler);
    registered.set(`${group}.${name}`, { handler, returns: kind === 0 ? returns : kind === 1 ? undefined : 'promise' });
  };

  const runNamed = (): void => {
    const group = pick(GROUPS);
    const name = pick(HOOK_NAMES);
    const enabled = isGroupEnabled(group);
    const entry = registered.get(`${group}.${name}`);
    const returned = runHook(group, name, 1, 2);
    if (!enabled || entry === undefined) {
      if (returned !== undefined) violate('runHook: returned something while disabled or unregistered');
    } else if (entry.returns === 'promise') {
      if (!(returned instanceof Promise)) violate('runHook: did not return the promise');
    } else if (returned !== entry.returns) {
      violate('runHook: returned something else');
    }
  };

  /** Runs `fn` in a random context: plain, a request scope with some groups, a withGroupsEnabled frame, both. */
  const inRandomContext = (fn: () => Promise<void>): Promise<void> => {
    switch (Math.floor(random() * 4)) {
      case 0:
        return fn();
      case 1:
        return withRequestScope(() => {
          for (const group of GROUPS) if (chance(0.3)) enableOnThisRequest(group);
          return fn();
        });
      case 2:
        return withGroupsEnabled(
          GROUPS.filter(() => chance(0.4)),
          fn,
        );
      default:
        return withRequestScope(() => {
          enableOnThisRequest(pick(GROUPS));
          return withGroupsEnabled(pick(GROUPS), fn);
        });
    }
  };

  for (let i = 0; i < ITERATIONS; i++) {
    const op = random();
    if (op < 0.2) hookOne();
    else if (op < 0.32) unhookOne();
    else if (op < 0.38) alwaysEnable(pick(GROUPS));
    else if (op < 0.44) disableByDefault(pick(GROUPS));
    else if (op < 0.48) registerNamed();
    else if (op < 0.56) {
      await inRandomContext(() => {
        runNamed();
        return Promise.resolve();
      });
    } else {
      const call = inRandomContext(callOne);
      // Most calls are awaited; some overlap with what follows.
      if (chance(0.8)) await call;
      else pending.push(call);
    }
  }
  await Promise.all(pending);

  // Let every later callback, thenable and rejection report settle.
  for (let i = 0; i < 10; i++) await nextTurn();
  expect(violations).to.deep.equal([]);
  expect(unhandled).to.deep.equal([]);
  for (const [id, count] of started) expect(ended.get(id), `hook ${id} completions`).to.equal(count);
  expect([...started.values()].reduce((a, b) => a + b, 0)).to.be.greaterThan(100);
  const reports = capture.warnings().filter((w) => w.startsWith('failed to run dynamic hook fuzz-'));
  expect(reports).to.have.length(failuresToReport);
  expect(failuresToReport).to.be.greaterThan(50);

  // Unhook everything, in random order: each property is the original again, own or inherited as it was.
  while (live.length > 0) unhookOne();
  targets.forEach((target, i) => {
    for (const key of KEYS) {
      expect(target[key], `target ${i}.${key}`).to.equal(originals[i].fns.get(key));
      expect(Object.prototype.hasOwnProperty.call(target, key), `target ${i}.${key} own`).to.equal(
        originals[i].own.get(key),
      );
    }
  });

  received = undefined;
}

describe('hardening: property fuzz of the core API (core)', function () {
  this.timeout(60_000);

  let capture: DiagCapture;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  beforeEach(() => {
    capture = new DiagCapture().install();
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
    capture.uninstall();
    for (const group of GROUPS) disableByDefault(group);
  });

  it(`holds the invariants over ${ITERATIONS} random operations (seed ${SEED.toString(16)})`, async () => {
    await fuzz(capture, unhandled);
    // Scopes the fuzz opened end when collected: every group is back on the dormant path.
    for (const group of GROUPS) disableByDefault(group);
    await releaseRequestScopes();
    for (const info of listGroups().filter((g) => GROUPS.includes(g.name))) {
      expect(info.enabledScopes, info.name).to.equal(0);
      expect(info.alwaysEnabled, info.name).to.equal(false);
      expect(info.hookedFunctions, info.name).to.deep.equal([]);
    }
  });
});
