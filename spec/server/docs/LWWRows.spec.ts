import fc from 'fast-check';
import { LWWRows } from '../../../src/server/docs/LWWRows.js';
import type { JSONPatchOp } from '../../../src/types.js';
import { runToEnd } from '../../../src/util/steps.js';

/** A path of up to three segments from few names, so paths often meet (and `/a` sorts next to `/a0` and `/a/b`). */
const path = fc.array(fc.constantFrom('a', 'a0', 'b'), { maxLength: 3 }).map(segments => segments.map(s => `/${s}`).join(''));

/** One commit: rows to store (one per path) and paths to delete, as `LWWDocService` writes them. */
const commit = fc.record({
  save: fc.uniqueArray(fc.record({ path, ts: fc.integer({ min: 1, max: 3 }), remove: fc.boolean() }), { selector: r => r.path, maxLength: 4 }),
  remove: fc.array(path, { maxLength: 2 }),
});

/** The rows as a plain map, scanned whole for each question: what the server did before the index. */
class ScannedRows {
  readonly map = new Map<string, JSONPatchOp>();
  write(save: JSONPatchOp[], remove: string[]): void {
    for (const p of remove) this.map.delete(p);
    for (const row of save) this.map.set(row.path, row);
  }
}

const isUnder = (p: string, parent: string) => p.length > parent.length && p.startsWith(parent) && p.charCodeAt(parent.length) === 47;
const depth = (p: string) => p.split('/').length;
const byPath = (rows: JSONPatchOp[]) => [...rows].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

describe('LWWRows', () => {
  it('should answer every question as a scan of the rows would', () => {
    fc.assert(
      fc.property(fc.array(commit, { maxLength: 12 }), fc.array(path, { minLength: 1, maxLength: 3 }), fc.nat(14), (commits, asked, rev) => {
        const rows = new LWWRows();
        const scanned = new ScannedRows();
        commits.forEach(({ save, remove }, i) => {
          const stored: JSONPatchOp[] = save.map(r => (r.remove ? { op: 'remove', path: r.path, ts: r.ts, rev: i + 1 } : { op: 'replace', path: r.path, value: i, ts: r.ts, rev: i + 1 }));
          const removed = remove.filter(p => !save.some(r => r.path === p));
          rows.write(stored, removed);
          scanned.write(stored, removed);
        });
        const all = [...scanned.map.values()];
        expect([...rows.values()]).toEqual(all);
        expect(rows.size).toBe(all.length);
        // Beside each asked path, the first value below its parent outside every asked path (what keeps that parent standing).
        const besides = asked.map(p => (p.lastIndexOf('/') > 0 ? p.slice(0, p.lastIndexOf('/')) : '')).flatMap(parent =>
          parent === '' ? [] : byPath(all).filter(r => isUnder(r.path, parent) && r.op !== 'remove' && !asked.some(p => r.path === p || isUnder(r.path, p))).slice(0, 1),
        );
        expect(rows.meeting(asked)).toEqual(byPath([...new Set([...all.filter(r => asked.some(p => r.path === p || isUnder(r.path, p) || isUnder(p, r.path))), ...besides])]));
        expect(rows.atOrUnder(asked)).toEqual(byPath(all.filter(r => asked.some(p => r.path === p || isUnder(r.path, p)))));
        expect(byPath(rows.since(rev))).toEqual(byPath(all.filter(r => (r.rev ?? 0) > rev)));
        // Stable over the order paths were first stored: a sort of the map's rows gives the same.
        expect(rows.inCommitOrder(byPath(all))).toEqual([...all].sort((a, b) => (a.rev ?? 0) - (b.rev ?? 0) || (a.ts ?? 0) - (b.ts ?? 0) || depth(a.path) - depth(b.path)));
      }),
      { numRuns: 1000 },
    );
  });

  it('should write a large write prepared ahead as it writes it at once, and one prepared before another write as if unprepared', () => {
    // Writes of up to 80 rows over ~120 paths: many take the prepared merge (more than 32 rows).
    const bigPath = fc.tuple(fc.constantFrom('a', 'a0', 'b'), fc.integer({ min: 0, max: 39 })).map(([bucket, field]) => `/${bucket}/f${field}`);
    const bigCommit = fc.record({
      save: fc.uniqueArray(fc.record({ path: fc.oneof(bigPath, path), ts: fc.integer({ min: 1, max: 3 }), remove: fc.boolean() }), { selector: r => r.path, maxLength: 80, size: 'max' }),
      remove: fc.array(fc.oneof(bigPath, path), { maxLength: 40, size: 'max' }),
      stale: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(bigCommit, { maxLength: 8 }), fc.array(path, { minLength: 1, maxLength: 3 }), fc.nat(17), (commits, asked, rev) => {
        const prepared = new LWWRows();
        const atOnce = new LWWRows();
        commits.forEach(({ save, remove, stale }, i) => {
          const stored: JSONPatchOp[] = save.map(r => (r.remove ? { op: 'remove', path: r.path, ts: r.ts, rev: 2 * i + 2 } : { op: 'replace', path: r.path, value: i, ts: r.ts, rev: 2 * i + 2 }));
          const removed = remove.filter(p => !save.some(r => r.path === p));
          const ahead = runToEnd(prepared.prepareWrite(stored, removed));
          // Another write between the preparation and its write: the prepared order is not used.
          const between: JSONPatchOp[] = [{ op: 'replace', path: `/between${i}`, value: i, ts: 1, rev: 2 * i + 1 }];
          if (stale) {
            prepared.write(between, []);
            atOnce.write(between, []);
          }
          prepared.write(stored, removed, ahead);
          atOnce.write(stored, removed);
        });
        expect([...prepared.values()]).toEqual([...atOnce.values()]);
        expect(prepared.meeting(asked)).toEqual(atOnce.meeting(asked));
        expect(prepared.atOrUnder(asked)).toEqual(atOnce.atOrUnder(asked));
        expect(prepared.meeting([''])).toEqual(atOnce.meeting(['']));
        expect(prepared.since(rev)).toEqual(atOnce.since(rev));
      }),
      { numRuns: 300 },
    );
  });

  it('should put many rows in commit order as the comparison of each pair does, in steps', () => {
    const rows = new LWWRows();
    const written: JSONPatchOp[] = Array.from({ length: 20_000 }, (_, i) => ({ op: 'replace', path: `/b${i % 10}${i % 3 ? `/f${i}` : ''}`, value: i, ts: i % 5, rev: 1 + (i % 4) }));
    for (const row of written) rows.write([row], []);
    const stored = [...rows.values()];
    const seq = new Map(stored.map((row, i) => [row.path, i]));
    const expected = stored.slice().reverse().sort((a, b) => (a.rev ?? 0) - (b.rev ?? 0) || (a.ts ?? 0) - (b.ts ?? 0) || depth(a.path) - depth(b.path) || seq.get(a.path)! - seq.get(b.path)!);
    const steps = rows.inCommitOrderSteps(stored.slice().reverse());
    let yields = 0;
    let step = steps.next();
    for (; !step.done; step = steps.next()) yields++;
    expect(step.value).toEqual(expected);
    // ~13,000 rows: keyed in 3 steps, sorted in 4 runs, merged twice.
    expect(yields).toBeGreaterThanOrEqual(10);
  });

  it('should load a snapshot in any rev order and go on from it', () => {
    const rows = new LWWRows();
    rows.load([
      { op: 'replace', path: '/b', value: 1, ts: 1, rev: 3 },
      { op: 'replace', path: '/a', value: 2, ts: 1, rev: 1 },
      { op: 'replace', path: '/a/x', value: 3, ts: 1, rev: 2 },
    ]);
    expect([...rows.values()].map(r => r.path)).toEqual(['/b', '/a', '/a/x']);
    expect(rows.since(1).map(r => r.path).sort()).toEqual(['/a/x', '/b']);
    expect(rows.meeting(['/a/x/y']).map(r => r.path)).toEqual(['/a', '/a/x']);
    rows.write([{ op: 'replace', path: '/c', value: 4, ts: 2, rev: 4 }], ['/a/x']);
    expect(rows.since(2).map(r => r.path).sort()).toEqual(['/b', '/c']);
    expect(rows.atOrUnder(['/a']).map(r => r.path)).toEqual(['/a']);
  });

  it('should load a snapshot of more rows than a call may take as arguments', () => {
    const rows = new LWWRows();
    rows.load(Array.from({ length: 200_000 }, (_, i) => ({ op: 'replace', path: `/b${i % 100}/f${i}`, value: i, ts: 1, rev: 1 + (i % 7) })));
    expect(rows.size).toBe(200_000);
    expect(rows.meeting(['/b7/f107']).map(r => r.path)).toEqual(['/b7/f100007', '/b7/f107']); // the first sibling keeps /b7 standing
    expect(rows.since(6)).toHaveLength(28_571);
  });

  it('should find the rows newer than a rev after many writes of the same paths (its log compacted)', () => {
    const rows = new LWWRows();
    rows.write([{ op: 'replace', path: '/old', value: 0, ts: 1, rev: 1 }], []);
    for (let rev = 2; rev <= 3_000; rev++) rows.write([{ op: 'replace', path: `/p${rev % 3}`, value: rev, ts: rev, rev }], []);
    expect(rows.since(2_999).map(r => r.path)).toEqual(['/p0']);
    expect(rows.since(2_998).map(r => r.path).sort()).toEqual(['/p0', '/p2']);
    expect(rows.since(0).map(r => r.path).sort()).toEqual(['/old', '/p0', '/p1', '/p2']);
  });

  it('should put a parent before a field in it written at one rev and one ts, whatever order they were first stored in', () => {
    const rows = new LWWRows();
    rows.write([{ op: 'replace', path: '/p/a/b', value: 1, ts: 1, rev: 1 }], []);
    const parent = { op: 'replace', path: '/p/a', value: {}, ts: 5, rev: 2 };
    const child = { op: 'replace', path: '/p/a/b', value: 2, ts: 5, rev: 2 };
    rows.write([parent, child], []);
    expect(rows.inCommitOrder([child, parent])).toEqual([parent, child]);
  });
});
