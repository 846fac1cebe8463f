import { expect } from 'chai';
import { alwaysEnable, disableByDefault, hookFunction, listGroups } from '../../src';

/** Issue 9, item 6: a `hookFunction` that throws leaves nothing behind. */

let seq = 0;
function freshGroup(): string {
  return `core-failed-hook-${++seq}`;
}

class Service {
  calls = 0;
  greet(name: string): string {
    this.calls++;
    return `hello ${name}`;
  }
}

/** A Proxy that binds methods on read (a common way to make them safe to pass around). */
function bindingProxy<T extends object>(target: T): T {
  return new Proxy(target, {
    get(t, key, receiver) {
      const value: unknown = Reflect.get(t, key, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value;
    },
  });
}

describe('hardening: a failed hookFunction leaves nothing behind (core)', () => {
  const groups: string[] = [];
  afterEach(() => {
    for (const group of groups.splice(0)) disableByDefault(group);
  });
  function enabledGroup(): string {
    const group = freshGroup();
    groups.push(group);
    alwaysEnable(group);
    return group;
  }

  it('a Proxy parent that binds on read: throws, and the inherited method is as it was', () => {
    const service = new Service();
    const proxy = bindingProxy(service);
    const group = enabledGroup();
    let runs = 0;
    expect(() => hookFunction(group, proxy, 'greet', 1, { befores: [() => runs++] })).to.throw(
      TypeError,
      /parent\[greet\] cannot be replaced/,
    );
    expect(Object.prototype.hasOwnProperty.call(service, 'greet')).to.equal(false);
    expect(service.greet).to.equal(Service.prototype.greet);
    expect(proxy.greet('a')).to.equal('hello a');
    expect(service.greet('b')).to.equal('hello b');
    expect(runs).to.equal(0);
    expect(listGroups().find((g) => g.name === group)?.hookedFunctions ?? []).to.deep.equal([]);
  });

  it('a Proxy parent that binds on read: an own method is put back, the very same function', () => {
    const own = function (this: { calls: number }, name: string) {
      this.calls++;
      return `own ${name}`;
    };
    const target = { calls: 0, greet: own };
    const proxy = bindingProxy(target);
    const group = enabledGroup();
    let runs = 0;
    expect(() => hookFunction(group, proxy, 'greet', 1, { befores: [() => runs++] })).to.throw(TypeError);
    expect(target.greet).to.equal(own);
    expect(proxy.greet('x')).to.equal('own x');
    expect(runs).to.equal(0);
  });

  it('a setter that stores the wrapper, then throws: the kept wrapper runs no handler', () => {
    const group = enabledGroup();
    let kept: ((name: string) => string) | undefined;
    let current = function (name: string) {
      return `hi ${name}`;
    };
    const original = current;
    const parent = {
      get greet() {
        return current;
      },
      set greet(value: (name: string) => string) {
        kept = value;
        current = value;
        throw new Error('setter refuses');
      },
    };
    let runs = 0;
    expect(() => hookFunction(group, parent, 'greet', 1, { befores: [() => runs++], afters: [() => runs++] })).to.throw(
      TypeError,
      /cannot be replaced: setter refuses/,
    );
    expect(kept).to.be.a('function');
    expect(kept).to.not.equal(original);
    // The accessor is the one it was; the value it holds is the kept wrapper (the setter refused to take the
    // original back), which forwards without running a handler.
    expect(Object.getOwnPropertyDescriptor(parent, 'greet')?.get).to.be.a('function');
    expect(kept?.('a')).to.equal('hi a');
    expect(parent.greet('b')).to.equal('hi b');
    expect(runs).to.equal(0);
  });

  it('a later hookFunction on the same property skips the retired wrapper left behind', () => {
    const group = enabledGroup();
    let current = function (name: string) {
      return `hi ${name}`;
    };
    const original = current;
    let refuse = true;
    const parent = {
      get greet() {
        return current;
      },
      set greet(value: (name: string) => string) {
        current = value;
        if (refuse) throw new Error('setter refuses');
      },
    };
    expect(() => hookFunction(group, parent, 'greet', 1, {})).to.throw(TypeError);
    refuse = false;
    let runs = 0;
    const unhook = hookFunction(group, parent, 'greet', 1, { befores: [() => runs++] });
    expect(parent.greet('c')).to.equal('hi c');
    expect(runs).to.equal(1);
    unhook();
    expect(current).to.equal(original);
  });
});
