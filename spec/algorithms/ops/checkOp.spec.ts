import fc from 'fast-check';
import { applyOp } from '../../../src/algorithms/ops/applyOp.js';
import { checkOp } from '../../../src/algorithms/ops/checkOp.js';
import { PatchDraft } from '../../../src/algorithms/ops/PatchDraft.js';
import { arbitraryDoc, arbitraryOp, deepFreeze, outcome } from '../../helpers/arbitraryOps.js';

describe('checkOp', () => {
  it('should refuse what applyOp refuses, with the same error', () => {
    expect(outcome(() => checkOp(new PatchDraft({ list: [] }), { op: 'replace', path: '/list/5', value: 1 }))).toBe('OpFailure: invalid array index "5" for replace');
    expect(outcome(() => checkOp(new PatchDraft({ a: 1 }), { op: 'add', path: '/a/b', value: 1 }))).toBe('OpFailure: "a" holds a number, which has no children');
    expect(outcome(() => checkOp(new PatchDraft({ list: [1] }), { op: 'remove', path: '/list/1' }))).toBe('OpFailure: invalid array index "1" for remove');
  });

  it('should leave the draft as it was, even for an op that applies', () => {
    const root = deepFreeze({ list: [1, 2], deep: { x: 1 } });
    const draft = new PatchDraft(root);
    checkOp(draft, { op: 'replace', path: '/deep/x', value: 2 });
    checkOp(draft, { op: 'move', from: '/list/0', path: '/deep/y' });
    checkOp(draft, { op: 'add', path: '', value: 3 });
    expect(draft.root).toBe(root);
  });

  it('should agree with applyOp on any op and document (1,000 runs)', () => {
    fc.assert(
      fc.property(arbitraryDoc, arbitraryOp, (doc, op) => {
        const state = deepFreeze(doc);
        const checked = outcome(() => checkOp(new PatchDraft(state), op));
        expect(checked).toBe(outcome(() => applyOp(new PatchDraft(state), op)));
      }),
      { numRuns: 1000 },
    );
  });
});
