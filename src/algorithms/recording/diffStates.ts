import type { JSONPatchOp } from '../../types.js';
import { deepEqual } from '../deepEqual.js';
import { diffArrayOps } from './diffValue.js';
import { keyPointer } from '../jsonPointer.js';
import { hasValue, isObject } from '../ops/PatchDraft.js';

/**
 * The ops that turn one document state into another, written to stand in for the history
 * between them in a rebase: local changes transformed over them keep as much of their intent as
 * the two states allow.
 *
 * It serves a client whose server went back in time: no ops lead from the client's committed
 * state to the server's older one, so this difference is what its pending changes are rebased
 * over. Unlike `diffValue` (which describes one person's edit and replaces a container that
 * changed a lot), it descends into every container both states have, and matches array elements
 * by value (deep equality), so an element that survived keeps its edits: a pending change inside
 * a surviving list still lands in it, and only edits inside what the newer state no longer has
 * are transformed away.
 *
 * @param oldState The state the ops apply to.
 * @param newState The state they produce.
 * @param pointer The JSON Pointer of the values (`''`, the root, by default).
 * @return Ops that, applied in order to `oldState`, give a value deep-equal to `newState`.
 * @example
 * diffStates({ list: ['a', 'lost', 'b'] }, { list: ['a', 'b'] }); // [{ op: 'remove', path: '/list/1' }]
 */
export function diffStates(oldState: unknown, newState: unknown, pointer = ''): JSONPatchOp[] {
  if (oldState === newState || deepEqual(oldState, newState)) return [];
  if (Array.isArray(oldState) && Array.isArray(newState)) {
    const ops = diffArrayOps(oldState, newState, pointer, {
      sameElement: (i, j) => deepEqual(oldState[i], newState[j]),
      editElement: (i, j, elementPointer) => diffStates(oldState[i], newState[j], elementPointer),
    });
    if (ops) return ops;
  } else if (isObject(oldState) && isObject(newState)) {
    const ops = objectOps(oldState, newState, pointer);
    if (ops) return ops;
  }
  return [{ op: 'replace', path: pointer, value: newState ?? null }];
}

/** Key by key: removed, added, or diffed inside; `undefined` when a key cannot be written as a pointer. */
function objectOps(oldObject: Record<string, unknown>, newObject: Record<string, unknown>, pointer: string): JSONPatchOp[] | undefined {
  const ops: JSONPatchOp[] = [];
  for (const key of Object.keys(oldObject)) {
    if (hasValue(oldObject, key) && !hasValue(newObject, key)) {
      const path = keyPointer(pointer, key);
      if (path === undefined) return undefined;
      ops.push({ op: 'remove', path });
    }
  }
  for (const key of Object.keys(newObject)) {
    if (!hasValue(newObject, key)) continue;
    const path = keyPointer(pointer, key);
    if (path === undefined) return undefined;
    if (!hasValue(oldObject, key)) ops.push({ op: 'add', path, value: newObject[key] });
    else for (const op of diffStates(oldObject[key], newObject[key], path)) ops.push(op);
  }
  return ops;
}

