import { sizeOf } from '../../../src/algorithms/batching/sizeOf.js';
import { splitTextOp } from '../../../src/algorithms/batching/splitTextOp.js';
import type { TextOpBudget } from '../../../src/algorithms/richText.js';
import type { JSONPatchOp } from '../../../src/types.js';

const txt = (value: unknown): JSONPatchOp => ({ op: '@txt', path: '/body', value });

/** The default measure: an op alone, in bytes of its JSON (what breakChanges passes, minus the envelope). */
const bytes = (maxBytes: number): TextOpBudget => ({ maxBytes, additive: true, sizeAlone: sizeOf });

/** A custom, non-additive measure: the same bytes, but the split may only ask for whole sizes. */
const measured = (maxBytes: number): TextOpBudget => ({ maxBytes, additive: false, sizeAlone: sizeOf });

describe('splitTextOp', () => {
  it.each([
    ['the default measure', bytes(120)],
    ['a custom measure', measured(120)],
  ])('should cut a long insert into pieces that fit, each retaining to where it starts (%s)', (_label, budget) => {
    const text = 'abcdefghij'.repeat(30);
    const pieces = splitTextOp(txt([{ insert: text }]), budget)!;
    expect(pieces.length).toBeGreaterThan(1);
    for (const piece of pieces) expect(sizeOf(piece)).toBeLessThanOrEqual(120);
    let cursor = 0;
    let joined = '';
    for (const piece of pieces) {
      const ops = piece.value as { retain?: number; insert?: string }[];
      const inserted = ops[ops.length - 1].insert!;
      expect(ops.length === 1 ? 0 : ops[0].retain).toBe(cursor);
      joined += inserted;
      cursor += inserted.length;
    }
    expect(joined).toBe(text);
  });

  // Found in review, fixed: an op over the budget only by a trailing retain was called unsplittable.
  it.each([
    ['the default measure', bytes],
    ['a custom measure', measured],
  ])('should leave out a trailing retain when that alone makes the op fit (%s)', (_label, budgetOf) => {
    const kept = [{ retain: 7 }, { insert: 'x'.repeat(50) }];
    const budget = budgetOf(sizeOf(txt(kept)) + 4);
    expect(splitTextOp(txt([...kept, { retain: 123_456 }]), budget)).toEqual([txt(kept)]);
    // Nothing to leave out: an op that fits is not a split, one that cannot fit stays unsplittable.
    expect(splitTextOp(txt(kept), budget)).toBeUndefined();
  });

  it('should never cut a surrogate pair in half', () => {
    const text = '😀'.repeat(100);
    const pieces = splitTextOp(txt([{ insert: text }]), bytes(80))!;
    const inserts = pieces.map((piece) => (piece.value as { insert?: string }[]).at(-1)!.insert!);
    expect(inserts.join('')).toBe(text);
    for (const insert of inserts) expect(insert.length % 2).toBe(0);
  });

  it('should advance the cursor past retains and inserts but not deletes', () => {
    const pieces = splitTextOp(txt([{ retain: 3 }, { delete: 2 }, { insert: 'x'.repeat(200) }]), bytes(120))!;
    const values = pieces.map((piece) => piece.value as { retain?: number; insert?: string }[]);
    expect(values[0]).toEqual([{ retain: 3 }, { delete: 2 }]);
    // The insert lands where the deleted text was: at 3, then after each chunk.
    expect(values[1][0].retain).toBe(3);
    expect(values[2][0].retain).toBe(3 + values[1][1].insert!.length);
  });

  it('should keep other fields of the op and read a legacy { ops } value', () => {
    const pieces = splitTextOp({ ...txt({ ops: [{ insert: 'q'.repeat(300) }] }), ts: 5 } as JSONPatchOp, bytes(150))!;
    expect(pieces.every((piece) => piece.op === '@txt' && piece.path === '/body' && (piece as { ts?: number }).ts === 5 && Array.isArray(piece.value))).toBe(true);
  });

  it.each([
    ['an embed larger than the budget', txt([{ insert: { image: 'data:' + 'x'.repeat(500) } }])],
    ['a value that is not a delta', txt('not a delta')],
    ['an empty delta', txt([])],
    ['a delta that fits in one piece', txt([{ insert: 'short' }])],
  ])('should give undefined for %s', (_label, op) => {
    expect(splitTextOp(op, bytes(120))).toBeUndefined();
  });
});
