import fc from 'fast-check';
import { leavesAlone } from '../../../src/algorithms/transform/leavesAlone.js';
import { overOp } from '../../../src/algorithms/transform/overOp.js';
import type { JSONPatchOp } from '../../../src/types.js';

const segment = fc.constantFrom('a', 'b', '0', '1', '-');
const path = fc.array(segment, { minLength: 0, maxLength: 3 }).map((keys) => keys.map((k) => '/' + k).join(''));
const value = fc.constantFrom<unknown>(1, 'x', {}, [], { k: 1 }, [1], [{ insert: 'q' }]);
const op = fc.record(
  {
    op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', '@inc', '@max', '@txt', 'nope'),
    path,
    from: path,
    value,
    soft: fc.boolean(),
  },
  { requiredKeys: ['op', 'path'] },
) as fc.Arbitrary<JSONPatchOp>;

describe('leavesAlone', () => {
  it('should answer true only where the rule returns the ops themselves, in either frame (5,000 runs)', () => {
    let answered = 0;
    fc.assert(
      fc.property(op, fc.array(op, { maxLength: 5 }), (first, ops) => {
        if (!leavesAlone(first, ops)) return;
        answered++;
        expect(overOp({ otherOpsFirst: false }, first, ops)).toBe(ops);
        expect(overOp({ otherOpsFirst: true }, first, ops)).toBe(ops);
      }),
      { numRuns: 5000 },
    );
    // The property must not hold vacuously.
    expect(answered).toBeGreaterThan(500);
  });

  it('should skip the common cases of a burst: other keys, other arrays, appends to one list', () => {
    const theirs: JSONPatchOp[] = [
      { op: 'replace', path: '/fields/b3', value: 1 },
      { op: 'add', path: '/items/-', value: 'b' },
      { op: 'add', path: '/items/-/x', value: 'inside the append' },
    ];
    expect(leavesAlone({ op: 'replace', path: '/fields/a3', value: 2 }, theirs)).toBe(true);
    expect(leavesAlone({ op: 'add', path: '/other/0', value: 2 }, theirs)).toBe(true);
    expect(leavesAlone({ op: 'add', path: '/items/-', value: 'a' }, theirs)).toBe(true);
    expect(leavesAlone({ op: 'test', path: '/fields/b3', value: 1 }, theirs)).toBe(true);
  });

  it('should let the rule run where paths meet', () => {
    const theirs: JSONPatchOp[] = [{ op: 'replace', path: '/fields/b3/deep', value: 1 }];
    expect(leavesAlone({ op: 'replace', path: '/fields/b3', value: 2 }, theirs)).toBe(false);
    expect(leavesAlone({ op: 'remove', path: '/fields' }, theirs)).toBe(false);
    expect(leavesAlone({ op: 'add', path: '/list/0', value: 1 }, [{ op: 'replace', path: '/list/3', value: 1 }])).toBe(false);
    expect(leavesAlone({ op: 'move', from: '/x', path: '/y' }, theirs)).toBe(false);
    expect(leavesAlone({ op: 'replace', path: '/elsewhere', value: 1 }, [{ op: 'move', from: '/a', path: '/a' }])).toBe(false);
  });
});
