import fc from 'fast-check';
import { applyPatch } from '../../src/algorithms/applyPatch.js';
import { PatchError } from '../../src/errors.js';
import type { JSONPatchOp } from '../../src/types.js';
import { enableRichText } from '../../src/txt/enableRichText.js';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

// @txt goes through quill-delta once enabled, as in an app (`patches-rx/txt`).
beforeAll(enableRichText);

describe('applyPatch', () => {
  describe('identity and structural sharing', () => {
    it('should return the same object for an empty patch', () => {
      const state = { a: 1 };
      expect(applyPatch(state, [])).toBe(state);
    });

    it('should return the same object when no op changes anything', () => {
      const state = { a: 1, l: [1, 2], o: { x: { y: 1 } } };
      const next = applyPatch(state, [
        { op: 'replace', path: '/a', value: 1 },
        { op: 'add', path: '/o/x', value: { y: 1 } },
        { op: 'remove', path: '/missing' },
        { op: 'test', path: '/l', value: [1, 2] },
        { op: '@max', path: '/a', value: 0 },
        { op: 'add', path: '/o', value: {} }, // implicitly soft, /o exists
      ]);
      expect(next).toBe(state);
    });

    it('should copy only the containers on a changed path', () => {
      const state = { a: { b: { c: 1 }, sibling: { s: 1 } }, other: { o: [1] }, list: [{ i: 0 }, { i: 1 }] };
      const next = applyPatch(state, [
        { op: 'replace', path: '/a/b/c', value: 2 },
        { op: 'replace', path: '/list/1/i', value: 9 },
      ]);
      expect(next).toEqual({ a: { b: { c: 2 }, sibling: { s: 1 } }, other: { o: [1] }, list: [{ i: 0 }, { i: 9 }] });
      expect(next).not.toBe(state);
      expect(next.a).not.toBe(state.a);
      expect(next.a.b).not.toBe(state.a.b);
      expect(next.a.sibling).toBe(state.a.sibling);
      expect(next.other).toBe(state.other);
      expect(next.list[0]).toBe(state.list[0]);
      expect(state.a.b.c).toBe(1);
      expect(state.list[1].i).toBe(1);
    });

    it('should apply ops in order, each seeing the previous result', () => {
      const next = applyPatch({ l: [] as number[] }, [
        { op: 'add', path: '/l/-', value: 1 },
        { op: 'add', path: '/l/-', value: 2 },
        { op: 'add', path: '/l/0', value: 0 },
        { op: 'remove', path: '/l/1' },
        { op: 'copy', from: '/l/1', path: '/c' },
      ]);
      expect(next).toEqual({ l: [0, 2], c: 2 });
    });

    it('should never mutate a deeply frozen input, whatever the ops', () => {
      const state = deepFreeze({
        n: 1,
        flags: 0,
        l: [{ x: 1 }, { x: 2 }],
        o: { a: { b: 1 } },
        t: { ops: [{ insert: 'hi\n' }] },
      });
      const before = JSON.stringify(state);
      const next = applyPatch(state, [
        { op: 'add', path: '/l/1', value: { x: 9 } },
        { op: 'remove', path: '/l/0' },
        { op: 'replace', path: '/o/a/b', value: 2 },
        { op: 'move', from: '/o/a', path: '/moved' },
        { op: 'copy', from: '/moved', path: '/copied' },
        { op: '@inc', path: '/n', value: 1 },
        { op: '@bit', path: '/flags', value: 1 },
        { op: '@max', path: '/n', value: 10 },
        { op: '@min', path: '/n', value: 5 },
        { op: '@txt', path: '/t', value: [{ insert: '>' }] },
        { op: 'replace', path: '/l/0/x', value: 0 },
      ]);
      expect(JSON.stringify(state)).toBe(before);
      expect(next).toEqual({
        n: 5,
        flags: 1,
        l: [{ x: 0 }, { x: 2 }],
        o: {},
        moved: { b: 2 },
        copied: { b: 2 },
        t: { ops: [{ insert: '>hi\n' }] },
      });
    });
  });

  describe('strict mode (default)', () => {
    it('should throw a PatchError naming the op index and path', () => {
      const ops: JSONPatchOp[] = [
        { op: 'add', path: '/a', value: 1 },
        { op: 'replace', path: '/l/5', value: 1 },
      ];
      let error: unknown;
      try {
        applyPatch({ l: [] }, ops);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(PatchError);
      expect(error).toMatchObject({ name: 'PatchError', opIndex: 1, path: '/l/5' });
      expect((error as Error).message).toContain('op 1');
    });

    it('should leave the input untouched when it throws', () => {
      const state = { a: { b: 1 }, l: [1] };
      expect(() => applyPatch(state, [{ op: 'replace', path: '/a/b', value: 2 }, { op: 'remove', path: '/l/3' }])).toThrow(PatchError);
      expect(state).toEqual({ a: { b: 1 }, l: [1] });
    });

    it('should be the mode when asked for explicitly', () => {
      expect(() => applyPatch({}, [{ op: 'nope', path: '/a' }], { mode: 'strict' })).toThrow(PatchError);
    });
  });

  describe('lenient mode', () => {
    it('should skip failed ops and apply the rest', () => {
      const errors: PatchError[] = [];
      const next = applyPatch({ l: [1] }, [
        { op: 'add', path: '/a', value: 1 },
        { op: 'remove', path: '/l/7' },
        { op: 'bogus', path: '/x' },
        { op: 'add', path: '/b', value: 2 },
      ], { mode: 'lenient', onError: (e) => errors.push(e) });
      expect(next).toEqual({ l: [1], a: 1, b: 2 });
      expect(errors.map((e) => [e.opIndex, e.path])).toEqual([[1, '/l/7'], [2, '/x']]);
      expect(errors.every((e) => e instanceof PatchError)).toBe(true);
    });

    it('should return the same object when every op failed', () => {
      const state = { a: 1 };
      expect(applyPatch(state, [{ op: 'remove', path: '/a/0/x/-' }, { op: '@inc', path: '/a', value: 'x' }], { mode: 'lenient' })).toBe(state);
    });

    it('should abort the whole patch on a failed test and report it', () => {
      const state = { a: 1 };
      const onError = jest.fn();
      expect(applyPatch(state, [{ op: 'add', path: '/b', value: 2 }, { op: 'test', path: '/a', value: 2 }], { mode: 'lenient', onError })).toBe(state);
      expect(onError).toHaveBeenCalledWith(expect.objectContaining({ opIndex: 1, path: '/a' }));
    });
  });

  describe('malformed ops', () => {
    it.each<[string, unknown]>([
      ['an unknown op', { op: 'merge', path: '/a', value: 1 }],
      ['an op named like an Object member', { op: 'constructor', path: '/a' }],
      ['an op named toString', { op: 'toString', path: '/a' }],
      ['a missing path', { op: 'add', value: 1 }],
      ['a numeric path', { op: 'add', path: 1, value: 1 }],
      ['null', null],
      ['a bad escape', { op: 'add', path: '/a~9', value: 1 }],
    ])('should reject %s with a PatchError', (_label, op) => {
      expect(() => applyPatch({}, [op as JSONPatchOp])).toThrow(PatchError);
    });

    it('should skip a null op in lenient mode', () => {
      expect(applyPatch({}, [null as unknown as JSONPatchOp, { op: 'add', path: '/a', value: 1 }], { mode: 'lenient' })).toEqual({ a: 1 });
    });

    it('should ignore unknown fields on an op', () => {
      expect(applyPatch({}, [{ op: 'add', path: '/a', value: 1, ts: 5, rev: 2, extra: 'x' }])).toEqual({ a: 1 });
    });

    it('should accept a path without a leading slash', () => {
      expect(applyPatch({ a: {} }, [{ op: 'add', path: 'a/b', value: 1 }])).toEqual({ a: { b: 1 } });
    });
  });

  describe('prototype pollution', () => {
    const forbidden = ['__proto__', 'constructor', 'prototype'];
    const attacks = (segment: string): JSONPatchOp[] => [
      { op: 'add', path: `/${segment}/polluted`, value: true },
      { op: 'add', path: `/a/${segment}/polluted`, value: true },
      { op: 'replace', path: `/${segment}/polluted`, value: true },
      { op: 'replace', path: `/${segment}`, value: { polluted: true } },
      { op: '@inc', path: `/${segment}/polluted`, value: 1 },
      { op: '@max', path: `/${segment}/polluted`, value: 1 },
      { op: '@txt', path: `/${segment}/polluted`, value: [{ insert: 'x' }] },
      { op: 'copy', from: '/a', path: `/${segment}` },
      { op: 'copy', from: `/${segment}`, path: '/stolen' },
      { op: 'move', from: '/a', path: `/${segment}/polluted` },
      { op: 'remove', path: `/${segment}/toString` },
      { op: 'test', path: `/${segment}`, value: {} },
    ];
    const clean = () => {
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
      expect(typeof Object.prototype.toString).toBe('function');
    };

    it.each(forbidden)('should refuse every op that names %s, in strict mode', (segment) => {
      for (const op of attacks(segment)) {
        expect(() => applyPatch({ a: { polluted: true } }, [op])).toThrow(PatchError);
      }
      clean();
    });

    it.each(forbidden)('should skip every op that names %s in lenient mode, leaving the state alone', (segment) => {
      const state = { a: { polluted: true } };
      const onError = jest.fn();
      expect(applyPatch(state, attacks(segment), { mode: 'lenient', onError })).toBe(state);
      expect(onError).toHaveBeenCalled();
      clean();
    });

    it('should keep an own "__proto__" key in a value as plain data through later edits', () => {
      const value = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as Record<string, unknown>;
      const next = applyPatch({}, [
        { op: 'add', path: '/v', value },
        { op: 'replace', path: '/v/x', value: 2 }, // forces a copy of the value
      ]) as { v: Record<string, unknown> };
      expect(Object.getPrototypeOf(next.v)).toBe(Object.prototype);
      expect(Object.keys(next.v)).toEqual(['__proto__', 'x']);
      expect(next.v.x).toBe(2);
      clean();
    });

    it('should treat names of Object members as ordinary own keys', () => {
      expect(() => applyPatch({}, [{ op: 'test', path: '/toString', value: null }])).toThrow(PatchError);
      expect(applyPatch({}, [{ op: '@inc', path: '/hasOwnProperty', value: 1 }])).toEqual({ hasOwnProperty: 1 });
      expect(applyPatch({}, [{ op: 'add', path: '/valueOf/x', value: 1 }])).toEqual({ valueOf: { x: 1 } });
      const state = {};
      expect(applyPatch(state, [{ op: 'remove', path: '/toString' }])).toBe(state);
    });
  });

  describe('soft writes', () => {
    it('should skip an explicitly soft add, replace or copy when the path exists', () => {
      const state = { a: 1, b: 2 };
      expect(applyPatch(state, [
        { op: 'add', path: '/a', value: 5, soft: true },
        { op: 'replace', path: '/a', value: 5, soft: true },
        { op: 'copy', from: '/b', path: '/a', soft: true },
      ])).toBe(state);
    });

    it('should apply a soft op when the path is missing', () => {
      expect(applyPatch({}, [{ op: 'replace', path: '/a/b', value: 1, soft: true }])).toEqual({ a: { b: 1 } });
    });

    it('should count a key holding null as existing', () => {
      const state = { a: null };
      expect(applyPatch(state, [{ op: 'add', path: '/a', value: 1, soft: true }])).toBe(state);
    });

    it('should treat an add of an empty object or array as soft', () => {
      const state = { map: { k: 1 }, list: [1] };
      expect(applyPatch(state, [{ op: 'add', path: '/map', value: {} }, { op: 'add', path: '/list', value: [] }])).toBe(state);
      expect(applyPatch({}, [{ op: 'add', path: '/map', value: {} }])).toEqual({ map: {} });
    });

    it('should not treat a replace with an empty object as soft', () => {
      expect(applyPatch({ map: { k: 1 } }, [{ op: 'replace', path: '/map', value: {} }])).toEqual({ map: {} });
    });

    it('should check against the live state, including earlier ops of the same patch', () => {
      const next = applyPatch({}, [
        { op: 'add', path: '/map', value: {} },
        { op: 'add', path: '/map/k', value: 1 },
        { op: 'add', path: '/map', value: {} },
      ]);
      expect(next).toEqual({ map: { k: 1 } });
    });

    it('should still insert an empty container into an array (an insert never overwrites)', () => {
      expect(applyPatch({ rows: [[1]] }, [{ op: 'add', path: '/rows/0', value: [] }])).toEqual({ rows: [[], [1]] });
    });

    it('should skip an explicitly soft array insert only when an equal element is present', () => {
      const state = { tags: ['a', 'b'] };
      expect(applyPatch(state, [{ op: 'add', path: '/tags/0', value: 'b', soft: true }])).toBe(state);
      expect(applyPatch(state, [{ op: 'add', path: '/tags/0', value: 'c', soft: true }])).toEqual({ tags: ['c', 'a', 'b'] });
      expect(applyPatch(state, [{ op: 'add', path: '/tags/-', value: 'a', soft: true }])).toEqual({ tags: ['a', 'b', 'a'] });
    });

    it('should skip a soft replace of an existing array element', () => {
      const state = { l: [1] };
      expect(applyPatch(state, [{ op: 'replace', path: '/l/0', value: 2, soft: true }])).toBe(state);
    });

    it('should skip a soft write at the root unless the document is new', () => {
      const state = { a: 1 };
      expect(applyPatch(state, [{ op: 'replace', path: '', value: {}, soft: true }])).toBe(state);
      expect(applyPatch(null, [{ op: 'replace', path: '', value: { b: 1 }, soft: true }])).toEqual({ b: 1 });
    });
  });

  describe('a null (brand-new) document', () => {
    it('should become an object on the first write', () => {
      expect(applyPatch(null, [{ op: 'replace', path: '/a', value: 1 }])).toEqual({ a: 1 });
      expect(applyPatch(null, [{ op: '@inc', path: '/n', value: 1 }])).toEqual({ n: 1 });
    });

    it('should stay the same null when nothing writes', () => {
      expect(applyPatch(null, [{ op: 'remove', path: '/a' }])).toBeNull();
    });
  });

  describe('property: any ops on any document', () => {
    const key = fc.constantFrom('a', 'b', '0', '1', '-', '', '__proto__', 'constructor', 'toString', '01');
    const path = fc.array(key, { maxLength: 3 }).map((keys) => keys.map((k) => '/' + k).join(''));
    const leaf = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom('x', 'b', null, true));
    const { value } = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', '0', '1'), tie('value'), { maxKeys: 3 }),
      ),
    }));
    const opName = fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', '@inc', '@bit', '@max', '@min', '@txt', 'nope');
    const op = fc.record(
      { op: opName, path, from: path, value: fc.oneof(value, fc.constant([{ insert: 'q' }]), fc.constant(undefined)), soft: fc.boolean() },
      { requiredKeys: ['op', 'path'] },
    ) as fc.Arbitrary<JSONPatchOp>;

    it('should never mutate the input, never pollute Object.prototype, and fail only with PatchError (600 runs)', () => {
      fc.assert(
        fc.property(value, fc.array(op, { maxLength: 6 }), (doc, ops) => {
          const state = deepFreeze(doc);
          const before = JSON.stringify(state);
          const lenient = applyPatch(state, ops, { mode: 'lenient' });
          let strict: unknown;
          let failed = false;
          try {
            strict = applyPatch(state, ops);
          } catch (error) {
            expect(error).toBeInstanceOf(PatchError);
            failed = true;
          }
          // When nothing failed, lenient and strict mode agree.
          if (!failed) expect(lenient).toEqual(strict);
          expect(JSON.stringify(state)).toBe(before);
          expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('polluted');
          expect(({} as Record<string, unknown>).a).toBeUndefined();
        }),
        { numRuns: 600, seed: 6902 },
      );
    });
  });
});
