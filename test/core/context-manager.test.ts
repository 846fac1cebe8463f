import { expect } from 'chai';
import { runNode, runScript } from '../helpers/run-node';

// Each case runs in a fresh process: the OTel context manager is process-wide.
describe('context manager', () => {
  it('installs the AsyncLocalStorage manager when the application registered none', async () => {
    const out = await runScript(`
      const { withRequestScope, enableOnThisRequest, isGroupEnabled } = require('./src');
      withRequestScope(async () => {
        enableOnThisRequest('g');
        await new Promise((r) => setTimeout(r, 5));
        console.log(JSON.stringify({ inside: isGroupEnabled('g') }));
      }).then(() => console.log(JSON.stringify({ outside: isGroupEnabled('g') })));
    `);
    expect(
      out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).to.deep.equal([{ inside: true }, { outside: false }]);
  });

  it('keeps the manager the application registered', async () => {
    const out = await runScript(`
      const { context } = require('@opentelemetry/api');
      const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
      let calls = 0;
      class AppManager extends AsyncLocalStorageContextManager {
        with(...args) { calls++; return super.with(...args); }
      }
      context.setGlobalContextManager(new AppManager().enable());
      const { withRequestScope, enableOnThisRequest, isGroupEnabled } = require('./src');
      withRequestScope(async () => {
        enableOnThisRequest('g');
        await new Promise((r) => setTimeout(r, 5));
        console.log(JSON.stringify({ inside: isGroupEnabled('g'), appManagerUsed: calls > 0 }));
      });
    `);
    expect(JSON.parse(out)).to.deep.equal({ inside: true, appManagerUsed: true });
  });

  it('checks again when the application registers another manager, which does not propagate', async () => {
    const out = await runScript(`
      const { context, diag, ROOT_CONTEXT, DiagLogLevel } = require('@opentelemetry/api');
      const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
      const warnings = [];
      const ignore = () => undefined;
      diag.setLogger({ warn: (m) => warnings.push(m), error: ignore, info: ignore, debug: ignore, verbose: ignore }, DiagLogLevel.WARN);
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      const { withRequestScope, isGroupEnabled, enableOnThisRequest } = require('./src');
      withRequestScope(() => enableOnThisRequest('g'));
      context.disable();
      const inert = {
        active: () => ROOT_CONTEXT,
        with: (_ctx, fn, thisArg, ...args) => fn.call(thisArg, ...args),
        bind: (_ctx, target) => target,
        enable() { return this; },
        disable() { return this; },
      };
      context.setGlobalContextManager(inert);
      withRequestScope(() => undefined);
      console.log(JSON.stringify({ warned: warnings.some((w) => w.includes('does not propagate')) }));
    `);
    expect(JSON.parse(out)).to.deep.equal({ warned: true });
  });

  it('reads contexts from a manager registered after the first one was proven, not from the first', async () => {
    const out = await runScript(`
      const { context } = require('@opentelemetry/api');
      const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
      class Counting extends AsyncLocalStorageContextManager {
        calls = 0;
        active() { this.calls++; return super.active(); }
        with(...args) { this.calls++; return super.with(...args); }
      }
      const first = new Counting().enable();
      context.setGlobalContextManager(first);
      const { withRequestScope, isGroupEnabled, enableOnThisRequest } = require('./src');
      withRequestScope(() => enableOnThisRequest('g'));
      context.disable();
      const second = new Counting().enable();
      context.setGlobalContextManager(second);
      const firstCalls = first.calls;
      const inside = withRequestScope(() => {
        enableOnThisRequest('g');
        return isGroupEnabled('g');
      });
      console.log(JSON.stringify({ inside, firstUsedAgain: first.calls > firstCalls, secondUsed: second.calls > 0 }));
    `);
    expect(JSON.parse(out)).to.deep.equal({ inside: true, firstUsedAgain: false, secondUsed: true });
  });

  it("calls the manager directly once an instrumentation's context.with shows that it propagates", async () => {
    const out = await runScript(`
      const { context, createContextKey, ROOT_CONTEXT } = require('@opentelemetry/api');
      const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
      const { activeContext, contextManagerProven } = require('./src/core/context-manager');
      const key = createContextKey('k');
      const manager = new AsyncLocalStorageContextManager().enable();
      context.setGlobalContextManager(manager);
      const atStart = contextManagerProven();
      activeContext();
      const afterRoot = contextManagerProven();
      // What an HTTP server instrumentation does around every request.
      const ctx = ROOT_CONTEXT.setValue(key, 'request');
      const inside = context.with(ctx, () => activeContext() === ctx);
      const afterWith = contextManagerProven();
      const later = context.with(ROOT_CONTEXT.setValue(key, 'next'), () => activeContext().getValue(key));
      console.log(JSON.stringify({ atStart, afterRoot, inside, afterWith, later }));
    `);
    expect(JSON.parse(out)).to.deep.equal({
      atStart: false,
      afterRoot: false,
      inside: true,
      afterWith: true,
      later: 'next',
    });
  });

  it('works under the OpenTelemetry NodeSDK registered after the library was loaded', async () => {
    const out = await runScript(`
      const { withRequestScope, enableOnThisRequest, isGroupEnabled } = require('./src');
      const { NodeSDK } = require('@opentelemetry/sdk-node');
      const sdk = new NodeSDK({ traceExporter: undefined, instrumentations: [] });
      sdk.start();
      withRequestScope(async () => {
        enableOnThisRequest('g');
        await new Promise((r) => setTimeout(r, 5));
        console.log(JSON.stringify({ inside: isGroupEnabled('g') }));
      }).then(() => sdk.shutdown());
    `);
    expect(JSON.parse(out)).to.deep.equal({ inside: true });
  });
});

describe('DYNAMIC_HOOKS_ENABLED_GROUPS', () => {
  it('enables the listed groups for every request at start', async () => {
    const out = await runNode(
      [
        '--require',
        'tsx',
        '-e',
        `const { isGroupEnabled, listGroups } = require('./src');
         console.log(JSON.stringify({
           timing: isGroupEnabled('timing'),
           mine: isGroupEnabled('my_group'),
           other: isGroupEnabled('other'),
           always: listGroups().filter((g) => g.alwaysEnabled).map((g) => g.name),
         }));`,
      ],
      undefined,
      { DYNAMIC_HOOKS_ENABLED_GROUPS: ' timing, my_group ,' },
    );
    expect(JSON.parse(out)).to.deep.equal({ timing: true, mine: true, other: false, always: ['timing', 'my_group'] });
  });
});
