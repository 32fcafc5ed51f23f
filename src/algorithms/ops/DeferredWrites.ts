import type { JSONPatchOp } from '../../types.js';
import { splitPointer } from '../jsonPointer.js';
import { applyOp } from './applyOp.js';
import { checkOp } from './checkOp.js';
import { isObject, type PatchDraft } from './PatchDraft.js';

/** Most ops kept queued: each new op is compared with every queued one. */
const MOST_QUEUED = 16;

/**
 * Ops checked against a draft at once but applied only when something reads the draft: the ops
 * of a change that nothing reads back (a field set deep in a wide document) copy nothing.
 *
 * An op is checked where it would be applied: a queued op it could depend on (one whose path is
 * a prefix of its own or the other way round, or that diverges from it below an array or below
 * a container that is not there yet) is applied first; the others write under a different key of
 * an existing object, so they cannot change what it finds.
 *
 * @example
 * const writes = new DeferredWrites(new PatchDraft(base));
 * writes.add({ op: 'replace', path: '/records/5/done', value: true }); // checked, not applied
 * writes.flush(); // applied: writes.draft.root is the new document
 */
export class DeferredWrites {
  private queued: Array<{ op: JSONPatchOp; keys: string[] }> = [];

  /** @param draft the draft the ops apply to */
  constructor(readonly draft: PatchDraft) {}

  /** Checks `op` (throws what `applyOp` would) and queues it. */
  add(op: JSONPatchOp): void {
    // A move or copy also reads `from`: it is checked after everything queued.
    const keys = typeof op.path === 'string' && op.op !== 'move' && op.op !== 'copy' ? splitPointer(op.path) : undefined;
    if (keys === undefined || this.queued.length >= MOST_QUEUED || this.queued.some((queued) => !this.apart(queued.keys, keys))) this.flush();
    checkOp(this.draft, op);
    this.queued.push({ op, keys: keys ?? [] });
  }

  /** Applies every queued op, in order: call before reading the draft. */
  flush(): void {
    const queued = this.queued;
    this.queued = [];
    for (const { op } of queued) applyOp(this.draft, op);
  }

  /** Whether two paths part under different keys of an object the draft holds now. */
  private apart(a: readonly string[], b: readonly string[]): boolean {
    let depth = 0;
    while (depth < a.length && depth < b.length && a[depth] === b[depth]) depth++;
    if (depth === a.length || depth === b.length) return false;
    const fork = this.draft.get(a.slice(0, depth));
    return fork.found && isObject(fork.value);
  }
}
