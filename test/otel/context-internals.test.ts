import { ROOT_CONTEXT, createContextKey } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { expect } from 'chai';
import { asyncHooksIdle, shortcutRootWhileIdle } from '../../src/otel/context-internals';
import { runScript } from '../helpers/run-node';

// Pins what src/otel/context-internals.ts relies on in the installed
// @opentelemetry/api and @opentelemetry/context-async-hooks, and on this
// Node line: if an upgrade changes it, this fails first.
const HAS_HOOKS = Number(process.versions.node.split('.')[0]) < 24;
const KEY = createContextKey('context-internals test');

describe('OpenTelemetry context internals the gates probe uses', () => {
  it('reads whether the manager switched its AsyncLocalStorage hooks on (Node 20, 22), and never on Node 24', () => {
    const manager = new AsyncLocalStorageContextManager();
    expect(asyncHooksIdle(manager)).to.equal(HAS_HOOKS);
    manager.with(ROOT_CONTEXT.setValue(KEY, 1), () => undefined);
    expect(asyncHooksIdle(manager)).to.equal(false);
    manager.disable();
    expect(asyncHooksIdle(manager)).to.equal(HAS_HOOKS);
    expect(asyncHooksIdle(undefined)).to.equal(false);
  });

  it('enters the root context without the hooks while they are off, and through the class once on', () => {
    const manager = new AsyncLocalStorageContextManager();
    shortcutRootWhileIdle(manager);
    shortcutRootWhileIdle(manager);
    const self = {};
    const seen: unknown[] = [];
    const result = manager.with(
      ROOT_CONTEXT,
      function (this: unknown, a: number, b: number) {
        seen.push(this, manager.active());
        return a + b;
      },
      self,
      2,
      3,
    );
    expect(result).to.equal(5);
    expect(seen).to.deep.equal([self, ROOT_CONTEXT]);
    expect(asyncHooksIdle(manager)).to.equal(HAS_HOOKS);

    const inner = ROOT_CONTEXT.setValue(KEY, 'inner');
    const nested = manager.with(inner, () => manager.with(ROOT_CONTEXT, () => manager.active().getValue(KEY)));
    expect(nested, 'the root context entered inside another').to.equal(undefined);
    expect(asyncHooksIdle(manager)).to.equal(false);
    manager.with(ROOT_CONTEXT, () => undefined);
    expect(Object.hasOwn(manager, 'with'), 'the shortcut, once the hooks are on').to.equal(false);
    expect(() =>
      manager.with(ROOT_CONTEXT, () => {
        throw new Error('from fn');
      }),
    ).to.throw('from fn');
    manager.disable();
  });

  it('finds the registered context manager in the API registry of a fresh process', async () => {
    const out = await runScript(`
      const { context } = require('@opentelemetry/api');
      const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
      const { contextRegistry } = require('./src/otel/context-internals');
      const before = contextRegistry()?.context === undefined;
      const manager = new AsyncLocalStorageContextManager().enable();
      context.setGlobalContextManager(manager);
      const registry = contextRegistry();
      const found = registry.context === manager;
      const stand = { active: () => 'stand-in', with: (c, fn) => fn(), bind: (c, t) => t, enable() { return this; }, disable() { return this; } };
      registry.context = stand;
      const swapped = context.active() === 'stand-in';
      registry.context = manager;
      console.log(JSON.stringify({ before, found, swapped, restored: context.active() !== 'stand-in' }));
    `);
    expect(JSON.parse(out)).to.deep.equal({ before: true, found: true, swapped: true, restored: true });
  });
});
