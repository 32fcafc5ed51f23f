/**
 * Quill Delta `compose` and `transform`, the two operations `@txt` needs, written out here so the
 * browser bundle does not carry `quill-delta` and the lodash pieces it pulls in (~36 KB
 * minified). The rules are quill-delta 5's, op for op (its `push` merging, `chop`, the
 * attribute rules, embeds); `spec/algorithms/deltaCore.spec.ts` checks that against quill-delta
 * itself on random deltas. Embed retains (`retain: { image: … }`) compose only through embed
 * handlers, which we do not register: like quill-delta without a handler, that throws.
 *
 * Inputs are read, never written; outputs may share attribute objects with the inputs (the
 * caller copies them into plain JSON).
 */
import { deepEqual } from './deepEqual.js';
import type { DeltaOp } from './textDelta.js';

type Attributes = Record<string, unknown>;

function opLength(op: DeltaOp): number {
  if (typeof op.delete === 'number') return op.delete;
  if (typeof op.retain === 'number') return op.retain;
  if (typeof op.retain === 'object' && op.retain !== null) return 1;
  return typeof op.insert === 'string' ? op.insert.length : 1;
}

/** Walks a delta in pieces of chosen lengths (quill-delta's OpIterator). */
class OpIterator {
  private index = 0;
  private offset = 0;

  constructor(private readonly ops: readonly DeltaOp[]) {}

  hasNext(): boolean {
    return this.peekLength() < Infinity;
  }

  next(length = Infinity): DeltaOp {
    const op = this.ops[this.index];
    if (op === undefined) return { retain: Infinity };
    const offset = this.offset;
    const full = opLength(op);
    if (length >= full - offset) {
      length = full - offset;
      this.index += 1;
      this.offset = 0;
    } else {
      this.offset += length;
    }
    if (typeof op.delete === 'number') return { delete: length };
    const piece: DeltaOp = {};
    if (op.attributes) piece.attributes = op.attributes;
    if (typeof op.retain === 'number') piece.retain = length;
    else if (typeof op.retain === 'object' && op.retain !== null) piece.retain = op.retain;
    else if (typeof op.insert === 'string') piece.insert = op.insert.substr(offset, length);
    else piece.insert = op.insert;
    return piece;
  }

  peek(): DeltaOp | undefined {
    return this.ops[this.index];
  }

  peekLength(): number {
    const op = this.ops[this.index];
    return op === undefined ? Infinity : opLength(op) - this.offset;
  }

  peekType(): 'insert' | 'delete' | 'retain' {
    const op = this.ops[this.index];
    if (op === undefined) return 'retain';
    if (typeof op.delete === 'number') return 'delete';
    if (typeof op.retain === 'number' || (typeof op.retain === 'object' && op.retain !== null)) return 'retain';
    return 'insert';
  }

  rest(): DeltaOp[] {
    if (!this.hasNext()) return [];
    if (this.offset === 0) return this.ops.slice(this.index);
    const [offset, index] = [this.offset, this.index];
    const next = this.next();
    const rest = this.ops.slice(this.index);
    [this.offset, this.index] = [offset, index];
    return [next, ...rest];
  }
}

/** Appends `op` to `ops`, merging it into the last op as quill-delta's `Delta.push` does. */
export function push(ops: DeltaOp[], op: DeltaOp): void {
  let index = ops.length;
  let last = ops[index - 1];
  const next: DeltaOp = { ...op };
  if (last !== undefined) {
    if (typeof next.delete === 'number' && typeof last.delete === 'number') {
      ops[index - 1] = { delete: last.delete + next.delete };
      return;
    }
    // Inserting before or after a delete at the same index is the same: inserts go first.
    if (typeof last.delete === 'number' && next.insert != null) {
      index -= 1;
      last = ops[index - 1];
      if (last === undefined) {
        ops.unshift(next);
        return;
      }
    }
    if (deepEqual(next.attributes, last.attributes)) {
      if (typeof next.insert === 'string' && typeof last.insert === 'string') {
        ops[index - 1] = { insert: last.insert + next.insert };
        if (typeof next.attributes === 'object') ops[index - 1].attributes = next.attributes;
        return;
      }
      if (typeof next.retain === 'number' && typeof last.retain === 'number') {
        ops[index - 1] = { retain: last.retain + next.retain };
        if (typeof next.attributes === 'object') ops[index - 1].attributes = next.attributes;
        return;
      }
    }
  }
  ops.splice(index, 0, next);
}

function retain(ops: DeltaOp[], length: number | Record<string, unknown>, attributes: Attributes | undefined): void {
  if (typeof length === 'number' && length <= 0) return;
  const op: DeltaOp = { retain: length };
  if (attributes != null && typeof attributes === 'object' && Object.keys(attributes).length > 0) op.attributes = attributes;
  push(ops, op);
}

/** Drops a trailing plain retain (it changes nothing). */
function chop(ops: DeltaOp[]): DeltaOp[] {
  const last = ops[ops.length - 1];
  if (last && typeof last.retain === 'number' && !last.attributes) ops.pop();
  return ops;
}

function composeAttributes(a: unknown, b: unknown, keepNull: boolean): Attributes | undefined {
  const left = typeof a === 'object' && a !== null ? (a as Attributes) : {};
  const right = typeof b === 'object' && b !== null ? (b as Attributes) : {};
  const attributes: Attributes = {};
  for (const key of Object.keys(right)) if (keepNull || right[key] != null) attributes[key] = right[key];
  for (const key in left) if (left[key] !== undefined && right[key] === undefined) attributes[key] = left[key];
  return Object.keys(attributes).length > 0 ? attributes : undefined;
}

function transformAttributes(a: Attributes | undefined, b: Attributes | undefined, priority: boolean): Attributes | undefined {
  if (typeof a !== 'object') return b;
  if (typeof b !== 'object') return undefined;
  if (!priority) return b; // b simply overwrites a without priority
  const attributes: Attributes = {};
  for (const key of Object.keys(b)) if (a[key] === undefined) attributes[key] = b[key];
  return Object.keys(attributes).length > 0 ? attributes : undefined;
}

function noEmbedHandler(a: unknown, b: unknown): never {
  const typeOf = (value: unknown) => (typeof value === 'object' && value !== null ? Object.keys(value)[0] : typeof value);
  const [left, right] = [typeOf(a), typeOf(b)];
  throw new Error(left === right ? `no handlers for embed type "${left}"` : `embed types not matched: ${left} != ${right}`);
}

/**
 * The delta with the effect of `a` then `b` (quill-delta `a.compose(b)`).
 *
 * @example
 * composeOps([{ insert: 'a' }], [{ retain: 1 }, { insert: 'b' }]); // [{ insert: 'ab' }]
 */
export function composeOps(a: readonly DeltaOp[], b: readonly DeltaOp[]): DeltaOp[] {
  const left = new OpIterator(a);
  const right = new OpIterator(b);
  const ops: DeltaOp[] = [];
  const firstRight = right.peek();
  // A leading plain retain in `b` keeps `a`'s leading inserts as they are: copy them over.
  if (firstRight != null && typeof firstRight.retain === 'number' && firstRight.attributes == null) {
    let firstLeft = firstRight.retain;
    while (left.peekType() === 'insert' && left.peekLength() <= firstLeft) {
      firstLeft -= left.peekLength();
      ops.push(left.next());
    }
    if (firstRight.retain - firstLeft > 0) right.next(firstRight.retain - firstLeft);
  }
  while (left.hasNext() || right.hasNext()) {
    if (right.peekType() === 'insert') {
      push(ops, right.next());
    } else if (left.peekType() === 'delete') {
      push(ops, left.next());
    } else {
      const length = Math.min(left.peekLength(), right.peekLength());
      const leftOp = left.next(length);
      const rightOp = right.next(length);
      if (rightOp.retain) {
        const op: DeltaOp = {};
        if (typeof leftOp.retain === 'number') {
          op.retain = typeof rightOp.retain === 'number' ? length : rightOp.retain;
        } else if (typeof rightOp.retain === 'number') {
          if (leftOp.retain == null) op.insert = leftOp.insert;
          else op.retain = leftOp.retain;
        } else {
          noEmbedHandler(leftOp.retain ?? leftOp.insert, rightOp.retain);
        }
        // Keep a null (format removal) when composing onto a retain; drop it on an insert.
        const attributes = composeAttributes(leftOp.attributes, rightOp.attributes, typeof leftOp.retain === 'number');
        if (attributes) op.attributes = attributes;
        push(ops, op);
        // The rest of `b` is a plain retain: the rest of `a` stays as it is.
        if (!right.hasNext() && deepEqual(ops[ops.length - 1], op)) {
          const rest = left.rest();
          if (rest.length > 0) {
            push(ops, rest[0]);
            ops.push(...rest.slice(1));
          }
          return chop(ops);
        }
      } else if (typeof rightOp.delete === 'number' && (typeof leftOp.retain === 'number' || (typeof leftOp.retain === 'object' && leftOp.retain !== null))) {
        push(ops, rightOp);
      }
      // Otherwise `b` deletes what `a` inserted: both vanish.
    }
  }
  return chop(ops);
}

/**
 * Rewrites `b` to apply after `a`, both made against the same text (quill-delta
 * `a.transform(b, priority)`); `priority` true puts `a`'s insert first at a tie.
 *
 * @example
 * transformOps([{ insert: 'A' }], [{ insert: 'B' }], true); // [{ retain: 1 }, { insert: 'B' }]
 */
export function transformOps(a: readonly DeltaOp[], b: readonly DeltaOp[], priority: boolean): DeltaOp[] {
  const left = new OpIterator(a);
  const right = new OpIterator(b);
  const ops: DeltaOp[] = [];
  while (left.hasNext() || right.hasNext()) {
    if (left.peekType() === 'insert' && (priority || right.peekType() !== 'insert')) {
      retain(ops, opLength(left.next()), undefined);
    } else if (right.peekType() === 'insert') {
      push(ops, right.next());
    } else {
      const length = Math.min(left.peekLength(), right.peekLength());
      const leftOp = left.next(length);
      const rightOp = right.next(length);
      // Our delete makes their delete redundant or removes their retain.
      if (leftOp.delete) continue;
      if (rightOp.delete) {
        push(ops, rightOp);
      } else {
        const isEmbed = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
        // Two retains of the same embed type need its handler, which quill-delta looks up and
        // throws without; any other embed retain passes through unchanged.
        if (isEmbed(leftOp.retain) && isEmbed(rightOp.retain) && Object.keys(leftOp.retain)[0] === Object.keys(rightOp.retain)[0]) {
          noEmbedHandler(leftOp.retain, rightOp.retain);
        }
        const data = isEmbed(rightOp.retain) ? rightOp.retain : length;
        retain(ops, data, transformAttributes(leftOp.attributes, rightOp.attributes, priority));
      }
    }
  }
  return chop(ops);
}
