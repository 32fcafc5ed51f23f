import type { JSONPatchOp } from '../../types.js';
import { joinPointer, parsePointer } from '../jsonPointer.js';

/** The outermost array that `path` goes into (not the value at `path` itself) in `state`: its pointer and value. */
function outerArrayOf(path: string, state: unknown): { pointer: string; value: unknown[] } | undefined {
  const keys = parsePointer(path);
  let value = state;
  for (let depth = 0; depth < keys.length; depth++) {
    if (Array.isArray(value)) return { pointer: joinPointer(keys.slice(0, depth)), value };
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[keys[depth]];
  }
  return undefined;
}

/**
 * Rewrites every op that goes into an array (`/list/3`, `/list/3/name`, `/list/-`) as one
 * `replace` of the outermost such array with its value in `nextState`, emitted where the first of
 * them was; later ops into (or at) an array already written are dropped.
 *
 * Why (LWW docs, README decision): LWW keeps one op per path and orders them by path, with no
 * notion of index, so a change's element ops do not survive it: two `remove /list/0` fold into
 * one, `/list/10` sorts before `/list/9`, and the server stores an `add` past the end as a
 * `replace` that cannot apply. In an LWW doc an array is one value, written whole, last writer wins.
 *
 * `nextState` is the state the ops lead to. An array gone from it (removed later in the same
 * change) leaves its ops as they are: the later write of its parent supersedes them. Pure;
 * returns `ops` itself when nothing goes into an array.
 *
 * @example
 * arraysWhole([{ op: 'add', path: '/list/2', value: 'c' }], { list: ['a', 'b', 'c'] });
 * // → [{ op: 'replace', path: '/list', value: ['a', 'b', 'c'] }]
 */
export function arraysWhole(ops: readonly JSONPatchOp[], nextState: unknown): JSONPatchOp[] {
  const written = new Set<string>();
  let out: JSONPatchOp[] | undefined;
  ops.forEach((op, i) => {
    const array = outerArrayOf(op.path, nextState);
    const covered = [...written].some(pointer => op.path === pointer || op.path.startsWith(`${pointer}/`));
    if (!array && !covered) {
      out?.push(op);
      return;
    }
    out ??= ops.slice(0, i);
    if (covered || !array) return;
    written.add(array.pointer);
    out.push({ op: 'replace', path: array.pointer, value: array.value });
  });
  return out ?? (ops as JSONPatchOp[]);
}
