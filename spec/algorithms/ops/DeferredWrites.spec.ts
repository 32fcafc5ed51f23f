import fc from 'fast-check';
import { applyOp } from '../../../src/algorithms/ops/applyOp.js';
import { DeferredWrites } from '../../../src/algorithms/ops/DeferredWrites.js';
import { PatchDraft } from '../../../src/algorithms/ops/PatchDraft.js';
import { arbitraryDoc, arbitraryOp, deepFreeze, outcome } from '../../helpers/arbitraryOps.js';

describe('DeferredWrites', () => {
  it('should copy nothing until flushed when the ops write under different keys of existing objects', () => {
    const root = deepFreeze({ records: [{ done: false }, { done: true }], counter: 0 });
    const writes = new DeferredWrites(new PatchDraft(root));
    writes.add({ op: 'replace', path: '/records/1/done', value: false });
    writes.add({ op: 'replace', path: '/counter', value: 1 });
    expect(writes.draft.root).toBe(root);
    writes.flush();
    expect(writes.draft.root).toEqual({ records: [{ done: false }, { done: false }], counter: 1 });
    expect((writes.draft.root as typeof root).records[0]).toBe(root.records[0]);
  });

  it('should check an op after the queued ops it depends on', () => {
    const writes = new DeferredWrites(new PatchDraft(deepFreeze({ list: [] as unknown[] })));
    writes.add({ op: 'add', path: '/list/-', value: 'a' });
    writes.add({ op: 'replace', path: '/list/0', value: 'b' });
    writes.add({ op: 'add', path: '/made', value: {} });
    writes.add({ op: 'add', path: '/made/x', value: 1 });
    expect(outcome(() => writes.add({ op: 'remove', path: '/list/1' }))).toBe('OpFailure: invalid array index "1" for remove');
    writes.flush();
    expect(writes.draft.root).toEqual({ list: ['b'], made: { x: 1 } });
  });

  it('should end, and fail, exactly as applying each op in turn does (1,000 runs)', () => {
    fc.assert(
      fc.property(arbitraryDoc, fc.array(arbitraryOp, { maxLength: 6 }), (doc, ops) => {
        const state = deepFreeze(doc);
        const eager = new PatchDraft(state);
        const deferred = new DeferredWrites(new PatchDraft(state));
        for (const op of ops) {
          const expected = outcome(() => applyOp(eager, op));
          expect(outcome(() => deferred.add(op))).toBe(expected);
          if (expected !== 'ok') return;
        }
        deferred.flush();
        expect(deferred.draft.root).toEqual(eager.root);
      }),
      { numRuns: 1000 },
    );
  });
});
