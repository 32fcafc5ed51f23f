import { applyPatch } from '../algorithms/applyPatch.js';
import { RichTextNotEnabledError, StoreError } from '../errors.js';
import type { Algorithm, Change } from '../types.js';
import type { ServerChangesUpdate, StoredQueue } from './PatchesStore.js';

/*
 * What a doc's row in `IndexedDBStore` says about its committed state and history, as pure
 * functions: when a write may keep the state where it is and store only history rows, how a read
 * rebuilds the state from them, and which views the rows cannot bring forward after the doc went
 * back. The store does the I/O.
 */

/** A row of `docs`: what is tracked, with which algorithm, at which committed rev. */
export interface DocRow {
  docId: string;
  algorithm: Algorithm;
  committedRev: number;
  /**
   * The rev the row in `states` is at, when behind `committedRev`: the history rows after it
   * (all kept, see `keptStateRev`) replay on it. Absent: the state is at `committedRev`.
   */
  stateRev?: number;
  /**
   * The doc went back (a server that lost revisions, or a delete and a new start): a view another
   * instance holds at a rev in `(to, from]` may be of the abandoned history, so history rows
   * cannot bring it forward (`getDocSince` gives the state). Widened by each rewind.
   */
  rewound?: { to: number; from: number };
  /** How many times the doc went back (`StoredDoc.rewinds`); absent: never. */
  rewinds?: number;
  /**
   * The history rows after this rev are every change the state went through, in rev order, each
   * applied strictly as given, so a view at or past it can be brought forward by them. Moved up by
   * any write that is not such a run (a catch-up that skips revs, a late LWW reply stored at its
   * old rev, an LWW op that failed, a snapshot). Absent on rows written before it existed.
   */
  logFrom?: number;
  /**
   * A fresh random tag written by every change of the doc's OT pending queue, so an instance that
   * knows which ids the queue held under a tag can check a guard on them without reading the
   * queue (`KnownQueues`). Absent on rows whose queue has not changed since tags began.
   */
  queueTag?: string;
  /**
   * A random tag that changes whenever the doc's OT queue changes other than by appends (a
   * rebase, an acknowledgement, a split), and is absent on a row made anew: while it stays, the
   * queue only grew at its end, by rows of higher `seq`, so a reader that holds the queue as of
   * a `seq` reads only the rows after it (`KnownQueues.readFrom`).
   */
  queueBase?: string;
  /**
   * The latest writes of the doc's LWW pending ops by `savePendingOps`, oldest first: the paths
   * each touched (saved or deleted) and the queue tags before and after it, so an instance that
   * knows the ops under an earlier tag reads only those paths (`pathsSince`). Any other change of
   * the ops gives a tag no entry leads to.
   */
  opsLog?: OpsLogEntry[];
  /**
   * `StoredDoc.stampFloor` (LWW). Absent on rows written before it existed; a build that does
   * not know it keeps it as it is (every write spreads the row it read) or drops it, so it is
   * never above the stamps the doc took, only stale: the floor it was before this field.
   */
  stampFloor?: number;
  deleted?: true;
}

/** One write of an LWW doc's pending ops in `DocRow.opsLog`. */
export interface OpsLogEntry {
  /** The queue tag the write started from. */
  from: string;
  /** The tag it gave the row. */
  tag: string;
  /** The paths whose ops it saved or deleted. */
  paths: string[];
}

/**
 * The log keeps at most this many writes, and this many paths in all (a bigger write empties it:
 * a reader behind it reads the ops whole). Small, as every read of the row (`listDocs` reads all
 * of them) carries it.
 */
const OPS_LOG_WRITES = 16;
const OPS_LOG_PATHS = 64;

/**
 * `log` with a write from queue tag `from` to `tag` that touched `paths` added, the oldest
 * entries dropped past the limits; empty when the write alone is over them or started from no tag.
 *
 * @example
 * opsLogged([], 't1', 't2', ['/a']); // [{ from: 't1', tag: 't2', paths: ['/a'] }]
 */
export function opsLogged(log: readonly OpsLogEntry[] = [], from: string | undefined, tag: string, paths: string[]): OpsLogEntry[] {
  if (from === undefined) return [];
  const kept = [...log, { from, tag, paths }];
  let total = kept.reduce((sum, entry) => sum + entry.paths.length, 0);
  while (kept.length > OPS_LOG_WRITES || total > OPS_LOG_PATHS) total -= kept.shift()!.paths.length;
  return kept;
}

/**
 * The paths the LWW pending ops were written at since they were as under `tag`, by the writes
 * the row's log holds from `tag` up to its queue tag now (each starting where the one before
 * ended); `undefined` when the log does not lead there.
 *
 * @example
 * pathsSince({ ...row, queueTag: 't3', opsLog: [{ from: 't1', tag: 't2', paths: ['/a'] }, { from: 't2', tag: 't3', paths: ['/b'] }] }, 't1'); // Set { '/a', '/b' }
 */
export function pathsSince(row: DocRow, tag: string): Set<string> | undefined {
  const log = row.opsLog ?? [];
  let at = log.findIndex((entry) => entry.from === tag);
  if (at < 0) return undefined;
  const paths = new Set<string>();
  for (let current = tag; current !== row.queueTag; at++) {
    const entry = log[at];
    if (entry?.from !== current) return undefined;
    for (const path of entry.paths) paths.add(path);
    current = entry.tag;
  }
  return paths;
}

/** True when the update's changes are the next revs after the row's, vouched to be applied as given, strictly (`replayable`). */
export function extendsLog(row: DocRow, update: ServerChangesUpdate): boolean {
  return update.replayable === true && !update.regressed && leadsFrom(update.changes, row.committedRev, update.rev);
}

/**
 * The rev the stored state may stay at while this update writes only history rows, or undefined
 * when it must write the whole state. Only a run of consecutive revisions from the committed rev
 * whose writer vouches that the state is their replay (`replayable`) may be kept as rows, and
 * the tail stays shorter than `snapshotEvery`.
 */
export function keptStateRev(row: DocRow, update: ServerChangesUpdate, snapshotEvery: number): number | undefined {
  const stateRev = row.stateRev ?? row.committedRev;
  return extendsLog(row, update) && update.rev - stateRev < snapshotEvery ? stateRev : undefined;
}

/** True when the history rows after `rev` can bring a view at `rev` forward (see `DocRow.logFrom`; an OT row from before it counts from 0). */
export function logCovers(row: DocRow, rev: number): boolean {
  return row.logFrom !== undefined ? rev >= row.logFrom : row.algorithm === 'ot';
}

/** What a row records of going back from its committed rev to `rev`: `rewound` widened, one more rewind. */
export function wentBack(row: DocRow, rev: number): Required<Pick<DocRow, 'rewound' | 'rewinds'>> {
  return {
    rewound: { to: Math.min(row.rewound?.to ?? rev, rev), from: Math.max(row.rewound?.from ?? row.committedRev, row.committedRev) },
    rewinds: (row.rewinds ?? 0) + 1,
  };
}

/** True when a view at `rev` may be of a history the doc went back from. */
export function maybeAbandoned(row: DocRow, rev: number): boolean {
  return row.rewound !== undefined && row.rewound.to < rev && rev <= row.rewound.from;
}

/** True when `rows` are every rev from `rev + 1` to `committedRev`, in order (none when they are equal). */
export function leadsFrom(rows: readonly { rev: number }[], rev: number, committedRev: number): boolean {
  return committedRev >= rev && rows.length === committedRev - rev && rows.every((row, i) => row.rev === rev + 1 + i);
}

/**
 * The committed state at the doc's committed rev: the history rows after `stateRev` applied
 * strictly to the state stored at `stateRev` (an LWW doc's `null` as `{}`, as LWW applies them).
 * Only rows that applied cleanly when received are kept this way (`replayable`), so a row missing
 * or failing now means the database was changed behind the store's back.
 */
export function replayTail({ docId, algorithm, committedRev }: StoredQueue, state: unknown, stateRev: number, tail: { rev: number; change: Change }[]): unknown {
  if (!leadsFrom(tail, stateRev, committedRev)) {
    throw new StoreError(`The history of "${docId}" after rev ${stateRev} is incomplete: cannot rebuild its state at rev ${committedRev}`, docId);
  }
  const ops = tail.flatMap((row) => row.change.ops);
  try {
    return applyPatch(algorithm === 'lww' ? (state ?? {}) : state, ops, { mode: 'strict' });
  } catch (error) {
    if (error instanceof RichTextNotEnabledError) throw error;
    throw new StoreError(`The history of "${docId}" after rev ${stateRev} does not apply to its stored state`, docId, { cause: error });
  }
}
