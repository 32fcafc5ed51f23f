import type { JSONPatchOp } from '../../types.js';
import { byPathOrder, mergedSteps, opsAtOrUnderSteps, opsMeetingSteps, writeInPlace } from '../../algorithms/lww/pathOrder.js';
import { pointerDepth } from '../../algorithms/jsonPointer.js';
import { runToEnd, type Steps } from '../../util/steps.js';
import { sortSteps } from '../../util/sortSteps.js';

/** Writes of more rows than this are merged into the path order ahead of the write, in steps ({@link LWWRows.prepareWrite}). */
const PREPARED_ABOVE = 32;

/** How many rows one step of {@link LWWRows.sinceSteps} or {@link LWWRows.inCommitOrderSteps} looks at before it yields. */
const ROWS_PER_STEP = 4096;

/** A large write's path order, merged ahead of it ({@link LWWRows.prepareWrite}), for the rows it was merged from. */
export interface PreparedWrite {
  /** How many writes the rows had had when it was merged: after another, it is out of date. */
  afterWrites: number;
  /** The rows in path order after the write. */
  sorted: JSONPatchOp[];
}

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
  /** Writes and loads so far: a prepared write is for the rows as they were after its count of them. */
  private writes = 0;

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
    this.writes++;
  }

  /**
   * The path order after writing `save` and `remove`, merged in steps without changing the rows,
   * for a large write (`undefined` for a small one, which {@link write} does in place at once):
   * a commit prepares it before it is stored and hands it to {@link write} after, so the write
   * itself costs the rows written, not the rows stored.
   */
  *prepareWrite(save: readonly JSONPatchOp[], remove: readonly string[]): Steps<PreparedWrite | undefined> {
    if (save.length + remove.length <= PREPARED_ABOVE) return undefined;
    const afterWrites = this.writes;
    return { afterWrites, sorted: yield* mergedSteps(this.sorted, save, remove) };
  }

  /**
   * Deletes the rows at `remove`, then stores `save` (one row per path, at a rev past every row
   * stored before); `prepared` is what {@link prepareWrite} gave for them, if nothing was written since.
   */
  write(save: readonly JSONPatchOp[], remove: readonly string[], prepared?: PreparedWrite): void {
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
    // A small write changes the order in place: the count, not the array, tells what it was merged from.
    if (prepared !== undefined && prepared.afterWrites === this.writes) this.sorted = prepared.sorted;
    else writeInPlace(this.sorted, save, remove);
    this.writes++;
    if (this.logRevs.length > 2 * this.byPath.size + 1_000) this.compactLog();
  }

  /** The rows at, above or below any of `paths` (what `consolidateOps` looks at), in path order. */
  meeting(paths: Iterable<string>): JSONPatchOp[] {
    return runToEnd(this.meetingSteps(paths));
  }

  /** {@link meeting} as steps. */
  meetingSteps(paths: Iterable<string>): Steps<JSONPatchOp[]> {
    return opsMeetingSteps(this.sorted, paths);
  }

  /** The rows at or below any of `paths`, in path order. */
  atOrUnder(paths: Iterable<string>): JSONPatchOp[] {
    return runToEnd(this.atOrUnderSteps(paths));
  }

  /** {@link atOrUnder} as steps. */
  atOrUnderSteps(paths: Iterable<string>): Steps<JSONPatchOp[]> {
    return opsAtOrUnderSteps(this.sorted, paths);
  }

  /** The rows stored at a rev after `rev`. */
  since(rev: number): JSONPatchOp[] {
    return runToEnd(this.sinceSteps(rev));
  }

  /** {@link since} as steps. */
  *sinceSteps(rev: number): Steps<JSONPatchOp[]> {
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
      if ((i - low) % ROWS_PER_STEP === ROWS_PER_STEP - 1) yield;
    }
    return [...out.values()];
  }

  /**
   * Rows in the order a client applies them: by rev, then ts, then depth (a parent and a field
   * in it written at one rev and one ts: the parent first, or its value would wipe the field),
   * then the order their paths were first stored in.
   */
  inCommitOrder(rows: readonly JSONPatchOp[]): JSONPatchOp[] {
    // Sorted at once, TimSort finds the runs rows mostly come in (by rev, then as first stored).
    return rows.map((row) => this.keyed(row)).sort(byKeys).map((entry) => entry.row);
  }

  /** {@link inCommitOrder} as steps (a commit's reply may hold every row of the doc). */
  *inCommitOrderSteps(rows: readonly JSONPatchOp[]): Steps<JSONPatchOp[]> {
    const keyed: KeyedRow[] = new Array<KeyedRow>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      keyed[i] = this.keyed(rows[i]);
      if (i % ROWS_PER_STEP === ROWS_PER_STEP - 1) yield;
    }
    return (yield* sortSteps(keyed, byKeys)).map((entry) => entry.row);
  }

  /** A row with its keys in commit order, each read once rather than at each comparison. */
  private keyed(row: JSONPatchOp): KeyedRow {
    return { row, rev: row.rev ?? 0, ts: row.ts ?? 0, depth: pointerDepth(row.path), seq: this.seq.get(row.path) ?? Number.MAX_SAFE_INTEGER };
  }

  /** The log again, one entry per row at its rev. */
  private compactLog(): void {
    const rows = [...this.byPath.values()].sort((a, b) => (a.rev ?? 0) - (b.rev ?? 0));
    this.logRevs = rows.map(row => row.rev ?? 0);
    this.logPaths = rows.map(row => row.path);
  }
}

/** A row with the keys {@link LWWRows.inCommitOrder} sorts by. */
interface KeyedRow {
  row: JSONPatchOp;
  rev: number;
  ts: number;
  depth: number;
  seq: number;
}

/** Commit order: by rev, then ts, then depth, then the order paths were first stored in. */
function byKeys(a: KeyedRow, b: KeyedRow): number {
  return a.rev - b.rev || a.ts - b.ts || a.depth - b.depth || a.seq - b.seq;
}
