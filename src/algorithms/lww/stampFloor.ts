import type { Change, JSONPatchOp } from '../../types.js';

/**
 * The highest `ts` among `ops` (−∞ when none has one).
 *
 * @example
 * highestTs([{ op: 'replace', path: '/a', value: 1, ts: 5 }, { op: 'remove', path: '/b' }]); // 5
 */
export function highestTs(ops: Iterable<JSONPatchOp>): number {
  let highest = -Infinity;
  for (const op of ops) if (typeof op.ts === 'number' && op.ts > highest) highest = op.ts;
  return highest;
}

/**
 * An LWW doc's stored stamp floor (`StoredDoc.stampFloor`) after a write of `ops` (or of the ops
 * of `changes`): the highest `ts` the doc's store has taken, its own saved edits and the server's
 * rows alike; `undefined` while none carried one. Stores raise it in the write that takes them.
 *
 * @example
 * raisedFloor(3, [{ op: 'replace', path: '/a', value: 1, ts: 5 }]); // 5
 * raisedFloor(9, [{ op: 'replace', path: '/a', value: 1, ts: 5 }]); // 9
 */
export function raisedFloor(floor: number | undefined, ops: Iterable<JSONPatchOp>): number | undefined {
  const highest = highestTs(ops);
  if (!Number.isFinite(highest)) return floor;
  return floor === undefined || highest > floor ? highest : floor;
}

/** `raisedFloor` over every op of `changes`. */
export function raisedFloorBy(floor: number | undefined, changes: readonly Change[]): number | undefined {
  let next = floor;
  for (const change of changes) next = raisedFloor(next, change.ops);
  return next;
}
