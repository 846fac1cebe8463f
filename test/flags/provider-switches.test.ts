import { OpenFeature, TypedInMemoryProvider } from '@openfeature/server-sdk';
import { FlagdProvider } from '@openfeature/flagd-provider';
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debugRulesFromFlags, listGroups, type DebugRules } from '../../src';
import { close, listen, send } from '../helpers/http';
import { eventually, timingHarness } from '../helpers/timing-harness';

type Flags = ConstructorParameters<typeof TypedInMemoryProvider>[0];

function flag(on: boolean): NonNullable<Flags>[string] {
  return { variants: { on: true, off: false }, defaultVariant: on ? 'on' : 'off', disabled: false };
}

describe('process-wide switches from an OpenFeature provider', () => {
  const harness = timingHarness();
  let server: http.Server;
  let base: string;
  let rules: DebugRules | undefined;

  before(async () => {
    server = http.createServer((_req, res) => res.end('ok'));
    base = await listen(server);
  });
  after(async () => {
    await close(server);
    await OpenFeature.clearProviders();
  });
  beforeEach(() => {
    harness.configure({ token: 'provider-test-token' });
    harness.reset();
  });
  afterEach(() => {
    rules?.close();
    rules = undefined;
  });

  it('switches a group by a static flag, and again on configuration changes', async () => {
    const provider = new TypedInMemoryProvider({ 'dynamic-hooks.provider_group': flag(true) });
    rules = debugRulesFromFlags({ provider, groups: ['provider_group'] });
    expect(rules.source).to.equal('OpenFeature provider in-memory');
    await eventually(() => groupInfo('provider_group')?.alwaysEnabled === true, 3000);
    provider.putConfiguration({ 'dynamic-hooks.provider_group': flag(false) });
    await eventually(() => groupInfo('provider_group')?.alwaysEnabled === false, 3000);
  });

  it('never switches a group on for a flag that resolves by targeting', async () => {
    const provider = new TypedInMemoryProvider({
      'dynamic-hooks.provider_group': {
        ...flag(true),
        contextEvaluator: () => 'on',
      },
      'dynamic-hooks.provider_other': flag(true),
    });
    rules = debugRulesFromFlags({ provider, groups: ['provider_group', 'provider_other'] });
    // Evaluated together: once the static one is switched, the targeted one was seen.
    await eventually(() => groupInfo('provider_other')?.alwaysEnabled === true, 3000);
    await rules.settled();
    expect(groupInfo('provider_group')?.alwaysEnabled ?? false).to.equal(false);
  });

  it('switches a group from the flagd provider, in process on a flag file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dh-flagd-provider-'));
    const file = join(dir, 'flags.json');
    const variants = { on: true, off: false };
    writeFileSync(
      file,
      JSON.stringify({
        flags: {
          'dynamic-hooks.provider_group': { state: 'ENABLED', variants, defaultVariant: 'on' },
          'dynamic-hooks.provider_other': {
            state: 'ENABLED',
            variants,
            defaultVariant: 'off',
            targeting: { if: [{ '==': [{ var: 'path' }, '/x'] }, 'on', null] },
          },
        },
      }),
    );
    try {
      const provider = new FlagdProvider({ resolverType: 'in-process', offlineFlagSourcePath: file });
      rules = debugRulesFromFlags({ provider, groups: ['provider_group', 'provider_other'] });
      await eventually(() => groupInfo('provider_group')?.alwaysEnabled === true, 5000);
      await rules.settled();
      // Targeting (reason DEFAULT here): never process-wide.
      expect(groupInfo('provider_other')?.alwaysEnabled ?? false).to.equal(false);
    } finally {
      // Its file watch would keep the process alive: closing the providers stops it.
      await OpenFeature.clearProviders();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('makes every request a log-only debug request with timing on', async () => {
    const provider = new TypedInMemoryProvider({ 'dynamic-hooks.timing': flag(true) });
    rules = debugRulesFromFlags({ provider });
    await eventually(() => groupInfo('flags:rules')?.alwaysEnabled === true, 3000);
    const reply = await send(`${base}/`);
    expect(reply.headers).to.not.have.property('x-request-debug-output');
    await eventually(() => harness.logLines.some((line) => line.startsWith('[request-debug]')), 3000);
  });
});

function groupInfo(name: string): ReturnType<typeof listGroups>[number] | undefined {
  return listGroups().find((group) => group.name === name);
}
