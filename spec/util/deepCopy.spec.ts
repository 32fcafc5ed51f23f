import { deepCopy } from '../../src/util/deepCopy.js';

describe('deepCopy', () => {
  it('copies plain objects and arrays all the way down, sharing nothing', () => {
    const value = { id: 'c1', rev: 3, ops: [{ op: 'add', path: '/a', value: { list: [1, 'two', null, true] } }], meta: undefined };
    const copy = deepCopy(value);
    expect(copy).toStrictEqual(value);
    expect(copy).not.toBe(value);
    expect(copy.ops).not.toBe(value.ops);
    expect(copy.ops[0].value).not.toBe(value.ops[0].value);
    expect(copy.ops[0].value.list).not.toBe(value.ops[0].value.list);
    copy.ops[0].value.list.push(5);
    expect(value.ops[0].value.list).toHaveLength(4);
  });

  it('returns primitives as they are', () => {
    for (const value of [0, -1.5, 'text', true, null, undefined, 10n]) expect(deepCopy(value)).toBe(value);
  });

  it('keeps an own "__proto__" key as a key, with the prototype untouched', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    const copy = deepCopy(value);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(['__proto__', 'a']);
    expect((copy as { polluted?: boolean }).polluted).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value).toEqual({ polluted: true });
  });

  it('copies what is not a plain value as structuredClone does', () => {
    const when = new Date(5);
    const copy = deepCopy({ when, map: new Map([['k', [1]]]) });
    // structuredClone makes it in Node's own realm, not jest's: check the kind, not the constructor.
    expect(Object.prototype.toString.call(copy.when)).toBe('[object Date]');
    expect(copy.when).not.toBe(when);
    expect(copy.when.getTime()).toBe(5);
    expect(copy.map.get('k')).toEqual([1]);
  });

  it('gives an object with a null prototype back as a plain object', () => {
    const value = Object.assign(Object.create(null) as Record<string, number>, { a: 1 });
    const copy = deepCopy(value);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(copy).toEqual({ a: 1 });
  });

  it('throws structuredClone\'s DataCloneError for a function or a symbol, however deep', () => {
    expect(() => deepCopy({ ops: [{ value: () => 1 }] })).toThrow(expect.objectContaining({ name: 'DataCloneError' }));
    expect(() => deepCopy([Symbol('s')])).toThrow(expect.objectContaining({ name: 'DataCloneError' }));
  });

  it('copes with a cycle (handed to structuredClone past its depth limit)', () => {
    const value: { name: string; self?: unknown } = { name: 'loop' };
    value.self = value;
    const copy = deepCopy(value);
    let node: unknown = copy;
    for (let i = 0; i < 300; i++) node = (node as { self: unknown }).self;
    expect((node as { name: string }).name).toBe('loop');
    expect(copy).not.toBe(value);
  });

  it('copies nesting deeper than its own limit', () => {
    let value: unknown = 'leaf';
    for (let i = 0; i < 1_000; i++) value = [value];
    let node = deepCopy(value);
    expect(node).not.toBe(value);
    for (let i = 0; i < 1_000; i++) node = (node as unknown[])[0];
    expect(node).toBe('leaf');
  });
});
