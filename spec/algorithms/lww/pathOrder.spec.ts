import fc from 'fast-check';
import { consolidateOps } from '../../../src/algorithms/lww/consolidateOps.js';
import { afterWrite, byPathOrder, isInPathOrder, opsAtOrUnder, opsMeeting, writeInPlace } from '../../../src/algorithms/lww/pathOrder.js';
import type { JSONPatchOp } from '../../../src/types.js';

const op = (path: string, value: unknown, ts?: number): JSONPatchOp => ({ op: 'replace', path, value, ...(ts === undefined ? {} : { ts }) });
const paths = (ops: readonly JSONPatchOp[]) => ops.map(o => o.path);

/** A path of up to three segments, from few enough names that paths often meet (and `/a` sorts next to `/a0` and `/a/b`). */
const path = fc.array(fc.constantFrom('a', 'a0', 'b', '~1', 'é'), { maxLength: 3 }).map(segments => segments.map(s => `/${s}`).join(''));

/** Any op LWW stores: plain writes (objects, primitives), removes, soft writes, deltas, with and without timestamps. */
const lwwOp = fc.oneof(
  fc.record({ op: fc.constantFrom('replace', 'add'), path, value: fc.oneof(fc.integer(), fc.constant({}), fc.record({ a: fc.integer(), b: fc.record({ a: fc.integer() }) })), ts: fc.option(fc.integer({ min: 1, max: 9 }), { nil: undefined }) }),
  fc.record({ op: fc.constant('remove'), path, ts: fc.integer({ min: 1, max: 9 }) }),
  fc.record({ op: fc.constant('add'), path, value: fc.constant({}), soft: fc.constant(true), ts: fc.integer({ min: 1, max: 9 }) }),
  fc.record({ op: fc.constant('@inc'), path, value: fc.integer({ min: 1, max: 5 }), ts: fc.integer({ min: 1, max: 9 }) }),
).map(o => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as JSONPatchOp);

/** A stored set: one op per path, in path order, as stores hand pending ops out. */
const stored = fc.uniqueArray(lwwOp, { selector: o => o.path, maxLength: 40 }).map(ops => ops.sort(byPathOrder));

describe('byPathOrder / isInPathOrder', () => {
  it('should order paths by UTF-16 code units, as IndexedDB orders string keys', () => {
    const ops = [op('/é', 1), op('/Z', 2), op('/a', 3), op('/~1', 4), op('/a/b', 5), op('/a0', 6)];
    expect(paths([...ops].sort(byPathOrder))).toEqual(['/Z', '/a', '/a/b', '/a0', '/~1', '/é']);
  });

  it('should tell a path-ordered list from one out of order or with a path twice', () => {
    expect(isInPathOrder([op('/a', 1), op('/a/b', 2), op('/b', 3)])).toBe(true);
    expect(isInPathOrder([])).toBe(true);
    expect(isInPathOrder([op('/b', 1), op('/a', 2)])).toBe(false);
    expect(isInPathOrder([op('/a', 1), op('/a', 2)])).toBe(false);
  });
});

describe('opsMeeting', () => {
  const list = [op('/a', {}), op('/a/b', 1), op('/a/b/c', 2), op('/a0', 3), op('/ab', 4), op('/b', 5)];

  it('should find the ops at a path, above it and below it, and nothing beside it', () => {
    expect(paths(opsMeeting(list, ['/a/b']))).toEqual(['/a', '/a/b', '/a/b/c']);
    expect(paths(opsMeeting(list, ['/a']))).toEqual(['/a', '/a/b', '/a/b/c']);
    expect(paths(opsMeeting(list, ['/a0/x']))).toEqual(['/a0']);
    expect(paths(opsMeeting(list, ['/c']))).toEqual([]);
  });

  it('should keep the list order and each op once when several paths meet it', () => {
    expect(paths(opsMeeting(list, ['/b', '/a/b/c', '/a']))).toEqual(['/a', '/a/b', '/a/b/c', '/b']);
  });

  it('should add the first value beside a path that keeps its parent standing, skipping removals and the paths asked', () => {
    const siblings = [op('/o/a', 1), op('/o/b', 2), { op: 'remove' as const, path: '/o/c', ts: 1 }, op('/o/d/e', 3), op('/o/f', 4)];
    expect(paths(opsMeeting(siblings, ['/o/a']))).toEqual(['/o/a', '/o/b']);
    expect(paths(opsMeeting(siblings, ['/o/a', '/o/b']))).toEqual(['/o/a', '/o/b', '/o/d/e']);
    expect(paths(opsMeeting(siblings, ['/o/d', '/o/a', '/o/b']))).toEqual(['/o/a', '/o/b', '/o/d/e', '/o/f']);
  });

  it('should give every op to a write at the root', () => {
    expect(opsMeeting(list, ['/x', ''])).toEqual(list);
    expect(paths(opsMeeting([op('', {}), ...list], ['/b']))).toEqual(['', '/b']);
  });

  it('should leave consolidateOps with the result it gives on the whole list', () => {
    fc.assert(
      fc.property(stored, fc.array(lwwOp, { minLength: 1, maxLength: 4 }), (existing, incoming) => {
        expect(consolidateOps(opsMeeting(existing, paths(incoming)), incoming)).toEqual(consolidateOps(existing, incoming));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('opsAtOrUnder', () => {
  const list = [op('/a', {}), op('/a/b', 1), op('/a/b/c', 2), op('/a0', 3), op('/b', 5)];

  it('should find the ops at a path and below it, not above it nor beside it', () => {
    expect(paths(opsAtOrUnder(list, ['/a/b']))).toEqual(['/a/b', '/a/b/c']);
    expect(paths(opsAtOrUnder(list, ['/a/b/c/d', '/a0']))).toEqual(['/a0']);
    expect(paths(opsAtOrUnder(list, ['/b', '/a']))).toEqual(['/a', '/a/b', '/a/b/c', '/b']);
    expect(opsAtOrUnder(list, [''])).toEqual(list);
  });

  it('should find what a scan for paths equal to or under each path finds', () => {
    fc.assert(
      fc.property(stored, fc.array(path, { maxLength: 4 }), (list, wanted) => {
        const under = (p: string, parent: string) => p === parent || (parent === '' ? p.startsWith('/') : p.startsWith(`${parent}/`));
        expect(opsAtOrUnder(list, wanted)).toEqual(list.filter(o => wanted.some(w => under(o.path, w))));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('afterWrite', () => {
  it('should delete the paths, then upsert the ops by path, in path order, leaving its input as it was', () => {
    const current = [op('/a', 1), op('/c', 3), op('/c/x', 4)];
    expect(afterWrite(current, [op('/b', 2), op('/a', 9)], ['/c', '/a'])).toEqual([op('/a', 9), op('/b', 2), op('/c/x', 4)]);
    expect(current).toEqual([op('/a', 1), op('/c', 3), op('/c/x', 4)]);
  });

  it('should write the list itself with writeInPlace', () => {
    const list = [op('/a', 1), op('/c', 3)];
    expect(writeInPlace(list, [op('/b', 2)], ['/a'])).toBe(list);
    expect(list).toEqual([op('/b', 2), op('/c', 3)]);
  });

  it('should pass over a path to delete that is not there', () => {
    expect(afterWrite([op('/a', 1)], [], ['/b', '/a/x'])).toEqual([op('/a', 1)]);
  });

  it.each([
    ['a few ops, spliced in', 0, 5, 4],
    ['more than 32 ops and paths, merged in', 20, 60, 40],
  ])('should give what upserting into a map by path and sorting gives (%s)', (_, least, opCount, deleteCount) => {
    fc.assert(
      fc.property(stored, fc.array(lwwOp, { minLength: least, maxLength: opCount }), fc.array(path, { minLength: least, maxLength: deleteCount }), (current, ops, deletes) => {
        const toSave = ops.filter((o, i) => !deletes.includes(o.path) && ops.findIndex(x => x.path === o.path) === i);
        const byPath = new Map(current.map(o => [o.path, o]));
        for (const p of deletes) byPath.delete(p);
        for (const o of toSave) byPath.set(o.path, o);
        expect(afterWrite(current, toSave, deletes)).toEqual([...byPath.values()].sort(byPathOrder));
      }),
      { numRuns: 1000 },
    );
  });
});
