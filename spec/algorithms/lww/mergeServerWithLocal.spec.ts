import fc from 'fast-check';
import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { mergeServerWithLocal } from '../../../src/algorithms/lww/mergeServerWithLocal.js';
import type { Change, JSONPatchOp } from '../../../src/types.js';

function change(ops: JSONPatchOp[], rev = 5): Change {
  return { id: `c${rev}`, baseRev: rev - 1, rev, createdAt: 1, committedAt: 2, ops, clientId: 'other' };
}

const opsOf = (changes: Change[]): JSONPatchOp[] => changes.flatMap((c) => c.ops);

/** What the doc shows after applying `merged` to its current view `committed ⊕ local`. */
function shown(committed: unknown, local: JSONPatchOp[], merged: Change[]): unknown {
  const view = applyPatch(committed, local, { mode: 'lenient' });
  return applyPatch(view, opsOf(merged), { mode: 'lenient' });
}

/**
 * Drops empty objects. A server op dropped under a local ancestor write would have created that
 * ancestor's missing parents as empty objects in `committed ⊕ local`; the LWW server never
 * stores them either (the local write deletes the child row), so they are not a difference.
 */
function prune(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const pruned = prune(child);
    if (typeof pruned === 'object' && pruned !== null && !Array.isArray(pruned) && Object.keys(pruned).length === 0) continue;
    out[key] = pruned;
  }
  return out;
}

/** What the doc should show: the new committed state with the local ops on top. */
function expected(committed: unknown, local: JSONPatchOp[], server: Change[]): unknown {
  const next = applyPatch(committed, opsOf(server), { mode: 'lenient' });
  return applyPatch(next, local, { mode: 'lenient' });
}

describe('mergeServerWithLocal', () => {
  it('should return the server changes untouched when there are no local ops', () => {
    const server = [change([{ op: 'replace', path: '/a', value: 1 }])];
    expect(mergeServerWithLocal(server, [])).toBe(server);
  });

  it('should return nothing when the server sent nothing', () => {
    expect(mergeServerWithLocal([], [{ op: 'replace', path: '/a', value: 1 }])).toEqual([]);
  });

  it('should apply a local delta to the server value at the same path', () => {
    const merged = mergeServerWithLocal([change([{ op: 'replace', path: '/n', value: 10, ts: 3, rev: 5 }])], [{ op: '@inc', path: '/n', value: 1, ts: 4 }]);
    expect(opsOf(merged)).toEqual([{ op: 'replace', path: '/n', value: 11, ts: 3, rev: 5 }]);
  });

  it('should turn a server remove plus a local delta into a replace from a fresh base', () => {
    const merged = mergeServerWithLocal([change([{ op: 'remove', path: '/n' }])], [{ op: '@max', path: '/n', value: 7 }]);
    expect(opsOf(merged)).toEqual([{ op: 'replace', path: '/n', value: 7 }]);
  });

  it('in-flight shield: an older foreign broadcast does not overwrite the value the user just wrote', () => {
    const local: JSONPatchOp[] = [{ op: 'replace', path: '/title', value: 'mine', ts: 9 }];
    const merged = mergeServerWithLocal([change([{ op: 'replace', path: '/title', value: 'theirs', ts: 3 }])], local);
    expect(opsOf(merged)[0]).toEqual({ op: 'replace', path: '/title', value: 'mine', ts: 3 });
    expect(shown({ title: 'old' }, local, merged)).toEqual({ title: 'mine' });
  });

  it('should turn a server value into a remove when the pending local op removes it', () => {
    const merged = mergeServerWithLocal([change([{ op: 'replace', path: '/a', value: 1 }])], [{ op: 'remove', path: '/a' }]);
    expect(opsOf(merged).slice(0, 2)).toEqual([{ op: 'replace', path: '/a', value: 1 }, { op: 'remove', path: '/a' }]);
    expect(shown({ a: 0 }, [{ op: 'remove', path: '/a' }], merged)).toEqual({});
  });

  it('should drop a server op under a local write to an ancestor', () => {
    const local: JSONPatchOp[] = [{ op: 'replace', path: '/counters', value: { words: 0 } }];
    const merged = mergeServerWithLocal([change([{ op: 'replace', path: '/counters/words', value: 500 }])], local);
    expect(merged[0].ops.filter((op) => op.path === '/counters/words')).toEqual([]);
    expect(shown({}, local, merged)).toEqual({ counters: { words: 0 } });
  });

  it('should not let a local delta shield the subtree below it', () => {
    const merged = mergeServerWithLocal([change([{ op: 'replace', path: '/p/x', value: 1 }])], [{ op: '@inc', path: '/p', value: 1 }]);
    expect(merged[0].ops[0]).toEqual({ op: 'replace', path: '/p/x', value: 1 });
  });

  it('should append local writes the server did not touch to the last change, keeping change fields', () => {
    const local: JSONPatchOp[] = [{ op: 'replace', path: '/mine', value: 'x' }];
    const server = [change([{ op: 'replace', path: '/a', value: 1 }], 5), change([{ op: 'replace', path: '/b', value: 2 }], 6)];
    const merged = mergeServerWithLocal(server, local);
    expect(merged).toEqual([server[0], { ...server[1], ops: [...server[1].ops, ...local] }]);
  });

  it('follower heal: a pending delta is not applied twice when an unrelated field changes', () => {
    const local: JSONPatchOp[] = [{ op: '@inc', path: '/count', value: 1 }];
    const merged = mergeServerWithLocal([change([{ op: 'replace', path: '/title', value: 'T' }])], local);
    expect(opsOf(merged)).toEqual([{ op: 'replace', path: '/title', value: 'T' }]);
    expect(shown({ count: 5 }, local, merged)).toEqual({ count: 6, title: 'T' });
  });

  it('should replay a pending delta whose parent the server replaced', () => {
    const local: JSONPatchOp[] = [{ op: '@inc', path: '/stats/count', value: 1 }];
    const merged = mergeServerWithLocal([change([{ op: 'replace', path: '/stats', value: { count: 10 } }])], local);
    expect(shown({ stats: { count: 5 } }, local, merged)).toEqual({ stats: { count: 11 } });
  });

  it('should replay local writes in order when the server replaced an ancestor of both', () => {
    const local: JSONPatchOp[] = [
      { op: 'replace', path: '/p/x', value: 3 },
      { op: 'replace', path: '/p', value: { y: 1 } },
    ];
    const server = [change([{ op: 'replace', path: '/p', value: { z: 9 } }])];
    expect(shown({}, local, mergeServerWithLocal(server, local))).toEqual({ p: { y: 1 } });
  });

  it('should combine the sending and the pending op at one path in order', () => {
    const local: JSONPatchOp[] = [
      { op: '@inc', path: '/n', value: 1 },
      { op: '@inc', path: '/n', value: 2 },
    ];
    const merged = mergeServerWithLocal([change([{ op: 'replace', path: '/n', value: 10 }])], local);
    expect(opsOf(merged)).toEqual([{ op: 'replace', path: '/n', value: 13 }]);
  });

  it('should leave the doc showing the new committed state with the local ops on top, for any ops', () => {
    const leaf = fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constant(null));
    const zValue = fc.record({ w: leaf }, { requiredKeys: [] });
    const aValue = fc.record({ x: leaf, y: leaf, z: zValue }, { requiredKeys: [] });
    const committed = fc.record({ a: aValue, b: leaf }, { requiredKeys: [] });
    const containerOps = (path: string, value: fc.Arbitrary<Record<string, unknown>>) => [
      value.map((v): JSONPatchOp => ({ op: 'replace', path, value: v })),
      fc.constant<JSONPatchOp>({ op: 'remove', path }),
    ];
    const leafOps = (path: string, withDeltas: boolean) => [
      leaf.map((v): JSONPatchOp => ({ op: 'replace', path, value: v })),
      fc.constant<JSONPatchOp>({ op: 'remove', path }),
      ...(withDeltas
        ? [
            fc.integer({ min: -3, max: 3 }).map((v): JSONPatchOp => ({ op: '@inc', path, value: v })),
            fc.tuple(fc.constantFrom('@max', '@min'), fc.integer({ min: -3, max: 3 })).map(([op, v]): JSONPatchOp => ({ op, path, value: v })),
          ]
        : []),
    ];
    const opAt = (withDeltas: boolean) =>
      fc.oneof(
        ...containerOps('/a', aValue),
        ...containerOps('/a/z', zValue),
        ...leafOps('/a/x', withDeltas),
        ...leafOps('/a/y', withDeltas),
        ...leafOps('/a/z/w', withDeltas),
        ...leafOps('/b', withDeltas),
      );
    const serverChanges = fc.array(fc.array(opAt(false), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }).map((lists) => lists.map((ops, i) => change(ops, i + 5)));
    fc.assert(
      fc.property(committed, fc.array(opAt(true), { maxLength: 6 }), serverChanges, (state, local, server) => {
        expect(prune(shown(state, local, mergeServerWithLocal(server, local)))).toEqual(prune(expected(state, local, server)));
      }),
      { numRuns: 500 },
    );
  });
});
