// Pins what src/patching/otel-internals.ts reads of @opentelemetry/instrumentation
// beyond its documented API, for the installed version: an upgrade that
// changes it fails here, in one place, not across the instrumentations.
import { expect } from 'chai';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  type InstrumentationModuleDefinition,
} from '@opentelemetry/instrumentation';
import {
  isShimmerWrapped,
  ownModuleDefinitions,
  shimmerOriginal,
  wrapperChainIncludes,
} from '../../src/patching/otel-internals';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('@opentelemetry/instrumentation/package.json') as { version: string };

/** The versions whose internals this file has checked (the package's dependency range). */
const SUPPORTED = /^0\.2\d\d\.\d+$/;

type Target = { run: (n: number) => number };

class Probe extends InstrumentationBase {
  readonly unpatched: unknown[] = [];

  constructor() {
    super('dynamic-hooks-pinned-probe', '0.0.0', { enabled: false });
  }

  protected init(): InstrumentationModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        'dynamic-hooks-no-such-module',
        ['*'],
        (exports: unknown) => exports,
        (exports: unknown) => {
          this.unpatched.push(exports);
        },
      ),
    ];
  }

  wrapTwice(target: Target): void {
    this._wrap(target, 'run', (original) => (n: number) => original(n) + 1);
    this._wrap(target, 'run', (original) => (n: number) => original(n) * 10);
  }
}

describe(`@opentelemetry/instrumentation ${version}: the internals dynamic-hooks reads`, () => {
  it('is a version this file checked', () => {
    expect(version).to.match(SUPPORTED);
  });

  it('keeps its own module definitions in _modules: disable() unpatches the moduleExports set there', () => {
    const probe = new Probe();
    const definitions = ownModuleDefinitions(probe);
    expect(definitions).to.have.length(1);
    expect(ownModuleDefinitions(probe)[0], 'the same objects, not copies').to.equal(definitions[0]);
    expect(probe.getModuleDefinitions()[0], 'getModuleDefinitions() returns copies').to.not.equal(definitions[0]);
    const exports = { loaded: true };
    probe.enable();
    definitions[0].moduleExports = exports;
    probe.disable();
    expect(probe.unpatched).to.deep.equal([exports]);
  });

  it("marks shimmer's wrappers with __wrapped and __original, and _wrap replaces a marked wrapper", () => {
    const original = (n: number): number => n;
    const ours = Object.assign((n: number) => original(n), { ours: true });
    const target: Target = { run: ours };
    expect(isShimmerWrapped(target.run)).to.equal(false);
    new Probe().wrapTwice(target);
    expect(isShimmerWrapped(target.run)).to.equal(true);
    // The second _wrap unwrapped the first (why TimingInstrumentation leaves its own wrapper unmarked).
    expect(target.run(1)).to.equal(10);
    expect(shimmerOriginal(target.run)).to.equal(ours);
    expect(wrapperChainIncludes(target.run, (fn) => (fn as { ours?: boolean }).ours === true)).to.equal(true);
    expect(wrapperChainIncludes(target.run, (fn) => fn === original)).to.equal(false);
  });
});
