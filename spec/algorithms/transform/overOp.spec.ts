import { overOp } from '../../../src/algorithms/transform/overOp.js';
import type { JSONPatchOp } from '../../../src/types.js';
import { enableRichText } from '../../../src/txt/enableRichText.js';

const frame = { otherOpsFirst: false };
const txt = (value: unknown[]): JSONPatchOp => ({ op: '@txt', path: '/t', value });

// @txt goes through quill-delta once enabled, as in an app (`patches-rx/txt`).
beforeAll(enableRichText);

describe('overOp', () => {
  it('should carry an earlier @txt delta past each later delta at the same path (corpus tp-1093)', () => {
    const ops = [txt([{ retain: 1 }, { delete: 1 }]), txt([{ retain: 1 }, { insert: 'q' }])];
    expect(overOp(frame, txt([{ retain: 1 }, { insert: 'X' }]), ops)).toEqual([txt([{ retain: 2 }, { delete: 1 }]), txt([{ retain: 2 }, { insert: 'q' }])]);
  });

  it('should merge two adds of an empty container of one kind, and keep one of the other kind', () => {
    const add = (value: unknown): JSONPatchOp => ({ op: 'add', path: '/m', value });
    expect(overOp(frame, add({}), [add({}), { op: 'add', path: '/m/a', value: 1 }])).toEqual([{ op: 'add', path: '/m/a', value: 1 }]);
    const other = [add([])];
    expect(overOp(frame, add({}), other)).toBe(other);
  });

  it('should change nothing for a test or an unknown op', () => {
    const ops: JSONPatchOp[] = [{ op: 'replace', path: '/a', value: 1 }];
    expect(overOp(frame, { op: 'test', path: '/a', value: 0 }, ops)).toBe(ops);
    expect(overOp(frame, { op: '@custom', path: '/a', value: 0 }, ops)).toBe(ops);
  });
});
