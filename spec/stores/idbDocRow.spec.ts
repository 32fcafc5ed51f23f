import { StoreError } from '../../src/errors.js';
import { extendsLog, keptStateRev, leadsFrom, logCovers, maybeAbandoned, opsLogged, pathsSince, replayTail, wentBack, type DocRow } from '../../src/stores/idbDocRow.js';
import type { Change, JSONPatchOp } from '../../src/types.js';

function change(rev: number, ops: JSONPatchOp[] = [{ op: 'replace', path: '/n', value: rev }]): Change {
  return { id: `c${rev}`, ops, baseRev: rev - 1, rev, createdAt: 1, committedAt: 2 };
}

const row = (fields: Partial<DocRow> = {}): DocRow => ({ docId: 'd', algorithm: 'ot', committedRev: 10, ...fields });

describe('keptStateRev', () => {
  const update = (revs: number[], extra = {}) => ({ state: {}, rev: revs[revs.length - 1] ?? 10, changes: revs.map((rev) => change(rev)), replayable: true, ...extra });

  it('should keep the state where it is for a vouched run of revs that follows the committed one', () => {
    expect(keptStateRev(row(), update([11, 12]), 50)).toBe(10);
    expect(keptStateRev(row({ stateRev: 4 }), update([11]), 50)).toBe(4);
  });

  it('should keep it for an update with no new changes at the committed rev (only the queue changed)', () => {
    expect(keptStateRev(row(), update([]), 50)).toBe(10);
  });

  it('should ask for the whole state once the tail would reach snapshotEvery', () => {
    expect(keptStateRev(row({ stateRev: 5 }), update([11, 12, 13, 14]), 10)).toBe(5);
    expect(keptStateRev(row({ stateRev: 5 }), update([11, 12, 13, 14, 15]), 10)).toBeUndefined();
  });

  it('should ask for the whole state when the writer does not vouch, the server went back, or the revs skip or come out of order', () => {
    expect(keptStateRev(row(), update([11], { replayable: undefined }), 50)).toBeUndefined();
    expect(keptStateRev(row(), update([11], { regressed: true }), 50)).toBeUndefined();
    expect(keptStateRev(row(), update([12]), 50)).toBeUndefined();
    expect(keptStateRev(row(), { ...update([12, 11]), rev: 12 }, 50)).toBeUndefined();
    expect(keptStateRev(row(), { ...update([11]), rev: 12 }, 50)).toBeUndefined();
  });
});

describe('extendsLog and logCovers', () => {
  it('should extend the log only with a vouched run of the next revs', () => {
    const update = (revs: number[], extra = {}) => ({ state: {}, rev: revs[revs.length - 1] ?? 10, changes: revs.map((rev) => change(rev)), replayable: true, ...extra });
    expect(extendsLog(row(), update([11, 12]))).toBe(true);
    expect(extendsLog(row(), update([]))).toBe(true);
    expect(extendsLog(row(), update([9]))).toBe(false); // a late reply at an old rev
    expect(extendsLog(row(), update([11], { replayable: false }))).toBe(false);
    expect(extendsLog(row(), update([11], { regressed: true }))).toBe(false);
  });

  it('should let rows bring forward a view at or past logFrom; a row from before it, only for OT', () => {
    expect([3, 4, 9].map((rev) => logCovers(row({ logFrom: 4 }), rev))).toEqual([false, true, true]);
    expect(logCovers(row(), 0)).toBe(true);
    expect(logCovers(row({ algorithm: 'lww' }), 5)).toBe(false);
  });
});

describe('wentBack and maybeAbandoned', () => {
  it('should cover the revs a view of the abandoned history may hold, and count every rewind, across several', () => {
    const once = wentBack(row({ committedRev: 10 }), 4);
    expect(once).toEqual({ rewound: { to: 4, from: 10 }, rewinds: 1 });
    // Inside the range already covered: the range stays, the count does not.
    const twice = wentBack(row({ committedRev: 7, ...once }), 6);
    expect(twice).toEqual({ rewound: { to: 4, from: 10 }, rewinds: 2 });
    const wider = wentBack(row({ committedRev: 15, ...twice }), 2);
    expect(wider).toEqual({ rewound: { to: 2, from: 15 }, rewinds: 3 });
    const rewound = row(once);
    expect([4, 5, 10, 11].map((rev) => maybeAbandoned(rewound, rev))).toEqual([false, true, true, false]);
    expect(maybeAbandoned(row(), 5)).toBe(false);
  });
});

describe('leadsFrom', () => {
  it('should be true only for every rev after the given one up to the committed rev, in order', () => {
    const rows = (revs: number[]) => revs.map((rev) => ({ rev }));
    expect(leadsFrom(rows([3, 4, 5]), 2, 5)).toBe(true);
    expect(leadsFrom(rows([]), 5, 5)).toBe(true);
    expect(leadsFrom(rows([3, 5]), 2, 5)).toBe(false);
    expect(leadsFrom(rows([4, 3, 5]), 2, 5)).toBe(false);
    expect(leadsFrom(rows([]), 6, 5)).toBe(false);
  });
});

describe('replayTail', () => {
  const queue = (algorithm: 'ot' | 'lww', committedRev: number) => ({ docId: 'd', algorithm, committedRev, pending: [], pendingOps: [], sending: null });
  const tail = (changes: Change[]) => changes.map((c) => ({ rev: c.rev, change: c }));

  it('should apply the rows after the state to it', () => {
    expect(replayTail(queue('ot', 3), { n: 1, keep: true }, 1, tail([change(2), change(3)]))).toEqual({ n: 3, keep: true });
  });

  it("should take an LWW doc's null state as {}, as LWW applies changes", () => {
    expect(replayTail(queue('lww', 1), null, 0, tail([change(1, [{ op: 'remove', path: '/x' }])]))).toEqual({});
    expect(replayTail(queue('ot', 1), null, 0, tail([change(1, [{ op: 'remove', path: '/x' }])]))).toBeNull();
  });

  it('should throw a StoreError when a row is missing or does not apply, never give an older state', () => {
    expect(() => replayTail(queue('ot', 3), { n: 1 }, 1, tail([change(3)]))).toThrow(StoreError);
    expect(() => replayTail(queue('ot', 2), { n: 1 }, 1, tail([change(2, [{ op: 'test', path: '/n', value: 9 }])]))).toThrow(/does not apply/);
  });
});

describe('opsLogged and pathsSince (the log of LWW pending-op writes)', () => {
  const paths = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `/${prefix}${i}`);

  it('should lead from any logged tag to the row tag, through writes that each start where the one before ended', () => {
    let log = opsLogged(undefined, 't1', 't2', ['/a']);
    log = opsLogged(log, 't2', 't3', ['/b', '/a/x']);
    log = opsLogged(log, 't3', 't4', ['/a']);
    const at = (tag: string) => ({ ...row({ algorithm: 'lww' }), queueTag: tag, opsLog: log });
    expect(pathsSince(at('t4'), 't1')).toEqual(new Set(['/a', '/b', '/a/x']));
    expect(pathsSince(at('t4'), 't3')).toEqual(new Set(['/a']));
    expect(pathsSince(at('t3'), 't2')).toEqual(new Set(['/b', '/a/x']));
    // A tag the log never had, or a row tag it does not lead to (another kind of write came since).
    expect(pathsSince(at('t4'), 't0')).toBeUndefined();
    expect(pathsSince(at('t9'), 't1')).toBeUndefined();
  });

  it('should not lead across a write it missed', () => {
    // t2 → t5 by a write that was not logged, then a logged one from t5.
    const log = opsLogged(opsLogged(undefined, 't1', 't2', ['/a']), 't5', 't6', ['/b']);
    expect(pathsSince({ ...row(), queueTag: 't6', opsLog: log }, 't1')).toBeUndefined();
    expect(pathsSince({ ...row(), queueTag: 't6', opsLog: log }, 't5')).toEqual(new Set(['/b']));
  });

  it('should keep the latest writes within its bounds, and nothing for a write over them or from no tag', () => {
    let log = opsLogged(undefined, 't0', 't1', paths(50, 'a'));
    log = opsLogged(log, 't1', 't2', paths(20, 'b'));
    expect(log.map(entry => entry.from)).toEqual(['t1']);
    for (let i = 2; i < 30; i++) log = opsLogged(log, `t${i}`, `t${i + 1}`, ['/c']);
    expect(log).toHaveLength(16);
    expect(log[0].from).toBe('t14');
    expect(opsLogged(log, 't30', 't31', paths(65, 'd'))).toEqual([]);
    expect(opsLogged(log, undefined, 't31', ['/d'])).toEqual([]);
  });
});
