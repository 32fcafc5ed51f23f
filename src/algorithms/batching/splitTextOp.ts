/**
 * Splitting one oversized `@txt` op for `breakChanges` (protocol §4.6). Kept out of the core:
 * `enableRichText()` (`patches-rx/txt`) registers it with the rest of rich text, so an app
 * without `@txt` does not bundle it.
 */
import { toDeltaOps, type DeltaOp } from '../deltaOps.js';
import type { TextOpBudget } from '../richText.js';
import { sizeOf } from './sizeOf.js';
import type { JSONPatchOp } from '../../types.js';

/** Bytes `JSON.stringify` writes for the UTF-16 code unit(s) at `i` of `text`, and how many it used. */
function jsonCharBytes(text: string, i: number): [bytes: number, units: number] {
  const unit = text.charCodeAt(i);
  if (unit === 0x22 || unit === 0x5c) return [2, 1];
  if (unit < 0x20) return [unit === 8 || unit === 9 || unit === 10 || unit === 12 || unit === 13 ? 2 : 6, 1];
  if (unit < 0x80) return [1, 1];
  if (unit < 0x800) return [2, 1];
  if (unit >= 0xd800 && unit <= 0xdbff) {
    const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    return next >= 0xdc00 && next <= 0xdfff ? [4, 2] : [6, 1];
  }
  if (unit >= 0xdc00 && unit <= 0xdfff) return [6, 1];
  return [3, 1];
}

/** Moves an end index back by one if it would cut a surrogate pair in half. */
function safeEnd(text: string, end: number): number {
  if (end <= 0 || end >= text.length) return end;
  const before = text.charCodeAt(end - 1);
  const after = text.charCodeAt(end);
  return before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff ? end - 1 : end;
}

const isPlainRetain = (op: DeltaOp): boolean => typeof op.retain === 'number' && op.attributes === undefined;

/** How far a delta op moves the cursor in the resulting document (Quill lengths, UTF-16 units). */
function advance(op: DeltaOp): number {
  if (typeof op.insert === 'string') return op.insert.length;
  if (op.insert !== undefined) return 1;
  if (typeof op.retain === 'number') return op.retain;
  if (op.retain !== undefined) return 1;
  return 0;
}

/** Prefixes a piece of a delta with a retain to where it starts, merged into a leading plain retain. */
function atCursor(cursor: number, ops: readonly DeltaOp[]): DeltaOp[] {
  if (cursor === 0) return ops.slice();
  const [first, ...rest] = ops;
  if (first !== undefined && isPlainRetain(first)) return [{ retain: cursor + (first.retain as number) }, ...rest];
  return [{ retain: cursor }, ...ops];
}

/**
 * Splits an `@txt` op into sequential `@txt` ops that each fit the budget: each after the first
 * starts with a retain to the position the earlier ones reached (retains and inserts advance it,
 * deletes do not); a long string insert is chunked, never inside a surrogate pair.
 *
 * @returns the pieces in order, or undefined when the op cannot be split (an embed or a single
 *   character too big, a delta that is not one, or one that already fits in one piece).
 * @example
 * splitTextOp({ op: '@txt', path: '/t', value: [{ insert: 'abcdef' }] }, { maxBytes: 60, additive: true, sizeAlone: sizeOf });
 * // [{ …, value: [{ insert: 'abc…' }] }, { …, value: [{ retain: 3 }, { insert: '…' }] }] (as many as fit)
 */
export function splitTextOp(op: JSONPatchOp, budget: TextOpBudget): JSONPatchOp[] | undefined {
  const delta = toDeltaOps(op.value);
  if (delta === undefined || delta.length === 0) return undefined;
  const withDelta = (ops: DeltaOp[]): JSONPatchOp => ({ ...op, value: ops });
  const emptySize = budget.sizeAlone(withDelta([]));
  const additive = budget.additive;
  // Size of the op holding `ops`: additive for the default measure, measured otherwise.
  const sizeWith = (ops: DeltaOp[]): number => {
    if (!additive) return budget.sizeAlone(withDelta(ops));
    let total = emptySize + Math.max(0, ops.length - 1);
    for (const item of ops) total += sizeOf(item);
    return total;
  };
  const fits = (ops: DeltaOp[]) => sizeWith(ops) <= budget.maxBytes;

  const parts: DeltaOp[][] = [];
  let current: DeltaOp[] = [];
  let start = 0;
  let cursor = 0;
  // A part of plain retains only changes nothing and is left out (a trailing retain, say).
  let leftOut = false;
  const flush = () => {
    if (current.some((item) => !isPlainRetain(item))) parts.push(atCursor(start, current));
    else if (current.length > 0) leftOut = true;
    current = [];
    start = cursor;
  };

  for (const item of delta) {
    if (fits(atCursor(start, [...current, item]))) {
      current.push(item);
      cursor += advance(item);
      continue;
    }
    flush();
    if (fits(atCursor(start, [item]))) {
      current.push(item);
      cursor += advance(item);
      continue;
    }
    if (typeof item.insert !== 'string') return undefined; // an embed or a retain with huge attributes
    const chunks = chunkInsert(budget, item, (offset, chunk) => fits(atCursor(cursor + offset, [{ ...item, insert: chunk }])), (offset) => sizeWith(atCursor(cursor + offset, [{ ...item, insert: '' }])));
    if (chunks === undefined) return undefined;
    for (const chunk of chunks) {
      parts.push(atCursor(cursor, [{ ...item, insert: chunk }]));
      cursor += chunk.length;
    }
    start = cursor;
  }
  flush();
  // One part is a split too when what was left out made the op fit.
  return parts.length > 1 || (parts.length === 1 && leftOut) ? parts.map(withDelta) : undefined;
}

/**
 * Cuts a string insert into chunks that each fit (never inside a surrogate pair). With the
 * default measure the bytes are counted directly; otherwise each chunk is found by binary search.
 */
function chunkInsert(budget: TextOpBudget, item: DeltaOp, fits: (offset: number, chunk: string) => boolean, emptySize: (offset: number) => number): string[] | undefined {
  const text = item.insert as string;
  const chunks: string[] = [];
  let pos = 0;
  while (pos < text.length) {
    let end: number;
    if (budget.additive) {
      const room = budget.maxBytes - emptySize(pos);
      let used = 0;
      end = pos;
      while (end < text.length) {
        const [bytes, units] = jsonCharBytes(text, end);
        if (used + bytes > room) break;
        used += bytes;
        end += units;
      }
    } else {
      let good = pos;
      let bad = text.length + 1;
      while (bad - good > 1) {
        const half = (good + bad) >> 1;
        let mid = safeEnd(text, half);
        if (mid <= good) mid = half + 1; // the middle splits a pair: try the end of the pair
        if (mid >= bad) break;
        if (fits(pos, text.slice(pos, mid))) good = mid;
        else bad = mid;
      }
      end = good;
    }
    if (end <= pos) return undefined; // not even one character fits
    chunks.push(text.slice(pos, end));
    pos = end;
  }
  return chunks;
}

