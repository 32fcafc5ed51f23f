import type { JSONPatchOp } from '../types.js';
import { highestTs } from '../algorithms/lww/stampFloor.js';

/**
 * The `ts` of an LWW edit: the clock, but never below a stamp the open doc has given or seen (a
 * hybrid clock per doc). A laptop clock stepped back (an NTP correction, a wake from sleep) would
 * otherwise stamp a user's later edit below their earlier one, which then wins over it, and a
 * writer whose clock runs behind would lose to a value they overwrote after it arrived. The
 * rows the server sends are stamped by the server's clamp (never past its clock), so the floor
 * cannot run ahead of the server's time by more than this device's own stamps did.
 *
 * Kept per open doc handle, so it holds no memory for closed docs. A handle starts from the floor
 * its store keeps with the doc (`StoredDoc.stampFloor`: the highest stamp among its saved edits
 * and the server rows it applied, raised by those writes), so a doc opened again, in this page
 * after `closeDoc`, after a reload or in another tab, stamps no lower than what it committed
 * before (found in review: with the clock stepped back, a later edit after a reopen reverted to
 * the earlier one once synced, silently). The stored floor is bounded as the in-memory one is.
 *
 * @example
 * const floors = new StampFloors();
 * floors.stamp(doc, 2_000, () => []); // 2000
 * floors.stamp(doc, 1_500, () => []); // 2000: the clock went back, the stamp does not
 */
export class StampFloors {
  private readonly floors = new WeakMap<object, { ts: number; seeded: boolean }>();

  /**
   * The stamp of an edit of `doc` made `now`, which becomes the doc's floor. `own` gives the
   * doc's local ops (pending, in flight): read once, at the doc's first stamp.
   */
  stamp(doc: object, now: number, own: () => Iterable<readonly JSONPatchOp[]>): number {
    const floor = this.floors.get(doc) ?? { ts: -Infinity, seeded: false };
    if (!floor.seeded) {
      for (const ops of own()) floor.ts = Math.max(floor.ts, highestTs(ops));
      floor.seeded = true;
    }
    floor.ts = Math.max(floor.ts, now);
    this.floors.set(doc, floor);
    return floor.ts;
  }

  /** Raises `doc`'s floor to `ts` (the store's `stampFloor` of the doc, read as it opened or followed another tab). */
  raise(doc: object, ts: number | undefined): void {
    if (ts === undefined || !Number.isFinite(ts)) return;
    const floor = this.floors.get(doc) ?? { ts: -Infinity, seeded: false };
    floor.ts = Math.max(floor.ts, ts);
    this.floors.set(doc, floor);
  }

  /** Raises `doc`'s floor to the stamps of `ops`: rows the server stored, now applied to it. */
  saw(doc: object, ops: Iterable<JSONPatchOp>): void {
    const highest = highestTs(ops);
    if (highest === -Infinity) return;
    const floor = this.floors.get(doc) ?? { ts: -Infinity, seeded: false };
    floor.ts = Math.max(floor.ts, highest);
    this.floors.set(doc, floor);
  }
}
