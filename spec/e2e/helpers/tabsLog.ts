import type { Change } from '../../../src/types.js';

/**
 * The tokens the several-tabs page's OT edits (`window.tabs.edit`) put into the list, read from the
 * server's log of the doc: each edit inserts one (`add` of a string), the list's creation carries
 * the first. Sorted, with repeats: an edit committed twice shows twice.
 */
export function committedTokens(log: Change[]): string[] {
  const ops = log.flatMap(change => change.ops);
  const inserted = ops.filter(op => op.op === 'add' && typeof op.value === 'string').map(op => op.value as string);
  const created = ops.filter(op => op.path === '/list').flatMap(op => (Array.isArray(op.value) ? (op.value as string[]) : []));
  return [...inserted, ...created].sort();
}
