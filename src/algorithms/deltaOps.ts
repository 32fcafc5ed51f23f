/**
 * The shape of rich-text (`@txt`) values, checked without quill-delta: what an op's delta and a
 * stored text field look like. The core validates, splits and routes `@txt` with these alone;
 * composing and transforming deltas is `patches-rx/txt`'s job (see `richText.ts`).
 *
 * A text field is stored as `{ ops: DeltaOp[] }` holding inserts only, ending in `"\n"` (Quill's
 * document invariant). An `@txt` op carries a change delta (inserts, retains, deletes).
 */

/** One Quill Delta operation: exactly one of `insert`, `delete` or `retain`, plus attributes. */
export interface DeltaOp {
  /** Text to insert, or an embed object (`{ image: '…' }`). */
  insert?: string | Record<string, unknown>;
  /** Number of characters to delete. */
  delete?: number;
  /** Number of characters to keep (or an embed to modify). */
  retain?: number | Record<string, unknown>;
  /** Formatting; on a retain, `null` values remove a format. */
  attributes?: Record<string, unknown>;
}

/** A rich-text field as stored in a document: a Delta holding inserts only, ending in `"\n"`. */
export interface TextDocument {
  ops: DeltaOp[];
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isPositiveLength = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value > 0;

function isValidOp(op: unknown): op is DeltaOp {
  if (!isRecord(op)) return false;
  if (op.attributes !== undefined && !isRecord(op.attributes)) return false;
  const kinds = Number('insert' in op) + Number('delete' in op) + Number('retain' in op);
  if (kinds !== 1) return false;
  if ('insert' in op) return typeof op.insert === 'string' || isRecord(op.insert);
  if ('delete' in op) return isPositiveLength(op.delete);
  return isPositiveLength(op.retain) || isRecord(op.retain);
}

const isInsert = (op: DeltaOp): boolean => op.insert !== undefined;

/**
 * Is `ops` a well-formed delta: an array of valid insert/retain/delete ops?
 *
 * @example
 * isDelta([{ retain: 1 }, { insert: 'a' }]); // true
 * isDelta([{ delete: 0 }]);                  // false
 */
export function isDelta(ops: unknown): ops is DeltaOp[] {
  return Array.isArray(ops) && ops.every(isValidOp);
}

/**
 * Reads the value of an `@txt` op: a bare ops array (the wire form) or a legacy `{ ops }`.
 *
 * @returns the ops, or undefined when the value is not a well-formed delta.
 * @example
 * toDeltaOps([{ retain: 5 }, { insert: '!' }]); // the same ops
 * toDeltaOps({ ops: [{ insert: 'a' }] });      // [{ insert: 'a' }]
 * toDeltaOps('hello');                          // undefined
 */
export function toDeltaOps(value: unknown): DeltaOp[] | undefined {
  const ops = Array.isArray(value) ? value : isRecord(value) && Array.isArray(value.ops) ? value.ops : undefined;
  return isDelta(ops) ? ops : undefined;
}

/**
 * Reads a stored text field as document ops. An ops array must be non-empty and start with
 * an insert, `{ ops }` may be empty; either way it must hold inserts only. Anything else
 * (missing, a string, a corrupt delta) counts as a fresh document: a single `"\n"`.
 *
 * @example
 * normalizeTextDocument({ ops: [{ insert: 'Hi\n' }] }); // [{ insert: 'Hi\n' }]
 * normalizeTextDocument(undefined);                     // [{ insert: '\n' }]
 */
export function normalizeTextDocument(existing: unknown): DeltaOp[] {
  const ops = toDeltaOps(existing);
  const usable = ops !== undefined && ops.every(isInsert) && (ops.length > 0 || !Array.isArray(existing));
  return usable ? ops : [{ insert: '\n' }];
}
