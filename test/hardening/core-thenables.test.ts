import { expect } from 'chai';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { alwaysEnable, disableByDefault, hookFunction, type HookMode } from '../../src';
import { DiagCapture } from '../helpers/diag-capture';

/** Issue 9, item 5: whatever `then` does, the host's result reaches the caller untouched. */

let seq = 0;
function freshGroup(): string {
  return `core-thenables-${++seq}`;
}

interface Observed {
  afters: unknown[];
  errors: unknown[];
}

/** Hooks `holder.f` (which returns `result`) in `mode`, enabled, and records what the handlers saw. */
function hookReturning(result: unknown, mode: HookMode): { call: () => unknown; observed: Observed; holder: object } {
  const group = freshGroup();
  const holder = {
    f(): unknown {
      return result;
    },
  };
  const observed: Observed = { afters: [], errors: [] };
  hookFunction(
    group,
    holder,
    'f',
    0,
    { afters: [(value) => observed.afters.push(value)], errors: [(error) => observed.errors.push(error)] },
    { mode },
  );
  alwaysEnable(group);
  after(() => {
    disableByDefault(group);
  });
  return { call: () => holder.f(), observed, holder };
}

describe('hardening: thenables and then that throws (core)', () => {
  let capture: DiagCapture;
  beforeEach(() => (capture = new DiagCapture().install()));
  afterEach(() => capture.uninstall());

  it('promise mode: a thenable whose then throws is returned untouched; the call ends with the errors', async () => {
    const failure = new Error('then throws');
    const thenable = {
      then() {
        throw failure;
      },
    };
    const { call, observed } = hookReturning(thenable, 'promise');
    expect(call()).to.equal(thenable);
    await nextTurn();
    expect(observed).to.deep.equal({ afters: [], errors: [failure] });
    // What a caller awaiting it sees, too.
    let awaited: unknown;
    await Promise.resolve(thenable).catch((error: unknown) => (awaited = error));
    expect(awaited).to.equal(failure);
  });

  it('promise mode: a thenable whose then getter throws is returned untouched', async () => {
    const failure = new Error('then getter throws');
    const thenable = {
      get then(): unknown {
        throw failure;
      },
    };
    const { call, observed } = hookReturning(thenable, 'promise');
    expect(call()).to.equal(thenable);
    await nextTurn();
    expect(observed).to.deep.equal({ afters: [], errors: [failure] });
  });

  it('promise mode: a thenable that calls back both ways, twice, then throws ends the call once', async () => {
    const thenable = {
      then(resolve: (v: unknown) => void, reject: (e: unknown) => void) {
        resolve('first');
        reject(new Error('late'));
        resolve('again');
        throw new Error('after calling back');
      },
    };
    const { call, observed } = hookReturning(thenable, 'promise');
    expect(call()).to.equal(thenable);
    await nextTurn();
    expect(observed).to.deep.equal({ afters: ['first'], errors: [] });
  });

  it('promise mode: a thenable that settles later ends the call with its value', async () => {
    const thenable = {
      then(resolve: (v: unknown) => void) {
        setImmediate(() => {
          resolve('later');
        });
      },
    };
    const { call, observed } = hookReturning(thenable, 'promise');
    expect(call()).to.equal(thenable);
    await nextTurn();
    await nextTurn();
    expect(observed.afters).to.deep.equal(['later']);
  });

  for (const mode of ['auto', 'promise', 'callback'] as const) {
    it(`${mode} mode: a native promise whose own then throws is returned untouched and observed as it settles`, async () => {
      const promise = Promise.resolve('value');
      Reflect.defineProperty(promise, 'then', {
        value() {
          throw new Error('own then throws');
        },
      });
      const { call, observed } = hookReturning(promise, mode);
      expect(call()).to.equal(promise);
      await nextTurn();
      expect(observed).to.deep.equal({ afters: ['value'], errors: [] });
    });

    it(`${mode} mode: a native promise whose own then getter throws is returned untouched`, async () => {
      const failure = new Error('rejected');
      const promise = Promise.reject(failure);
      Reflect.defineProperty(promise, 'then', {
        get() {
          throw new Error('then getter throws');
        },
      });
      const { call, observed } = hookReturning(promise, mode);
      expect(call()).to.equal(promise);
      await nextTurn();
      expect(observed).to.deep.equal({ afters: [], errors: [failure] });
    });

    it(`${mode} mode: a native promise whose constructor getter throws is returned untouched`, async () => {
      const failure = new Error('constructor getter throws');
      const promise = Promise.resolve('value');
      Reflect.defineProperty(promise, 'constructor', {
        get() {
          throw failure;
        },
      });
      const { call, observed } = hookReturning(promise, mode);
      expect(call()).to.equal(promise);
      await nextTurn();
      expect(observed).to.deep.equal({ afters: [], errors: [failure] });
    });
  }

  it('auto mode: a thenable is a plain value; its then is never called', () => {
    let thenCalls = 0;
    const thenable = {
      get then(): unknown {
        thenCalls++;
        throw new Error('then getter throws');
      },
    };
    const { call, observed } = hookReturning(thenable, 'auto');
    expect(call()).to.equal(thenable);
    expect(thenCalls).to.equal(0);
    expect(observed.afters).to.deep.equal([thenable]);
  });

  it('reports nothing: observing a result is not a handler failure', async () => {
    const { call } = hookReturning(
      {
        then() {
          throw new Error('then throws');
        },
      },
      'promise',
    );
    call();
    await nextTurn();
    expect(capture.warnings()).to.deep.equal([]);
  });
});
