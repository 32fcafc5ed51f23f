import type { JSONPatchOp } from '../../types.js';
import { byPathOrder, opsAtOrUnder, opsMeeting, writeInPlace } from '../../algorithms/lww/pathOrder.js';
import { pointerDepth } from '../../algorithms/jsonPointer.js';

/**
 * The stored rows of an LWW document (one `replace`/`remove` row per path, with `ts` and `rev`),
 * indexed for what a commit asks of them: the rows a new op meets (at, above or below its path),
 * the rows at or below the paths a reply covers, and the rows newer than the rev a client has.
 * Each is found without a scan of the document, so a commit to a doc of 100,000 fields costs
 * about what one to a doc of 100 does; a plain map made each commit a scan of every row.
 *
 * @example
 * const rows = new LWWRows();
 * rows.write([{ op: 'replace', path: '/a', value: 1, ts: 5, rev: 1 }], []);
 * rows.since(0); // [{ op: 'replace', path: '/a', value: 1, ts: 5, rev: 1 }]
 */
export class LWWRows {
  /** path → row, in the order paths were first stored (a path deleted and stored again goes last). */
  private readonly byPath = new Map<string, JSONPatchOp>();
  /** Each path's place in `byPath`'s order, the last tie-break of {@link inCommitOrder}. */
  private readonly seq = new Map<string, number>();
  private nextSeq = 0;
  /** The same rows in path order: a path's subtree is one run of it. */
  private sorted: JSONPatchOp[] = [];
  /** The rev and path of every row write, in rev order (a path may be listed at older revs too): compacted when it outgrows the rows. */
  private logRevs: number[] = [];
  private logPaths: string[] = [];

  /** How many rows. */
  get size(): number {
    return this.byPath.size;
  }

  /** Every row, in the order paths were first stored. */
  values(): IterableIterator<JSONPatchOp> {
    return this.byPath.values();
  }

  /** Stores the rows of a snapshot (any order) in an empty instance. */
  load(rows: readonly JSONPatchOp[]): void {
    for (const row of rows) {
      if (!this.seq.has(row.path)) this.seq.set(row.path, this.nextSeq++);
      this.byPath.set(row.path, row);
    }
    // Assigned, not pushed as arguments: a spread of more than ~120,000 overflows the stack.
    this.sorted = [...this.byPath.values()].sort(byPathOrder);
    this.compactLog();
  }

  /** Deletes the rows at `remove`, then stores `save` (one row per path, at a rev past every row stored before). */
  write(save: readonly JSONPatchOp[], remove: readonly string[]): void {
    for (const path of remove) {
      this.byPath.delete(path);
      this.seq.delete(path);
    }
    for (const row of save) {
      if (!this.seq.has(row.path)) this.seq.set(row.path, this.nextSeq++);
      this.byPath.set(row.path, row);
      this.logRevs.push(row.rev ?? 0);
      this.logPaths.push(row.path);
    }
    writeInPlace(this.sorted, save, remove);
    if (this.logRevs.length > 2 * this.byPath.size + 1_000) this.compactLog();
  }

  /** The rows at, above or below any of `paths` (what `consolidateOps` looks at), in path order. */
  meeting(paths: Iterable<string>): JSONPatchOp[] {
    return opsMeeting(this.sorted, paths);
  }

  /** The rows at or below any of `paths`, in path order. */
  atOrUnder(paths: Iterable<string>): JSONPatchOp[] {
    return opsAtOrUnder(this.sorted, paths);
  }

  /** The rows stored at a rev after `rev`. */
  since(rev: number): JSONPatchOp[] {
    let low = 0;
    let high = this.logRevs.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.logRevs[mid] <= rev) low = mid + 1;
      else high = mid;
    }
    const out = new Map<string, JSONPatchOp>();
    for (let i = low; i < this.logPaths.length; i++) {
      const row = this.byPath.get(this.logPaths[i]);
      if (row !== undefined && (row.rev ?? 0) > rev) out.set(row.path, row);
    }
    return [...out.values()];
  }

  /**
   * Rows in the order a client applies them: by rev, then ts, then depth (a parent and a field
   * in it written at one rev and one ts: the parent first, or its value would wipe the field),
   * then the order their paths were first stored in.
   */
  inCommitOrder(rows: readonly JSONPatchOp[]): JSONPatchOp[] {
    const seqOf = (row: JSONPatchOp) => this.seq.get(row.path) ?? Number.MAX_SAFE_INTEGER;
    return rows.slice().sort((a, b) => (a.rev ?? 0) - (b.rev ?? 0) || (a.ts ?? 0) - (b.ts ?? 0) || pointerDepth(a.path) - pointerDepth(b.path) || seqOf(a) - seqOf(b));
  }

  /** The log again, one entry per row at its rev. */
  private compactLog(): void {
    const rows = [...this.byPath.values()].sort((a, b) => (a.rev ?? 0) - (b.rev ?? 0));
    this.logRevs = rows.map(row => row.rev ?? 0);
    this.logPaths = rows.map(row => row.path);
  }
}
