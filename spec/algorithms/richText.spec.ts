import { applyCommittedChanges } from '../../src/algorithms/applyCommittedChanges.js';
import { applyPatch } from '../../src/algorithms/applyPatch.js';
import { breakChanges } from '../../src/algorithms/batching/breakChanges.js';
import { richText, setRichTextEngine, type RichTextEngine } from '../../src/algorithms/richText.js';
import { transformPatch } from '../../src/algorithms/transformPatch.js';
import { RichTextNotEnabledError } from '../../src/errors.js';
import type { Change, JSONPatchOp } from '../../src/types.js';

const txt = (path: string, value: unknown[]): JSONPatchOp => ({ op: '@txt', path, value });

const change = (rev: number, ops: JSONPatchOp[]): Change => ({ id: `c${rev}`, rev, baseRev: rev - 1, ops, createdAt: 1, committedAt: 2 });

/** A stand-in engine that records its calls (the real one is quill-delta, `spec/txt/`). */
function recordingEngine(): RichTextEngine & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    apply: (_existing, delta) => {
      calls.push('apply');
      return { ops: [{ insert: `${delta.length} ops\n` }] };
    },
    transform: (_a, b) => {
      calls.push('transform');
      return [...b];
    },
    split: (op, budget) => {
      calls.push(`split ${budget.maxBytes}`);
      return [{ ...op, value: [{ insert: 'a' }] }, { ...op, value: [{ retain: 1 }, { insert: 'b' }] }];
    },
  };
}

describe('richText', () => {
  afterEach(() => setRichTextEngine(undefined));

  describe('before an engine is registered', () => {
    it('should throw RichTextNotEnabledError naming the fix', () => {
      expect(() => richText()).toThrow(RichTextNotEnabledError);
      expect(() => richText()).toThrow("import { enableRichText } from 'patches-rx/txt'");
    });

    it('should make applyPatch throw it for @txt, in strict and in lenient mode (not a PatchError, not skipped)', () => {
      const onError = jest.fn();
      expect(() => applyPatch({}, [txt('/t', [{ insert: 'a' }])])).toThrow(RichTextNotEnabledError);
      expect(() => applyPatch({}, [txt('/t', [{ insert: 'a' }])], { mode: 'lenient', onError })).toThrow(RichTextNotEnabledError);
      expect(onError).not.toHaveBeenCalled();
    });

    it('should leave every other op alone', () => {
      expect(applyPatch({ n: 1 }, [{ op: '@inc', path: '/n', value: 1 }])).toEqual({ n: 2 });
      expect(transformPatch([txt('/a', [{ insert: 'x' }])], [txt('/b', [{ insert: 'y' }])])).toEqual([txt('/b', [{ insert: 'y' }])]);
    });

    it('should make transformPatch throw it when two @txt ops meet at one path', () => {
      expect(() => transformPatch([txt('/t', [{ insert: 'x' }])], [txt('/t', [{ insert: 'y' }])])).toThrow(RichTextNotEnabledError);
    });

    it('should make breakChanges throw it for an oversized @txt op, and split other ops as before', () => {
      const big = change(1, [txt('/t', [{ insert: 'x'.repeat(500) }])]);
      expect(() => breakChanges([big], 200)).toThrow(RichTextNotEnabledError);
      const structural = change(1, [{ op: 'add', path: '/m', value: { a: 'x'.repeat(120), b: 'y'.repeat(120) } }]);
      expect(breakChanges([structural], 300).length).toBeGreaterThan(1);
    });

    it('should make applyCommittedChanges throw it as is, not as an ApplyChangesError to refetch', () => {
      expect(() => applyCommittedChanges({ state: {}, rev: 0 }, [change(1, [txt('/t', [{ insert: 'a' }])])], [])).toThrow(RichTextNotEnabledError);
    });
  });

  describe('once an engine is registered', () => {
    it('should apply @txt through it', () => {
      const engine = recordingEngine();
      setRichTextEngine(engine);
      expect(applyPatch({}, [txt('/t', [{ insert: 'a' }, { insert: 'b' }])])).toEqual({ t: { ops: [{ insert: '2 ops\n' }] } });
      expect(engine.calls).toEqual(['apply']);
    });

    it('should transform @txt at one path through it, both ways', () => {
      const engine = recordingEngine();
      setRichTextEngine(engine);
      expect(transformPatch([txt('/t', [{ insert: 'x' }])], [txt('/t', [{ insert: 'y' }])])).toEqual([txt('/t', [{ insert: 'y' }])]);
      expect(engine.calls).toEqual(['transform', 'transform']);
    });

    it('should split an oversized @txt op through it, with the budget breakChanges uses', () => {
      const engine = recordingEngine();
      setRichTextEngine(engine);
      const pieces = breakChanges([change(1, [txt('/t', [{ insert: 'x'.repeat(500) }])])], 300);
      expect(engine.calls).toEqual(['split 300']);
      // The two small pieces fit in one change together.
      expect(pieces.map((piece) => piece.ops)).toEqual([[txt('/t', [{ insert: 'a' }]), txt('/t', [{ retain: 1 }, { insert: 'b' }])]]);
    });

    it('should throw again once unregistered', () => {
      setRichTextEngine(recordingEngine());
      setRichTextEngine(undefined);
      expect(() => richText()).toThrow(RichTextNotEnabledError);
    });
  });
});
