import { expect } from 'chai';
import { AsyncResource } from 'node:async_hooks';
import { context, createContextKey, ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { activeContext, contextReadsCounted, runInContext } from '../../src/core/context-manager';
import { contextRegistry } from '../../src/patching/otel-internals';
import { runScript } from '../helpers/run-node';

const KEY = createContextKey('dynamic-hooks context reads test');
const named = (name: string): Context => ROOT_CONTEXT.setValue(KEY, name);
/** The name of the active context, as the library reads it. */
const nameOf = (): string => (activeContext().getValue(KEY) as string | undefined) ?? 'root';

interface CountedManager {
  readonly _asyncLocalStorage: { exit(callback: () => void): void };
  attach?(ctx: Context): { dispose(): void };
}

describe('activeContext: the context reads the library counts instead of repeating', () => {
  before(() => {
    // Installs a manager if there is none (the first call), then proves it, as the first requests do.
    runInContext(named('install'), () => undefined);
    runInContext(named('prove'), () => undefined);
  });

  it('counts them where the storage keeps its store on async resources (Node 20 and 22), not on Node 24', () => {
    const major = Number(process.versions.node.split('.')[0]);
    expect(contextReadsCounted()).to.equal(major < 24);
  });

  it('leaves alone a manager of another class (a subclass may read more than the store)', async () => {
    const counted = (manager: string): Promise<string> =>
      runScript(`
        const { context, createContextKey, ROOT_CONTEXT } = require('@opentelemetry/api');
        const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
        const { contextReadsCounted, runInContext } = require('./src/core/context-manager');
        class Mine extends AsyncLocalStorageContextManager {}
        context.setGlobalContextManager(new ${manager}().enable());
        runInContext(ROOT_CONTEXT.setValue(createContextKey('k'), 1), () => undefined);
        console.log(contextReadsCounted());`);
    const major = Number(process.versions.node.split('.')[0]);
    expect((await counted('AsyncLocalStorageContextManager')).trim()).to.equal(String(major < 24));
    expect((await counted('Mine')).trim()).to.equal('false');
  });

  it('answers each context of nested and bound calls, before and after each returns', () => {
    const seen: string[] = [];
    context.with(named('a'), () => {
      seen.push(nameOf(), nameOf());
      context.with(named('b'), () => {
        seen.push(nameOf());
        context.with(named('c'), () => seen.push(nameOf()));
        seen.push(nameOf());
      });
      seen.push(nameOf());
      const bound = context.bind(named('d'), () => nameOf());
      seen.push(bound(), nameOf());
      runInContext(named('e'), () => seen.push(nameOf()));
      seen.push(nameOf());
    });
    seen.push(nameOf());
    expect(seen).to.deep.equal(['a', 'a', 'b', 'c', 'b', 'a', 'd', 'a', 'e', 'a', 'root']);
  });

  it('answers the context of each execution: a resource run inside, interleaved timers and promises', async () => {
    const resource = context.with(named('r'), () => new AsyncResource('dynamic-hooks-test'));
    const inside = context.with(named('a'), () => {
      const before = nameOf();
      const during = resource.runInAsyncScope(() => nameOf());
      return [before, during, nameOf()];
    });
    expect(inside).to.deep.equal(['a', 'r', 'a']);

    const reads = (name: string): Promise<string[]> =>
      context.with(named(name), async () => {
        const out: string[] = [];
        for (let i = 0; i < 5; i++) {
          out.push(nameOf(), nameOf());
          await new Promise((resolve) => setImmediate(resolve));
          out.push(nameOf());
          await Promise.resolve();
          out.push(nameOf());
        }
        return out;
      });
    const [x, y] = await Promise.all([reads('x'), reads('y')]);
    expect(new Set(x)).to.deep.equal(new Set(['x']));
    expect(new Set(y)).to.deep.equal(new Set(['y']));
  });

  it('follows the storage changed without a run: exit, and enterWith through attach', () => {
    const manager = contextRegistry()?.context as unknown as CountedManager;
    const seen: string[] = [];
    context.with(named('a'), () => {
      seen.push(nameOf());
      manager._asyncLocalStorage.exit(() => seen.push(nameOf()));
      seen.push(nameOf());
      if (typeof manager.attach !== 'function') return;
      context.with(named('b'), () => {
        seen.push(nameOf());
        const token = (manager.attach as (ctx: Context) => { dispose(): void })(named('attached'));
        seen.push(nameOf());
        token.dispose();
        seen.push(nameOf());
      });
    });
    const expected = ['a', 'root', 'a'];
    if (typeof manager.attach === 'function') expected.push('b', 'attached', 'b');
    expect(seen).to.deep.equal(expected);
  });

  it('holds no context once the outermost call with one returns', async function () {
    const collect = globalThis.gc;
    if (collect === undefined) this.skip();
    const ref = ((): WeakRef<Context> => {
      const ctx = named('gone');
      context.with(ctx, () => {
        nameOf();
        nameOf();
      });
      return new WeakRef(ctx);
    })();
    await new Promise((resolve) => setImmediate(resolve));
    collect();
    expect(ref.deref()).to.equal(undefined);
  });
});
