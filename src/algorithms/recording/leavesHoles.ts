import type { Patch } from 'immer';
import { sameParent } from './immerPatchesToOps.js';

/**
 * Whether an array immer's patches edit in place ends up with a hole (or an `undefined`
 * element) in immer's next state: then those patches may not describe it.
 *
 * immer patches only the indexes a recipe assigned: after `list.length = 2; list[3] = 'x'` on
 * `['a', 'b', 'c', 'd', 'e']` its state is `['a', 'b', <hole>, 'x']`, but its patches,
 * `replace /list/3` and `remove /list/4`, bring `'c'` back on every other replica while the
 * author sees it gone. The recorder then diffs the states instead (`PatchesDoc`).
 *
 * Each distinct parent of the patches is looked up once (a splice of a long list is thousands of
 * patches under one parent), and an array is scanned with `includes(undefined)`, which sees holes
 * and runs natively, so the common change pays one pass over the arrays it edits.
 *
 * @example
 * const [next, patches] = produceWithPatches(base, (d) => { d.list.length = 2; d.list[3] = 'x'; });
 * leavesHoles(patches, next); // true
 */
export function leavesHoles(patches: readonly Patch[], next: unknown): boolean {
  const scanned = new Set<unknown>();
  let previous: Patch['path'] | undefined;
  for (const { path } of patches) {
    if (path.length === 0 || (previous !== undefined && sameParent(previous, path))) continue;
    previous = path;
    const parent = valueAt(next, path, path.length - 1);
    if (!Array.isArray(parent) || scanned.has(parent)) continue;
    scanned.add(parent);
    if (parent.includes(undefined)) return true;
  }
  return false;
}

/** The value at the first `depth` segments of `path` in immer's next state, `undefined` where they lead nowhere. */
function valueAt(root: unknown, path: Patch['path'], depth: number): unknown {
  let node = root;
  for (let i = 0; i < depth; i++) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, path[i])) return undefined;
    node = (node as Record<string | number, unknown>)[path[i]];
  }
  return node;
}
