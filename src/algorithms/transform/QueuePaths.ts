/**
 * The paths a queue of changes touches, indexed, so a committed change that meets none of them
 * passes the whole queue at once instead of change by change.
 */
import type { JSONPatchOp } from '../../types.js';
import { isAppend, isPlainAdd, reachOf } from './leavesAlone.js';
import { prefixOf } from './paths.js';

/** A multiset of strings. */
class Counts {
  private readonly counts = new Map<string, number>();

  has(key: string): boolean {
    return this.counts.has(key);
  }

  add(key: string, by: 1 | -1): void {
    const count = (this.counts.get(key) ?? 0) + by;
    if (count === 0) this.counts.delete(key);
    else this.counts.set(key, count);
  }
}

/** Every prefix of `path` that ends at a `/` (`/a/b` → `/`, `/a/`): a path starts with `x/` exactly when `x/` is one of them. */
function* slashPrefixes(path: string): Generator<string> {
  for (let at = path.indexOf('/'); at >= 0; at = path.indexOf('/', at + 1)) yield path.slice(0, at + 1);
}

/**
 * The paths of the ops of a queue of changes, kept as the queue changes, answering one question
 * in time proportional to the ops asked about (not to the queue): would walking these committed
 * ops through the queue (`walkQueue`) change nothing, neither the queued ops nor the committed
 * ones? It answers yes only when `leavesAlone` holds both ways for every pair, by the same rules
 * (a committed op reaching no queued op, every queued op reaching no committed op), and no when
 * unsure: the walk then runs. In a burst of two writers on disjoint keys, or appending to one
 * list, every committed change passes every queued one unchanged, and checking that pair by pair
 * made a rebase of n queued changes over m committed ones n × m checks.
 *
 * @example
 * const queue = QueuePaths.of([[{ op: 'replace', path: '/fields/a1', value: 1 }], [{ op: 'add', path: '/items/-', value: 'a' }]]);
 * queue.leftAloneBy([{ op: 'replace', path: '/fields/b1', value: 2 }]); // true
 * queue.leftAloneBy([{ op: 'remove', path: '/fields' }]); // false
 */
export class QueuePaths {
  /** Every slash-ended prefix of every queued op's path: what a write at `/a` (`/a/`) or an index op in `/a/` meets. */
  private readonly prefixes = new Counts();
  /** Paths of queued plain adds, where a committed append stops meeting the queue. */
  private readonly plainAdds = new Counts();
  /** Paths of the other queued ops. */
  private readonly others = new Counts();
  /** The array prefix of each queued index op (`/a/3` → `/a/`), reaching the elements of that array. */
  private readonly arrays = new Counts();
  /** Paths of queued appends, reaching every op under them and every op at them but a plain add. */
  private readonly appends = new Counts();
  /** Paths of the other queued path ops (sets, removals, in-place ops), reaching every op at or under them. */
  private readonly writes = new Counts();
  /** Queued ops with a `from` or that reach anything (moves, copies): while there are any, no answer is yes. */
  private unindexed = 0;

  /** The index of a queue, given as each change's ops. */
  static of(queue: Iterable<readonly JSONPatchOp[]>): QueuePaths {
    const paths = new QueuePaths();
    for (const ops of queue) paths.add(ops);
    return paths;
  }

  /** Counts the ops of a change that joined the queue (or whose rewritten ops replace others). */
  add(ops: readonly JSONPatchOp[]): void {
    this.count(ops, 1);
  }

  /** Forgets the ops of a change that left the queue (or was rewritten). */
  remove(ops: readonly JSONPatchOp[]): void {
    this.count(ops, -1);
  }

  /**
   * True when `transformPatch(committed, queued)` returns `queued` itself and
   * `transformPatch(queued, committed, …)` returns `committed` itself for every queued change.
   */
  leftAloneBy(committed: readonly JSONPatchOp[]): boolean {
    if (this.unindexed > 0) return false;
    for (const op of committed) if (!this.unreachedBy(op) || !this.unreaching(op)) return false;
    return true;
  }

  /** True when `op` reaches no queued op (`leavesAlone(op, queued)` for every queued change). */
  private unreachedBy(op: JSONPatchOp): boolean {
    switch (reachOf(op)) {
      case 'none':
        return true;
      case 'all':
        return false;
      case 'index':
        return op.from === undefined && !this.prefixes.has(prefixOf(op.path));
      case 'path':
        if (op.from !== undefined || this.prefixes.has(`${op.path}/`) || this.others.has(op.path)) return false;
        return isAppend(op) || !this.plainAdds.has(op.path);
    }
  }

  /** True when no queued op reaches `op` (`leavesAlone(queuedOp, [op, …])` for every queued op). */
  private unreaching(op: JSONPatchOp): boolean {
    const path = op.path;
    if (op.from !== undefined || this.writes.has(path)) return false;
    if (this.appends.has(path) && !isPlainAdd(op)) return false;
    for (const prefix of slashPrefixes(path)) {
      const parent = prefix.slice(0, -1);
      if (this.arrays.has(prefix) || this.writes.has(parent) || this.appends.has(parent)) return false;
    }
    return true;
  }

  private count(ops: readonly JSONPatchOp[], by: 1 | -1): void {
    for (const op of ops) {
      const path = op.path;
      for (const prefix of slashPrefixes(path)) this.prefixes.add(prefix, by);
      (isPlainAdd(op) ? this.plainAdds : this.others).add(path, by);
      const reach = reachOf(op);
      if (reach === 'all' || op.from !== undefined) this.unindexed += by;
      else if (reach === 'index') this.arrays.add(prefixOf(path), by);
      else if (reach === 'path') (isAppend(op) ? this.appends : this.writes).add(path, by);
    }
  }
}
