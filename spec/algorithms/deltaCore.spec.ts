import fc from 'fast-check';
import QuillDelta from 'quill-delta';
import type { Op } from 'quill-delta';
import { composeOps, push, transformOps } from '../../src/algorithms/deltaCore.js';
import type { DeltaOp } from '../../src/algorithms/textDelta.js';

// quill-delta (a dev dependency only) is the oracle: our port must give its results op for op.
const Delta = QuillDelta.default;

const attributes = fc.option(
  fc.record(
    { bold: fc.constantFrom(true, null), color: fc.constantFrom('red', 'blue', null), link: fc.constantFrom('a', 'b') },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

const withAttributes = (op: DeltaOp, attrs: Record<string, unknown> | undefined): DeltaOp =>
  attrs === undefined ? op : { ...op, attributes: attrs };

const insert = fc.tuple(fc.oneof(fc.stringMatching(/^[ab\n]{1,4}$/), fc.constant({ image: 'x.png' })), attributes).map(([value, attrs]) =>
  withAttributes({ insert: value }, attrs),
);
const retain = fc.tuple(fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 1, max: 5 }) }, { weight: 1, arbitrary: fc.constant({ image: 'y.png' }) }), attributes).map(
  ([value, attrs]) => withAttributes({ retain: value }, attrs),
);
const remove = fc.integer({ min: 1, max: 5 }).map((length): DeltaOp => ({ delete: length }));
const delta = fc.array(fc.oneof(insert, retain, remove), { maxLength: 8 });
/** A document: inserts only, as a stored `@txt` field is. */
const document = fc.array(insert, { maxLength: 6 });

type Outcome = { ops: unknown } | { threw: true };

function outcome(run: () => readonly unknown[]): Outcome {
  try {
    return { ops: JSON.parse(JSON.stringify(run())) };
  } catch {
    return { threw: true };
  }
}

const quill = (ops: readonly DeltaOp[]) => new Delta(structuredClone(ops) as Op[]);

describe('deltaCore', () => {
  it('should compose exactly as quill-delta does', () => {
    fc.assert(
      fc.property(fc.oneof(delta, document), delta, (a, b) => {
        expect(outcome(() => composeOps(a, b))).toEqual(outcome(() => quill(a).compose(quill(b)).ops));
      }),
      { numRuns: 3000 },
    );
  });

  it('should transform exactly as quill-delta does, with either priority', () => {
    fc.assert(
      fc.property(delta, delta, fc.boolean(), (a, b, priority) => {
        expect(outcome(() => transformOps(a, b, priority))).toEqual(outcome(() => quill(a).transform(quill(b), priority).ops));
      }),
      { numRuns: 3000 },
    );
  });

  it('should merge pushed ops exactly as quill-delta does', () => {
    fc.assert(
      fc.property(delta, (ops) => {
        const ours: DeltaOp[] = [];
        for (const op of ops) push(ours, op);
        const theirs = new Delta();
        for (const op of ops) theirs.push(structuredClone(op) as Op);
        expect(JSON.parse(JSON.stringify(ours))).toEqual(JSON.parse(JSON.stringify(theirs.ops)));
      }),
      { numRuns: 2000 },
    );
  });

  it('should leave its inputs untouched', () => {
    const a: DeltaOp[] = [{ insert: 'ab', attributes: { bold: true } }, { insert: 'c' }];
    const b: DeltaOp[] = [{ retain: 1, attributes: { bold: null } }, { delete: 1 }, { insert: 'x' }];
    const [aBefore, bBefore] = [structuredClone(a), structuredClone(b)];
    composeOps(a, b);
    transformOps(a, b, true);
    expect([a, b]).toEqual([aBefore, bBefore]);
  });

  it('should throw on an embed retain over an embed, having no embed handlers (as quill-delta)', () => {
    expect(() => composeOps([{ insert: { image: 'a' } }], [{ retain: { image: 'b' } }])).toThrow('no handlers for embed type "image"');
  });
});
