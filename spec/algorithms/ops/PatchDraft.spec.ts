import { OpFailure } from '../../../src/algorithms/ops/OpFailure.js';
import { arrayIndex, childOf, PatchDraft } from '../../../src/algorithms/ops/PatchDraft.js';

describe('arrayIndex', () => {
  it('should accept canonical decimal indexes', () => {
    expect(arrayIndex('0')).toBe(0);
    expect(arrayIndex('17')).toBe(17);
  });

  it.each(['-', '01', '-1', '1e0', '1.0', ' 1', '', '0x1', '99999999999999999999'])('should reject %p', (segment) => {
    expect(arrayIndex(segment)).toBeUndefined();
  });
});

describe('childOf', () => {
  it('should find in-bounds array elements and own object keys only', () => {
    expect(childOf(['a'], '0')).toEqual({ found: true, value: 'a' });
    expect(childOf(['a'], '1').found).toBe(false);
    expect(childOf(['a'], 'length').found).toBe(false);
    expect(childOf({}, 'toString').found).toBe(false);
    expect(childOf({ a: null }, 'a')).toEqual({ found: true, value: null });
  });
});

describe('PatchDraft', () => {
  it('should read without copying anything', () => {
    const root = Object.freeze({ a: Object.freeze({ b: 1 }) });
    const draft = new PatchDraft(root);
    expect(draft.get(['a', 'b'])).toEqual({ found: true, value: 1 });
    expect(draft.parent(['a', 'x', 'y'], 'auto', false)).toEqual({});
    expect(draft.root).toBe(root);
  });

  it('should copy each container on the path once, then edit the copy in place', () => {
    const root = { a: { b: [1] }, untouched: {} };
    const draft = new PatchDraft(root);
    const first = draft.parent(['a', 'b', '0'], 'none', true);
    const second = draft.parent(['a', 'b', '0'], 'none', true);
    expect(first).toBe(second);
    expect(first).not.toBe(root.a.b);
    expect(draft.root).not.toBe(root);
    expect((draft.root as typeof root).untouched).toBe(root.untouched);
  });

  it('should create missing parents as [] before "0" or "-" in auto mode, {} otherwise', () => {
    const draft = new PatchDraft({});
    draft.parent(['list', '-'], 'auto', true);
    draft.parent(['map', '5'], 'auto', true);
    draft.parent(['obj', '0'], 'object', true);
    expect(draft.root).toEqual({ list: [], map: {}, obj: {} });
  });

  it('should report a missing parent in none mode, and fail on a primitive in create modes', () => {
    const draft = new PatchDraft({ n: 1 });
    expect(draft.parent(['n', 'x'], 'none', false)).toBeUndefined();
    expect(() => draft.parent(['n', 'x'], 'auto', false)).toThrow(OpFailure);
  });

  it('should give a fork its own copies so a failed step leaves the parent draft alone', () => {
    const draft = new PatchDraft({ a: [1, 2] });
    const owned = draft.parent(['a', '0'], 'none', true) as number[];
    const fork = draft.fork();
    (fork.parent(['a', '0'], 'none', true) as number[]).push(3);
    expect(owned).toEqual([1, 2]);
    draft.adopt(fork);
    expect(draft.root).toEqual({ a: [1, 2, 3] });
  });

  it('should stop editing a released value in place', () => {
    const draft = new PatchDraft({ a: { b: 1 } });
    const a = draft.parent(['a', 'b'], 'none', true) as Record<string, unknown>;
    draft.release(a);
    const again = draft.parent(['a', 'b'], 'none', true);
    expect(again).not.toBe(a);
  });
});
