import { applyCommittedChanges } from '../../src/algorithms/applyCommittedChanges.js';
import { ApplyChangesError, MissingChangesError, PatchError } from '../../src/errors.js';
import type { Change, JSONPatchOp } from '../../src/types.js';

function committed(id: string, rev: number, ops: JSONPatchOp[]): Change {
  return { id, rev, baseRev: rev - 1, ops, createdAt: 1, committedAt: 100 + rev };
}
function pendingChange(id: string, rev: number, ops: JSONPatchOp[], baseRev = rev - 1): Change {
  return { id, rev, baseRev, ops, createdAt: 1, committedAt: 0 };
}
const inc = (path: string, value = 1): JSONPatchOp => ({ op: '@inc', path, value });

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

describe('applyCommittedChanges', () => {
  it('should apply contiguous new changes and report them, without touching frozen inputs', () => {
    const base = deepFreeze({ state: { n: 1, l: ['a'] }, rev: 3 });
    const changes = deepFreeze([committed('x', 4, [inc('/n')]), committed('y', 5, [{ op: 'add', path: '/l/-', value: 'b' }])]);
    const result = applyCommittedChanges(base, changes, []);
    expect(result).toEqual({ state: { n: 2, l: ['a', 'b'] }, rev: 5, applied: changes, pending: [] });
    expect(base.state).toEqual({ n: 1, l: ['a'] });
  });

  it('should replay a brand-new document from a null state', () => {
    const result = applyCommittedChanges({ state: null, rev: 0 }, [committed('x', 1, [{ op: 'replace', path: '/title', value: 'Hi' }])], []);
    expect(result.state).toEqual({ title: 'Hi' });
    expect(result.rev).toBe(1);
  });

  it('should return the committed state and pending queue as they are when nothing is new', () => {
    const base = { state: { n: 1 }, rev: 3 };
    const pending = [pendingChange('p', 4, [inc('/n')])];
    const result = applyCommittedChanges(base, [], pending);
    expect(result.state).toBe(base.state);
    expect(result.rev).toBe(3);
    expect(result.pending).toBe(pending);
    expect(result.applied).toEqual([]);
  });

  it('should skip stale changes (rev at or below the committed rev) instead of applying them twice', () => {
    const base = { state: { n: 5 }, rev: 5 };
    const result = applyCommittedChanges(base, [committed('old', 4, [inc('/n')]), committed('x', 6, [inc('/n')])], []);
    expect(result.state).toEqual({ n: 6 });
    expect(result.applied.map((c) => c.id)).toEqual(['x']);
  });

  it('a redundant (already applied) own echo still confirms a stranded pending copy', () => {
    const base = { state: { n: 5 }, rev: 5 };
    const pending = [pendingChange('mine', 6, [inc('/n')], 5), pendingChange('later', 7, [inc('/m')], 5)];
    const result = applyCommittedChanges(base, [committed('mine', 5, [inc('/n')])], pending);
    expect(result.state).toBe(base.state);
    expect(result.pending).toEqual([pending[1]]);
  });

  it('should drop own echoes from pending untransformed and rebase the rest over foreign changes', () => {
    const base = { state: { l: ['x'] }, rev: 2 };
    const pending = [pendingChange('mine', 3, [{ op: 'add', path: '/l/0', value: 'a' }], 2), pendingChange('next', 4, [{ op: 'replace', path: '/l/1', value: 'X' }], 2)];
    const result = applyCommittedChanges(base, [committed('f', 3, [{ op: 'add', path: '/l/0', value: 'f' }]), committed('mine', 4, [{ op: 'add', path: '/l/0', value: 'a' }])], pending);
    expect(result.state).toEqual({ l: ['a', 'f', 'x'] });
    expect(result.pending).toEqual([{ ...pending[1], ops: [{ op: 'replace', path: '/l/2', value: 'X' }], baseRev: 4, rev: 5 }]);
  });

  it("should take the server's head state instead of applying the changes (one of which fails on ours), still rebasing pending over them", () => {
    const bad = committed('s2', 2, [{ op: 'replace', path: '/items/0', value: 'x' }]);
    const local = [pendingChange('p1', 2, [{ op: 'add', path: '/items/0', value: 'mine' }], 1)];
    const ours = { state: { items: [] as string[] }, rev: 1 };
    expect(() => applyCommittedChanges(ours, [bad], local)).toThrow(ApplyChangesError);

    const result = applyCommittedChanges(ours, [bad], local, { head: { state: { items: ['x'] }, rev: 2 } });
    expect(result).toEqual({ state: { items: ['x'] }, rev: 2, applied: [bad], pending: [{ ...local[0], baseRev: 2, rev: 3 }] });
    // A head at another rev than the last change's is not the state after them: it is ignored.
    expect(() => applyCommittedChanges(ours, [bad], local, { head: { state: { items: ['x'] }, rev: 5 } })).toThrow(ApplyChangesError);
  });

  it('should throw MissingChangesError on a gap before the first new change', () => {
    const error = captureError(() => applyCommittedChanges({ state: {}, rev: 3 }, [committed('x', 5, [inc('/n')])], []));
    expect(error).toBeInstanceOf(MissingChangesError);
    expect(error).toMatchObject({ name: 'MissingChangesError', expectedRev: 4, gotRev: 5, sinceRev: 3 });
  });

  it('interior rev holes in a committed batch are refused, never silently skipped', () => {
    const error = captureError(() => applyCommittedChanges({ state: {}, rev: 3 }, [committed('x', 4, [inc('/n')]), committed('y', 6, [inc('/n')])], []));
    expect(error).toMatchObject({ name: 'MissingChangesError', expectedRev: 5, gotRev: 6, sinceRev: 3 });
  });

  it('should refuse a different change claiming a rev already in the batch', () => {
    const error = captureError(() => applyCommittedChanges({ state: {}, rev: 3 }, [committed('x', 4, [inc('/n')]), committed('y', 4, [inc('/n')])], []));
    expect(error).toBeInstanceOf(MissingChangesError);
  });

  it('should take the batch in rev order and ignore a second copy of a change', () => {
    const x = committed('x', 4, [inc('/n')]);
    const y = committed('y', 5, [{ op: 'replace', path: '/n', value: 10 }]);
    const result = applyCommittedChanges({ state: { n: 0 }, rev: 3 }, [y, x, x], []);
    expect(result.state).toEqual({ n: 10 });
    expect(result.applied).toEqual([x, y]);
  });

  it('a root-replace catch-up may skip revs and empties pending', () => {
    const pending = [pendingChange('p1', 2, [inc('/n')], 1), pendingChange('p2', 3, [{ op: 'replace', path: '/t', value: 'x' }], 1)];
    const catchup = committed('catchup', 40, [{ op: 'replace', path: '', value: { n: 7, t: 'server' } }]);
    const result = applyCommittedChanges({ state: { n: 1 }, rev: 1 }, [catchup, committed('after', 41, [inc('/n')])], pending);
    expect(result.state).toEqual({ n: 8, t: 'server' });
    expect(result.rev).toBe(41);
    expect(result.pending).toEqual([]);
  });

  it('should not let a root replace skip revs when it is not the first new change', () => {
    const error = captureError(() =>
      applyCommittedChanges({ state: {}, rev: 1 }, [committed('x', 2, [inc('/n')]), committed('r', 9, [{ op: 'replace', path: '', value: {} }])], []),
    );
    expect(error).toMatchObject({ name: 'MissingChangesError', expectedRev: 3, gotRev: 9 });
  });

  it('should throw ApplyChangesError naming the change when a committed change fails strict apply', () => {
    const bad = committed('bad', 5, [{ op: 'remove', path: '/l/3' }]);
    const base = deepFreeze({ state: { l: [] as string[] }, rev: 3 });
    const error = captureError(() => applyCommittedChanges(base, [committed('ok', 4, [inc('/n')]), bad], []));
    expect(error).toBeInstanceOf(ApplyChangesError);
    expect(error).toMatchObject({ name: 'ApplyChangesError', changeId: 'bad', rev: 5 });
    expect((error as ApplyChangesError).cause).toBeInstanceOf(PatchError);
    // Its op's index within its own change, whatever the changes before it in the run held.
    expect((error as ApplyChangesError).cause).toMatchObject({ opIndex: 0, path: '/l/3' });
    expect(base.state).toEqual({ l: [] });
  });

  // A broadcast of k appends to one long list copied it k times, once per change (the paced pair's
  // clients applied ~8 changes per frame to a list of up to 2,000 items).
  it('copies a list that a run of changes appends to once, not once per change', () => {
    const list = deepFreeze(Array.from({ length: 200 }, (_, i) => `item${i}`));
    const changes = [4, 5, 6].map(rev => committed(`c${rev}`, rev, [{ op: 'add', path: '/list/-', value: `new${rev}` }]));
    const slice = Array.prototype.slice;
    let copies = 0;
    // Every copy of an array a draft makes is a `slice()`; only those of the long list are counted.
    Array.prototype.slice = function (this: unknown[], ...args: [number?, number?]) {
      if (this.length >= 200 && this[0] === 'item0') copies++;
      return slice.apply(this, args);
    };
    let result: ReturnType<typeof applyCommittedChanges<{ list: string[] }>>;
    try {
      result = applyCommittedChanges({ state: { list }, rev: 3 }, changes, []);
    } finally {
      Array.prototype.slice = slice;
    }
    expect(result.state.list).toEqual([...list, 'new4', 'new5', 'new6']);
    expect(list).toHaveLength(200);
    expect(copies).toBe(1);
  });
});

function captureError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
