import type { Change, JSONPatchOp } from '../types.js';
import { transformPatch, transformPatchSteps } from './transformPatch.js';
import { QueuePaths } from './transform/QueuePaths.js';
import { runToEnd, type Steps } from '../util/steps.js';

/** A queue this long or longer is indexed (`QueuePaths`) so committed changes meeting none of it pass at once. */
const INDEX_FROM = 8;

/** Below this many op pairs (ops of one side × the other's) a transform runs as one step. */
const PAIRS_AT_ONCE = 4096;

/** A queue entry during a walk: the change and its ops so far. */
interface Entry {
  change: Change;
  ops: JSONPatchOp[];
}

/** An entry during the walk, `taken` once its own committed copy has come by. */
type WalkEntry = Entry & { taken?: true };

/**
 * What a walk has paid for so far, in op pairs: each transform of a committed change's ops with
 * an entry's counts the product of their weights (at least 1; see `weightOf`), and a committed
 * change that passes the indexed queue at once counts its ops; an own change taken out counts
 * nothing. The server reads it between steps to bound a commit's work (`maxTransformWork`).
 */
export interface WalkMeter {
  pairs: number;
}

/**
 * What a list of ops weighs for a `WalkMeter`: 1 an op, and an `@txt` op more, 3 plus a quarter
 * of its delta's ops: a pair of two one-insert `@txt` ops runs Quill's transform, ~10× the time
 * of a pair of list inserts (~17 against ~1.8 µs, both ways, one pair a call), and ~4 µs more per
 * delta op (a pair of 100-op deltas ~450 µs).
 */
function weightOf(ops: readonly JSONPatchOp[]): number {
  let weight = ops.length;
  for (const op of ops) if (op.op === '@txt') weight += 2 + (Array.isArray(op.value) ? op.value.length : 0) / 4;
  return weight;
}

/**
 * Walks committed changes through a queue of changes written after the same base (the OT
 * diamond, one committed change at a time). Shared by the client rebase and the server's
 * transform of an incoming batch, so the two cannot drift apart.
 *
 * For each committed change in order: one the queue's author made (`isOwn`) takes the entry with
 * its id out of the queue untransformed (the entries behind it were written on top of it, so
 * they are already in its frame; an own change with no entry is simply passed); a foreign one is transformed into each entry in turn — the entry's ops become
 * `transformPatch(foreign, entry)`, and the foreign ops are carried past the entry's ORIGINAL
 * ops (`transformPatch(entry, foreign, true)`, the foreign side being the earlier writer) before
 * they meet the next entry, which was written on top of that one. A foreign change that meets
 * no entry at all passes the queue at once: a long queue's paths are indexed (`QueuePaths`), so
 * two writers' bursts on other keys or appending to one list cost m, not m × n, checks.
 * Entries queued before one taken out are walked but left out of the result: the commit that
 * took it passed over them (`afterTaken`).
 *
 * @internal Used by rebaseChanges and transformIncomingChanges.
 */
export function walkQueue(
  committed: readonly Change[],
  queue: readonly Change[],
  isOwn: (committed: Change) => boolean,
): Entry[] {
  return runToEnd(walkQueueSteps(committed, queue, isOwn));
}

/**
 * {@link walkQueue} as steps: it yields before each committed change, after each entry it meets, and within long transforms
 * (`transformPatchSteps`), so the server can serve other requests during a long walk.
 *
 * `pairsAtOnce`: a transform of fewer op pairs than this runs as one step (specs pass 0 or Infinity).
 * `meter`: counts the op pairs the walk pays for as it goes (see {@link WalkMeter}), each before its step.
 *
 * @internal Used by walkQueue and the server's transformIncomingChangesSteps.
 */
export function* walkQueueSteps(
  committed: readonly Change[],
  queue: readonly Change[],
  isOwn: (committed: Change) => boolean,
  pairsAtOnce = PAIRS_AT_ONCE,
  meter?: WalkMeter,
): Steps<Entry[]> {
  const entries: WalkEntry[] = queue.map((change) => ({ change, ops: change.ops }));
  // Own changes are found by id and marked taken, not searched for and spliced out: an upload of
  // n changes in several batches meets up to n own changes per batch, and a search and a splice
  // each made that quadratic (seconds of a server's CPU for a long offline session).
  let byId: Map<string, WalkEntry[]> | undefined;
  let taken = 0;
  // Built at the second foreign change of a long queue, then kept as entries are taken or rewritten.
  let paths: QueuePaths | undefined;
  let foreignSeen = 0;
  for (const server of committed) {
    yield;
    if (isOwn(server)) {
      byId ??= entriesById(entries);
      const own = byId.get(server.id)?.shift();
      if (own) {
        own.taken = true;
        taken++;
        paths?.remove(own.ops);
      }
      continue;
    }
    if (++foreignSeen >= 2 && entries.length - taken >= INDEX_FROM) {
      paths ??= QueuePaths.of(entries.filter((entry) => !entry.taken).map((entry) => entry.ops));
      if (meter) meter.pairs += server.ops.length;
      if (paths.leftAloneBy(server.ops)) continue;
    }
    let foreign: JSONPatchOp[] = server.ops;
    for (const entry of entries) {
      if (foreign.length === 0) break;
      if (entry.taken) continue;
      const written = entry.ops;
      if (meter) meter.pairs += Math.max(1, weightOf(foreign) * weightOf(written));
      // A short pair at once (most are): a generator per call would cost the client's small rebases more than they take.
      if (foreign.length * written.length < pairsAtOnce) {
        entry.ops = transformPatch(foreign, written);
        foreign = transformPatch(written, foreign, true);
      } else {
        entry.ops = yield* transformPatchSteps(foreign, written);
        foreign = yield* transformPatchSteps(written, foreign, true);
      }
      if (paths && entry.ops !== written) {
        paths.remove(written);
        paths.add(entry.ops);
      }
      yield;
    }
  }
  return taken === 0 ? entries : afterTaken(entries);
}

/**
 * The entries not taken, less those queued before a taken one: the commit that took the later
 * entry had this queue in order and passed over them (the server drops a change whose ops do not
 * apply on its head), so a resend must not commit them behind it, nor a client keep them. They
 * still took part in the walk, as they did in that commit's (found by fuzz seed 82194, tabs: a
 * drag the server dropped, its reply lost, was committed on the resend after the card added
 * behind it in the queue, and the retitle written after both named the dragged card).
 */
function afterTaken(entries: readonly WalkEntry[]): Entry[] {
  let last = entries.length - 1;
  while (!entries[last].taken) last--;
  return entries.slice(last + 1);
}

/** The entries by their change's id, each id's in queue order (a queue should not repeat an id, but one that does is taken first to last). */
function entriesById(entries: readonly WalkEntry[]): Map<string, WalkEntry[]> {
  const byId = new Map<string, WalkEntry[]>();
  for (const entry of entries) {
    const same = byId.get(entry.change.id);
    if (same) same.push(entry);
    else byId.set(entry.change.id, [entry]);
  }
  return byId;
}

/**
 * Rebases local (pending) changes over committed server changes (protocol §4.2).
 *
 * Both arrays are sequential programs: the server changes in rev order, the local queue in the
 * order it was written. A server change that carries the id of a local change is that change
 * coming back: the local copy is dropped untransformed. Every other server change is walked
 * through the queue (see `walkQueue`), so each local change is transformed in the frame it was
 * written in, never against the raw server ops.
 *
 * Survivors that lost all their ops are dropped without using a rev; the rest get
 * `baseRev` = the last server rev and `rev` = baseRev + 1, + 2, … — every pending change then
 * sits on one frame and can be sent as one batch. Other fields (metadata, unknown keys) are kept.
 *
 * With no server changes or no local changes the local changes are returned as they are.
 *
 * `seenUpTo`: the local changes already take every committed change up to this rev as seen. The
 * server placed them after it: it committed a batch of the queue's head verbatim on its head
 * (`docReloadRequired`, a batch written before its client ever loaded the doc), so the changes
 * written on top of that batch follow it as they are. Other clients' changes up to that rev are
 * not walked through the queue (they would transform the rest of it as if concurrent with the
 * batch, which the server did not do: a child written under an object the batch made would be
 * dropped as written under a parent someone replaced).
 *
 * @example
 * const server = [{ id: 's1', rev: 5, baseRev: 4, ops: [{ op: 'add', path: '/list/0', value: 'a' }], createdAt: 1, committedAt: 2 }];
 * const local = [{ id: 'l1', rev: 5, baseRev: 4, ops: [{ op: 'replace', path: '/list/0', value: 'x' }], createdAt: 1, committedAt: 0 }];
 * rebaseChanges(server, local);
 * // [{ id: 'l1', baseRev: 5, rev: 6, ops: [{ op: 'replace', path: '/list/1', value: 'x' }], ... }]
 */
export function rebaseChanges(serverChanges: readonly Change[], localChanges: readonly Change[], seenUpTo = 0): Change[] {
  if (serverChanges.length === 0 || localChanges.length === 0) return localChanges as Change[];
  const localIds = new Set(localChanges.map((change) => change.id));
  const unseen = seenUpTo > 0 ? serverChanges.filter((change) => change.rev > seenUpTo || localIds.has(change.id)) : serverChanges;
  const entries = walkQueue(unseen, localChanges, (server) => localIds.has(server.id));
  const baseRev = serverChanges[serverChanges.length - 1].rev;
  let rev = baseRev;
  const out: Change[] = [];
  for (const { change, ops } of entries) {
    if (ops.length === 0) continue;
    out.push({ ...change, ops, baseRev, rev: ++rev });
  }
  return out;
}
