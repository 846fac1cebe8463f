import { context, type Context } from '@opentelemetry/api';
import { expect } from 'chai';
import { EventEmitter, once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  alwaysEnable,
  disableByDefault,
  enableByDefault,
  enableOnThisRequest,
  hook,
  hookFunction,
  isGroupEnabled,
  listGroups,
  runHook,
  withGroupsEnabled,
  withRequestScope,
} from '../../src';
import { collectGarbage } from '../helpers/scopes';

let seq = 0;
function freshGroup(): string {
  return `scope-test-${++seq}`;
}

function enabledScopes(group: string): number | undefined {
  return listGroups().find((g) => g.name === group)?.enabledScopes;
}

describe('request scopes', () => {
  describe('enableOnThisRequest', () => {
    it('enables the group for the rest of the request, across awaits, timers, callbacks and emitters', async () => {
      const group = freshGroup();
      const seen: string[] = [];
      await withRequestScope(async () => {
        expect(isGroupEnabled(group)).to.equal(false);
        enableOnThisRequest(group);
        seen.push(`sync ${isGroupEnabled(group)}`);
        await sleep(1);
        seen.push(`await ${isGroupEnabled(group)}`);
        await new Promise<void>((resolve) =>
          setTimeout(() => {
            seen.push(`timer ${isGroupEnabled(group)}`);
            resolve();
          }, 1),
        );
        await new Promise<void>((resolve) =>
          setImmediate(() => {
            seen.push(`immediate ${isGroupEnabled(group)}`);
            resolve();
          }),
        );
        await new Promise<void>((resolve) =>
          process.nextTick(() => {
            seen.push(`nextTick ${isGroupEnabled(group)}`);
            resolve();
          }),
        );
        const emitter = new EventEmitter();
        emitter.on('event', () => seen.push(`emitter ${isGroupEnabled(group)}`));
        emitter.emit('event');
        await new Promise<void>((resolve) => queueMicrotask(() => resolve()));
        seen.push(`microtask ${isGroupEnabled(group)}`);
      });
      expect(seen).to.deep.equal([
        'sync true',
        'await true',
        'timer true',
        'immediate true',
        'nextTick true',
        'emitter true',
        'microtask true',
      ]);
      expect(isGroupEnabled(group)).to.equal(false);
    });

    it('is seen by continuations that outlive the scope function', async () => {
      const group = freshGroup();
      let later: boolean | undefined;
      const done = new EventEmitter();
      withRequestScope(() => {
        enableOnThisRequest(group);
        setTimeout(() => {
          later = isGroupEnabled(group);
          done.emit('done');
        }, 5);
      });
      expect(isGroupEnabled(group)).to.equal(false);
      await once(done, 'done');
      expect(later).to.equal(true);
    });

    it('throws an Error that says how to open a scope when called outside one', () => {
      expect(() => enableOnThisRequest(freshGroup())).to.throw(Error, /outside a request scope.*withRequestScope/);
    });

    it('rejects a bad group name with a TypeError', () => {
      withRequestScope(() => {
        expect(() => enableOnThisRequest('')).to.throw(TypeError, /group/);
      });
    });

    it('does not leak into a nested fresh request scope', () => {
      const group = freshGroup();
      withRequestScope(() => {
        enableOnThisRequest(group);
        withRequestScope(() => {
          expect(isGroupEnabled(group)).to.equal(false);
        });
        expect(isGroupEnabled(group)).to.equal(true);
      });
    });

    it('returns what the scope function returns, and lets its errors through', async () => {
      expect(withRequestScope(() => 42)).to.equal(42);
      expect(await withRequestScope(() => Promise.resolve('p'))).to.equal('p');
      const failure = new Error('inside');
      expect(() =>
        withRequestScope(() => {
          throw failure;
        }),
      ).to.throw(failure);
      expect(() => withRequestScope(5 as never)).to.throw(TypeError, /fn must be a function/);
    });

    it('sends hooked functions back to the dormant path once the scope is collected', async () => {
      const group = freshGroup();
      const holder = { f: () => 1 };
      hookFunction(group, holder, 'f', 0, {});
      let requestContext: Context | undefined = await withRequestScope(async () => {
        enableOnThisRequest(group);
        enableOnThisRequest(group);
        await sleep(1);
        return context.active();
      });
      await collectGarbage();
      expect(enabledScopes(group), 'while the context is reachable').to.equal(1);
      expect(context.with(requestContext, () => isGroupEnabled(group))).to.equal(true);
      // Dropping the last reference is the point: the scope becomes collectable.
      // eslint-disable-next-line no-useless-assignment
      requestContext = undefined;
      await collectGarbage();
      expect(enabledScopes(group), 'once it is collected').to.equal(0);
    });
  });

  describe('1,000 concurrent request scopes', () => {
    it('fire each hook exactly in the scopes that enabled its group', async () => {
      const group = freshGroup();
      const fired = new Map<number, string[]>();
      const holder = {
        work(id: number, step: string) {
          return `${id}:${step}`;
        },
      };
      hookFunction(group, holder, 'work', 2, {
        befores: [
          (id, step) => {
            const list = fired.get(id) ?? [];
            list.push(step);
            fired.set(id, list);
          },
        ],
      });
      hook(group, 'event', (id: number) => {
        const list = fired.get(id) ?? [];
        list.push('runHook');
        fired.set(id, list);
      });
      const random = (n: number) => Math.floor(Math.random() * n);
      const enabled = new Set<number>();
      const requests = Array.from({ length: 1000 }, (_, id) =>
        withRequestScope(async () => {
          await sleep(random(3));
          if (id % 2 === 0) {
            enableOnThisRequest(group);
            enabled.add(id);
          }
          holder.work(id, 'sync');
          await sleep(random(5));
          holder.work(id, 'await');
          await new Promise<void>((resolve) =>
            setTimeout(() => {
              holder.work(id, 'timer');
              resolve();
            }, random(5)),
          );
          await new Promise<void>((resolve) =>
            setImmediate(() => {
              holder.work(id, 'callback');
              runHook(group, 'event', id);
              resolve();
            }),
          );
          expect(isGroupEnabled(group)).to.equal(id % 2 === 0);
        }),
      );
      await Promise.all(requests);
      expect(enabled.size).to.equal(500);
      for (let id = 0; id < 1000; id++) {
        if (id % 2 === 0)
          expect(fired.get(id), `request ${id}`).to.deep.equal(['sync', 'await', 'timer', 'callback', 'runHook']);
        else expect(fired.has(id), `request ${id}`).to.equal(false);
      }
    });
  });

  describe('withGroupsEnabled', () => {
    it('enables the groups inside fn and its continuations, and leaks nothing outside', async () => {
      const a = freshGroup();
      const b = freshGroup();
      const inside: boolean[] = [];
      let pending: Promise<void> | undefined;
      const result = withGroupsEnabled([a, b], () => {
        inside.push(isGroupEnabled(a), isGroupEnabled(b));
        pending = sleep(2).then(() => {
          inside.push(isGroupEnabled(a), isGroupEnabled(b));
        });
        return 'result';
      });
      expect(result).to.equal('result');
      expect(isGroupEnabled(a)).to.equal(false);
      expect(isGroupEnabled(b)).to.equal(false);
      await pending;
      expect(inside).to.deep.equal([true, true, true, true]);
      expect(isGroupEnabled(a)).to.equal(false);
    });

    it('accepts a single group name, and nests', () => {
      const a = freshGroup();
      const b = freshGroup();
      withGroupsEnabled(a, () => {
        withGroupsEnabled([b], () => {
          expect([isGroupEnabled(a), isGroupEnabled(b)]).to.deep.equal([true, true]);
        });
        expect([isGroupEnabled(a), isGroupEnabled(b)]).to.deep.equal([true, false]);
      });
    });

    it('does not touch the enclosing request scope', () => {
      const a = freshGroup();
      const b = freshGroup();
      withRequestScope(() => {
        withGroupsEnabled([a], () => {
          enableOnThisRequest(b);
          expect(isGroupEnabled(a)).to.equal(true);
        });
        expect(isGroupEnabled(a)).to.equal(false);
        expect(isGroupEnabled(b)).to.equal(true);
      });
    });

    it('rejects bad input with a TypeError naming the argument', () => {
      expect(() => withGroupsEnabled(5 as never, () => 0)).to.throw(TypeError, /groups/);
      expect(() => withGroupsEnabled(['ok', ''], () => 0)).to.throw(TypeError, /groups\[1\]/);
      expect(() => withGroupsEnabled(['ok'], null as never)).to.throw(TypeError, /fn/);
    });
  });

  describe('alwaysEnable and disableByDefault', () => {
    it('take effect on the next call, at runtime, for every context', async () => {
      const group = freshGroup();
      let runs = 0;
      const holder = { f: () => 0 };
      hookFunction(group, holder, 'f', 0, { befores: [() => runs++] });
      holder.f();
      alwaysEnable(group);
      holder.f();
      await withRequestScope(async () => {
        await sleep(1);
        holder.f();
        expect(isGroupEnabled(group)).to.equal(true);
      });
      disableByDefault(group);
      holder.f();
      expect(runs).to.equal(2);
      expect(isGroupEnabled(group)).to.equal(false);
    });

    it('enableByDefault is an alias of alwaysEnable', () => {
      expect(enableByDefault).to.equal(alwaysEnable);
      const group = freshGroup();
      enableByDefault(group);
      expect(isGroupEnabled(group)).to.equal(true);
      expect(listGroups().find((g) => g.name === group)?.alwaysEnabled).to.equal(true);
      disableByDefault(group);
      expect(isGroupEnabled(group)).to.equal(false);
    });

    it('disableByDefault keeps the group for requests that enabled it', () => {
      const group = freshGroup();
      alwaysEnable(group);
      withRequestScope(() => {
        enableOnThisRequest(group);
        disableByDefault(group);
        expect(isGroupEnabled(group)).to.equal(true);
      });
      expect(isGroupEnabled(group)).to.equal(false);
    });

    it('reject a bad group name', () => {
      expect(() => alwaysEnable('')).to.throw(TypeError, /group/);
      expect(() => disableByDefault(null as never)).to.throw(TypeError, /group/);
    });
  });
});
