/**
 * Splitting oversized changes into pieces that fit a byte budget (protocol §4.6), so a big paste
 * or import still reaches a server with a frame or row size limit.
 */
import { UnsplittableChangeError } from '../../errors.js';
import type { Change, JSONPatchOp, SizeCalculator } from '../../types.js';
import { createId } from '../createId.js';
import { sizeOf } from './sizeOf.js';
import { richText, type TextOpBudget } from '../richText.js';

/** Options of `breakChanges`. */
export interface BreakChangesOptions {
  /** Measures a change in bytes; default `sizeOf` (UTF-8 length of its JSON). */
  sizeCalculator?: SizeCalculator | undefined;
  /** The document the changes belong to, named in an `UnsplittableChangeError`. */
  docId?: string | undefined;
  /**
   * An op that cannot be split and is over `maxBytes` is sent alone, oversized, when it measures
   * at most this; above it `UnsplittableChangeError` is thrown. Default `maxBytes`: never oversized.
   */
  maxUnsplittableBytes?: number | undefined;
  /**
   * Write the entries of a split array into a skeleton of its full length (`replace` by index)
   * instead of appending them (`add` past the end). For LWW changes: an LWW server stores every
   * write as a `replace`, which cannot append, so appended entries were dropped. Default false.
   */
  fillArrays?: boolean | undefined;
  /**
   * Changes that must travel whole, however large (they are not cut, nor measured against the
   * limit): an OT change that may already be committed, which only its own id lets the server
   * recognise (see `DocSync.pendingBatches`). Default: none.
   */
  keepWhole?: ((change: Change) => boolean) | undefined;
  /**
   * How pieces are named. `'fresh'` (default): the first keeps the change's id, the others get
   * random ids from `createId`. `'derived'` (LWW): the others get `derivedPieceId(change id, ops)`,
   * a pure function of the change's id and the piece's ops, so a resend cut the same way carries
   * the same ids and the server recognises what it committed (found in review: a later piece sent
   * again under a fresh id was committed twice, re-clamped past another user's later write). The
   * first keeps the change's id only when it starts with the change's first op whole (then it is
   * a prefix of the change's ops, which a smaller budget only shortens); else it is derived too.
   * `'derivedFirst'`: every piece derived (a cut under a budget a 413 shrank, whose first piece
   * may be shorter than the one a later cut under the configured budget makes: under the
   * change's id, that one would be taken for it and its other ops dropped as a duplicate).
   */
  pieceIds?: 'fresh' | 'derived' | 'derivedFirst' | undefined;
}

/** Longest prefix of a change id a derived piece id keeps (ids stay short; the hash covers the whole id). */
const ID_PREFIX_MAX = 64;

/** The 128-bit cyrb128 hash of a string, as 24 base-62 characters. Not cryptographic. */
function hash128(text: string): string {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1, h2, h3, h4].map(base62x6).join('');
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A 32-bit value as 6 base-62 characters (62⁶ > 2³²). */
function base62x6(value: number): string {
  let n = value >>> 0;
  let out = '';
  for (let i = 0; i < 6; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** The prefix of a change id its derived piece ids keep. */
function idPrefix(changeId: string): string {
  return changeId.length > ID_PREFIX_MAX ? changeId.slice(0, 40) : changeId;
}

/** An id as long in JSON as the longest a piece of `changeId` may get (its own, or a derived one). */
function standInId(changeId: string): string {
  const derived = `${idPrefix(changeId)}.${'x'.repeat(24)}`;
  return JSON.stringify(derived).length >= JSON.stringify(changeId).length ? derived : changeId;
}

/**
 * The id of a piece of change `changeId` holding `ops`: the change's id (its first 40 characters
 * when longer than 64), a dot, and a 128-bit hash of the whole id and the ops' JSON. Equal
 * content gives equal ids, in any tab, after a reload; different content (another cut) other
 * ids, but for a hash collision (~2⁻¹²⁸ per pair of pieces of one change). At most 89 characters
 * (the server takes ids up to 1,024), and at most 65 when cut again from such an id.
 *
 * @example
 * derivedPieceId('rFIEeWWlJQvj', [{ op: 'replace', path: '/b', value: 1, ts: 5 }]);
 * // 'rFIEeWWlJQvj.' + 24 base-62 characters, the same on every call
 */
export function derivedPieceId(changeId: string, ops: readonly JSONPatchOp[]): string {
  return `${idPrefix(changeId)}.${hash128(`${changeId}\n${JSON.stringify(ops)}`)}`;
}

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'prototype', 'constructor']);

/**
 * Measures candidate pieces of one change: piece `k` has rev `rev + k` and its own id. Derived
 * ids (`pieceIds`) depend on the piece's ops, so pieces are measured with a stand-in id of the
 * length the final one will have (every piece, the first included: it may be derived too).
 */
class PieceMeter {
  private readonly ids: string[];
  private readonly bases = new Map<number, number>();
  private readonly opSizes = new WeakMap<JSONPatchOp, number>();
  private readonly derived: boolean;

  constructor(
    private readonly change: Change,
    private readonly rev: number,
    private readonly calculator: SizeCalculator | undefined,
    private readonly pieceIds: BreakChangesOptions['pieceIds'] = 'fresh',
  ) {
    this.derived = pieceIds !== 'fresh';
    this.ids = this.derived ? [] : [change.id];
  }

  /** The id piece `k` is measured with: the final one, or a stand-in as long as it. */
  id(k: number): string {
    if (this.derived) {
      if (this.ids.length === 0) this.ids.push(standInId(this.change.id));
      return this.ids[0];
    }
    while (this.ids.length <= k) this.ids.push(createId());
    return this.ids[k];
  }

  piece(k: number, ops: JSONPatchOp[]): Change {
    return { ...this.change, id: this.id(k), rev: this.rev + k, ops };
  }

  /** Piece `k` as sent: with derived ids, named after its ops (see `BreakChangesOptions.pieceIds`). */
  final(k: number, ops: JSONPatchOp[]): Change {
    if (!this.derived) return this.piece(k, ops);
    const keepsId = k === 0 && this.pieceIds === 'derived' && ops[0] === this.change.ops[0];
    return { ...this.change, id: keepsId ? this.change.id : derivedPieceId(this.change.id, ops), rev: this.rev + k, ops };
  }

  /** Size of piece `k` holding `ops`. The default measure is additive, so it is computed per op. */
  size(k: number, ops: readonly JSONPatchOp[]): number {
    if (this.calculator) return this.calculator(this.piece(k, ops.slice()));
    let base = this.bases.get(k);
    if (base === undefined) {
      base = sizeOf(this.piece(k, []));
      this.bases.set(k, base);
    }
    let total = base + Math.max(0, ops.length - 1);
    for (const op of ops) total += this.opSize(op);
    return total;
  }

  /** The size an op adds to a piece (default measure only). */
  opSize(op: JSONPatchOp): number {
    let size = this.opSizes.get(op);
    if (size === undefined) {
      size = sizeOf(op);
      this.opSizes.set(op, size);
    }
    return size;
  }

  get additive(): boolean {
    return this.calculator === undefined;
  }
}

function escapeKey(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function placeholder(value: unknown): unknown {
  if (Array.isArray(value)) return [];
  return typeof value === 'object' && value !== null ? {} : null;
}

/** Splits the ops of one oversized change into pieces that each fit (or are tolerated alone). */
class ChangeSplitter {
  private readonly meter: PieceMeter;

  constructor(
    private readonly change: Change,
    rev: number,
    private readonly maxBytes: number,
    private readonly limit: number,
    private readonly options: BreakChangesOptions,
  ) {
    this.meter = new PieceMeter(change, rev, options.sizeCalculator, options.pieceIds);
  }

  split(): Change[] {
    const { meter, maxBytes } = this;
    const queue = this.change.ops.slice();
    const pieces: JSONPatchOp[][] = [];
    if (queue.length === 0) {
      // Only the envelope (metadata) is too big: there is nothing to split.
      this.unsplittable(meter.size(0, []));
      return [meter.final(0, [])];
    }
    let i = 0;
    while (i < queue.length) {
      const k = pieces.length;
      const alone = meter.size(k, [queue[i]]);
      if (alone > maxBytes) {
        const parts = this.splitOp(queue[i], k);
        if (parts !== undefined) {
          queue.splice(i, 1, ...parts);
          continue;
        }
        this.unsplittable(alone);
        pieces.push([queue[i++]]);
        continue;
      }
      const end = this.packFrom(queue, i, k, alone);
      pieces.push(queue.slice(i, end));
      i = end;
    }
    return pieces.map((ops, k) => meter.final(k, ops));
  }

  /** The end of the longest run of ops from `start` that fits in piece `k` (at least one op). */
  private packFrom(queue: readonly JSONPatchOp[], start: number, k: number, firstSize: number): number {
    const { meter, maxBytes } = this;
    if (meter.additive) {
      let total = firstSize;
      let end = start + 1;
      while (end < queue.length) {
        const next = total + 1 + meter.opSize(queue[end]);
        if (next > maxBytes) break;
        total = next;
        end++;
      }
      return end;
    }
    // A custom measure is not additive: gallop, then binary search, measuring whole pieces.
    const fits = (end: number) => meter.size(k, queue.slice(start, end)) <= maxBytes;
    let good = start + 1;
    let step = 1;
    while (good + step <= queue.length && fits(good + step)) {
      good += step;
      step *= 2;
    }
    let bad = Math.min(good + step, queue.length + 1);
    while (bad - good > 1) {
      const mid = (good + bad) >> 1;
      if (fits(mid)) good = mid;
      else bad = mid;
    }
    return good;
  }

  private unsplittable(size: number): void {
    if (size > this.limit) throw new UnsplittableChangeError(this.options.docId, size, this.limit);
  }

  /** Does `op` fit alone in piece `k`, and in the next one (whose id and rev may be longer)? */
  private fitsAlone(op: JSONPatchOp, k: number): boolean {
    return this.meter.size(k, [op]) <= this.maxBytes && this.meter.size(k + 1, [op]) <= this.maxBytes;
  }

  /** What splitting an `@txt` op for piece `k` needs to know: the budget and the measure. */
  private textBudget(k: number): TextOpBudget {
    return {
      maxBytes: this.maxBytes,
      additive: this.meter.additive,
      sizeAlone: (op) => Math.max(this.meter.size(k, [op]), this.meter.size(k + 1, [op])),
    };
  }

  /** Smaller ops with the same effect in order, or undefined when the op cannot be split. */
  private splitOp(op: JSONPatchOp, k: number): JSONPatchOp[] | undefined {
    if (op.op === '@txt') return richText().split(op, this.textBudget(k));
    if ((op.op === 'add' || op.op === 'replace') && op.soft !== true && typeof op.value === 'object' && op.value !== null) {
      return this.splitStructure(op, k);
    }
    return undefined;
  }

  /**
   * Splits an `add`/`replace` of an object or array into a structural op holding a prefix of its
   * entries (big entries as empty placeholders) plus one op per remaining or placeholder entry:
   * `replace` to fill a placeholder, `add` to append the rest in order. Applying them in order
   * builds the same value, keys in the same order.
   */
  private splitStructure(op: JSONPatchOp, k: number): JSONPatchOp[] | undefined {
    if (op.path.endsWith('/-')) return undefined; // the appended element has no pointer
    const value = JSON.parse(JSON.stringify(op.value)) as Record<string, unknown> | unknown[];
    const isArray = Array.isArray(value);
    const keys = isArray ? value.map((_item, index) => String(index)) : Object.keys(value);
    if (keys.length === 0 || keys.some((key) => FORBIDDEN_KEYS.has(key))) return undefined;
    const entry = (key: string): unknown => (value as Record<string, unknown>)[key];
    const childOp = (name: 'add' | 'replace', key: string, child: unknown): JSONPatchOp => {
      const { soft: _soft, from: _from, ...rest } = op;
      return { ...rest, op: name, path: `${op.path}/${escapeKey(key)}`, value: child };
    };
    const inline = keys.map((key) => this.fitsAlone(childOp('add', key, entry(key)), k));
    // An array the skeleton holds at full length (`fillArrays`): the entries past the prefix are
    // nulls, each then replaced by index.
    const fill = isArray && this.options.fillArrays === true;
    const skeleton = (count: number): JSONPatchOp => {
      const shell: Record<string, unknown> | unknown[] = isArray ? [] : {};
      for (let i = 0; i < count; i++) {
        const child = inline[i] ? entry(keys[i]) : placeholder(entry(keys[i]));
        if (Array.isArray(shell)) shell.push(child);
        else shell[keys[i]] = child;
      }
      if (fill) for (let i = count; i < keys.length; i++) (shell as unknown[]).push(null);
      return { ...op, value: shell };
    };
    let good = 0;
    let bad = keys.length + 1;
    while (bad - good > 1) {
      const mid = (good + bad) >> 1;
      if (this.fitsAlone(skeleton(mid), k)) good = mid;
      else bad = mid;
    }
    if (good === 0 && !(fill && this.fitsAlone(skeleton(0), k))) return undefined;
    const ops = [skeleton(good)];
    for (let i = 0; i < good; i++) if (!inline[i]) ops.push(childOp('replace', keys[i], entry(keys[i])));
    for (let i = good; i < keys.length; i++) ops.push(childOp(fill ? 'replace' : 'add', keys[i], entry(keys[i])));
    return ops;
  }
}

/**
 * Splits every change larger than `maxBytes` into several smaller changes that, applied in order,
 * have the same effect (protocol §4.6).
 *
 * Why: servers and stores cap a frame or a row (the anchor's default wire cap is 1 MB); one
 * huge paste must still sync, so it travels as pieces. The pieces share `baseRev`, `createdAt`,
 * `committedAt`, `batchId` and metadata; the FIRST keeps the original id (so an echo or retry
 * still recognises it), later ones get fresh ids from `createId`, or ids derived from their
 * content with `pieceIds` (LWW: see there); revs are consecutive from the
 * original's, and every later change's rev shifts up by the extra pieces so none collide.
 *
 * How an op too big alone is split:
 * - `@txt`: into sequential deltas, each after the first starting with `{retain: cursor}`; a
 *   long string insert is chunked (never inside a surrogate pair, each chunk retaining to its
 *   own position). `splitTextOp`, through the rich-text engine: without `enableRichText()` an
 *   oversized `@txt` op throws `RichTextNotEnabledError`;
 * - `add`/`replace` of an object or array: a structural op with a prefix of the entries (big
 *   ones as empty placeholders) plus `replace`/`add` ops for the rest, recursively (with
 *   `fillArrays`, an array's skeleton has its full length and the rest is `replace`d by index). The result is
 *   the same JSON (the anchor instead turns embedded Delta documents into `@txt` ops, which
 *   normalises the text);
 * - anything else (one huge string or number, an embed, a soft op, an append at `/-`): cannot be
 *   split. Unlike the anchor, which sends it anyway and only warns, it is sent alone only up to
 *   `maxUnsplittableBytes` (default `maxBytes`); above, `UnsplittableChangeError` names the doc
 *   and the size: nothing is dropped or sent oversized silently.
 *
 * Every piece is measured with the calculator itself (the default measure is computed per op,
 * in linear time), so pieces fit by construction: no re-measure passes with shrinking budgets.
 *
 * Limits: a `@txt` delta that deletes the document's final newline and re-inserts it may
 * differ after splitting (each piece's result is forced to end in a newline), as may a delta
 * retaining past the end of the text. A custom calculator is assumed to grow with its input; a
 * delta with very many small ops is measured quadratically with a custom calculator.
 *
 * @param changes Changes in queue order.
 * @param maxBytes Budget per change, in the calculator's unit.
 * @param options Calculator, doc id for errors, tolerance for unsplittable ops.
 * @returns The changes, oversized ones replaced by their pieces; the input itself when none
 *   needed splitting.
 * @throws UnsplittableChangeError when an op that cannot be split exceeds the tolerance.
 * @throws RichTextNotEnabledError for an oversized `@txt` op before `enableRichText()`.
 * @throws RangeError when `maxBytes` is not a positive number.
 * @example
 * const pieces = breakChanges([bigPaste], 100_000, { docId: 'doc1' });
 * // pieces[0].id === bigPaste.id; pieces[1].rev === bigPaste.rev + 1
 */
export function breakChanges(changes: Change[], maxBytes: number, options: BreakChangesOptions = {}): Change[] {
  if (!(maxBytes > 0)) throw new RangeError(`maxBytes must be a positive number, got ${maxBytes}`);
  const limit = Math.max(maxBytes, options.maxUnsplittableBytes ?? maxBytes);
  const measure = options.sizeCalculator ?? sizeOf;
  const result: Change[] = [];
  let shift = 0;
  let changed = false;
  for (const change of changes) {
    const shifted = shift === 0 ? change : { ...change, rev: change.rev + shift };
    if (options.keepWhole?.(change) === true || measure(shifted) <= maxBytes) {
      result.push(shifted);
      changed ||= shifted !== change;
      continue;
    }
    const pieces = new ChangeSplitter(change, change.rev + shift, maxBytes, limit, options).split();
    result.push(...pieces);
    shift += pieces.length - 1;
    changed = true;
  }
  return changed ? result : changes;
}
