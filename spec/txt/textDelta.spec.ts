import fc from 'fast-check';
import QuillDelta from 'quill-delta';
import type { Op } from 'quill-delta';
import { normalizeTextDocument, type DeltaOp } from '../../src/algorithms/deltaOps.js';
import { applyTextDelta, composeDelta, transformDelta } from '../../src/txt/textDelta.js';

describe('applyTextDelta', () => {
  const doc = (text: string) => ({ ops: [{ insert: text }] });

  it('should compose the change onto the document', () => {
    expect(applyTextDelta(doc('Hello\n'), [{ retain: 1 }, { delete: 4 }, { insert: 'i' }])).toEqual(doc('Hi\n'));
  });

  it('should drop a retain that runs past the end', () => {
    expect(applyTextDelta(doc('ab\n'), [{ retain: 10, attributes: { bold: true } }])).toEqual({
      ops: [{ insert: 'ab\n', attributes: { bold: true } }],
    });
  });

  it('should drop a delete that runs past the end, keeping the final newline', () => {
    expect(applyTextDelta(doc('ab\n'), [{ retain: 1 }, { delete: 10 }])).toEqual(doc('a\n'));
  });

  it('should keep an insert that follows an overrunning retain', () => {
    expect(applyTextDelta(doc('ab\n'), [{ retain: 10 }, { insert: 'x' }])).toEqual(doc('ab\nx\n'));
  });

  it('should force a trailing newline after text and after an embed', () => {
    expect(applyTextDelta(doc('ab\n'), [{ retain: 2 }, { delete: 1 }])).toEqual(doc('ab\n'));
    expect(applyTextDelta(undefined, [{ delete: 1 }, { insert: { image: 'a.png' } }])).toEqual({
      ops: [{ insert: { image: 'a.png' } }, { insert: '\n' }],
    });
    expect(applyTextDelta(doc('ab\n'), [{ delete: 3 }])).toEqual(doc('\n'));
  });

  it('should add the newline as its own op after formatted text', () => {
    expect(applyTextDelta({ ops: [] }, [{ insert: 'a', attributes: { bold: true } }])).toEqual({
      ops: [{ insert: 'a', attributes: { bold: true } }, { insert: '\n' }],
    });
  });

  it('should share nothing with its inputs', () => {
    const attributes = { bold: true };
    const existing = { ops: [{ insert: 'ab', attributes }, { insert: '\n' }] };
    const result = applyTextDelta(existing, [{ retain: 3 }, { insert: 'c' }]);
    (result.ops[0].attributes as Record<string, unknown>).bold = false;
    expect(attributes.bold).toBe(true);
    expect(existing.ops).toHaveLength(2);
  });

  it('should throw a TypeError for an invalid change', () => {
    expect(() => applyTextDelta(doc('a\n'), [{ retain: 0 }])).toThrow(TypeError);
  });

  it('should give what it gave when it copied its result with structuredClone (strings now shared), attributes and embeds included', () => {
    // The former applyTextDelta, verbatim but for its names.
    const Delta = QuillDelta.default;
    const former = (existing: unknown, delta: DeltaOp[]): unknown => {
      const composed = new Delta(normalizeTextDocument(existing).slice() as Op[]).compose(new Delta(delta.slice() as Op[]));
      const out = new Delta();
      for (const op of composed.ops) if (op.insert !== undefined) out.push(op);
      const last = out.ops[out.ops.length - 1];
      if (last === undefined || typeof last.insert !== 'string' || !last.insert.endsWith('\n')) out.insert('\n');
      return { ops: out.ops.map((op) => structuredClone(op)) };
    };
    const attributes = fc.option(fc.dictionary(fc.constantFrom('bold', 'link', 'list'), fc.constantFrom(true, null, 'x', 1)), { nil: undefined });
    const deltaOp = fc.oneof(
      fc.record({ insert: fc.oneof(fc.string({ minLength: 1, maxLength: 4 }), fc.constant({ image: 'a.png' })), attributes }, { requiredKeys: ['insert'] }),
      fc.record({ retain: fc.integer({ min: 1, max: 12 }), attributes }, { requiredKeys: ['retain'] }),
      fc.record({ delete: fc.integer({ min: 1, max: 12 }) }),
    ) as fc.Arbitrary<DeltaOp>;
    const text = fc.array(fc.record({ insert: fc.string({ minLength: 1, maxLength: 5 }), attributes }, { requiredKeys: ['insert'] }) as fc.Arbitrary<DeltaOp>, { maxLength: 4 });
    fc.assert(
      fc.property(text, fc.array(fc.array(deltaOp, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 4 }), (start, deltas) => {
        let now: unknown = { ops: start };
        let then: unknown = { ops: start };
        for (const delta of deltas) {
          now = applyTextDelta(now, delta);
          then = former(then, delta);
          expect(JSON.stringify(now)).toBe(JSON.stringify(then));
        }
      }),
      { numRuns: 1000, seed: 32 },
    );
  });
});

describe('composeDelta', () => {
  it('should compose two changes into one', () => {
    expect(composeDelta([{ insert: 'a' }], [{ retain: 1 }, { insert: 'b' }])).toEqual([{ insert: 'ab' }]);
    expect(composeDelta([{ retain: 2 }, { insert: 'x' }], [{ retain: 2 }, { delete: 1 }])).toEqual([]);
  });
});

describe('transformDelta', () => {
  it('should put a first insert at the same place first when a has priority', () => {
    expect(transformDelta([{ insert: 'A' }], [{ insert: 'B' }], true)).toEqual([{ retain: 1 }, { insert: 'B' }]);
    expect(transformDelta([{ insert: 'A' }], [{ insert: 'B' }], false)).toEqual([{ insert: 'B' }]);
  });

  it('should shift a later position past an earlier delete', () => {
    expect(transformDelta([{ delete: 2 }], [{ retain: 3 }, { insert: 'x' }], true)).toEqual([{ retain: 1 }, { insert: 'x' }]);
  });

  it('should throw a TypeError for an invalid delta', () => {
    expect(() => transformDelta([{ delete: -1 }], [], true)).toThrow(TypeError);
  });

  it('should converge: doc·a·b′ equals doc·b·a′ for concurrent changes (TP1)', () => {
    const step = fc.record({ kind: fc.nat({ max: 2 }), n: fc.integer({ min: 1, max: 3 }), text: fc.string({ minLength: 1, maxLength: 3 }) });
    // A change valid against a document of `length` characters: retains/deletes stay in bounds.
    const change = (length: number, steps: { kind: number; n: number; text: string }[]): DeltaOp[] => {
      const ops: DeltaOp[] = [];
      let left = length;
      for (const s of steps) {
        if (s.kind === 0) ops.push({ insert: s.text });
        else if (left > 0) {
          const n = Math.min(s.n, left);
          left -= n;
          ops.push(s.kind === 1 ? { retain: n } : { delete: n });
        }
      }
      return ops;
    };
    fc.assert(
      fc.property(fc.string({ maxLength: 8 }), fc.array(step, { maxLength: 5 }), fc.array(step, { maxLength: 5 }), (text, sa, sb) => {
        const base = { ops: [{ insert: text + '\n' }] };
        const a = change(text.length, sa);
        const b = change(text.length, sb);
        const viaA = applyTextDelta(applyTextDelta(base, a), transformDelta(a, b, true));
        const viaB = applyTextDelta(applyTextDelta(base, b), transformDelta(b, a, false));
        expect(viaA).toEqual(viaB);
      }),
      { numRuns: 500, seed: 1138 },
    );
  });
});
