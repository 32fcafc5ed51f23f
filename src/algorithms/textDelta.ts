/**
 * Rich-text helpers for the `@txt` op: Quill Delta compose and transform through the
 * `quill-delta` package, with inputs validated and outputs turned into plain JSON.
 *
 * A text field is stored as `{ ops: DeltaOp[] }` holding inserts only, ending in `"\n"` (Quill's
 * document invariant). An `@txt` op carries a change delta (inserts, retains, deletes).
 */
import QuillDelta from 'quill-delta';
import type { Op } from 'quill-delta';

// quill-delta is CommonJS: under NodeNext the default import is its module.exports, whose
// `default` is the Delta class again (at runtime and in its typings).
const Delta = QuillDelta.default;
type Delta = InstanceType<typeof Delta>;

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

/** Deep-copies ops into fresh plain objects: nothing shared with inputs, no Delta instances. */
function toPlainOps(ops: readonly Op[]): DeltaOp[] {
  return ops.map((op) => structuredClone(op) as DeltaOp);
}

function toDelta(ops: readonly DeltaOp[]): Delta {
  // A copy: the Delta constructor keeps the array it is given, and inputs may be frozen.
  return new Delta(ops.slice() as Op[]);
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
  return ops !== undefined && ops.every(isValidOp) ? (ops as DeltaOp[]) : undefined;
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

/**
 * Applies an `@txt` change to a stored text field (protocol §2.4).
 *
 * Composes the change onto the existing document; retains and deletes that run past the end of
 * the document leave non-insert ops in the result, and those are dropped (a change authored on
 * a longer version of the text must not corrupt the field). The result is forced to end with
 * `"\n"` and returned as a plain `{ ops }` object sharing nothing with its inputs.
 *
 * @throws TypeError when `delta` is not a well-formed delta.
 * @example
 * applyTextDelta({ ops: [{ insert: 'Hello\n' }] }, [{ retain: 5 }, { insert: '!' }]);
 * // { ops: [{ insert: 'Hello!\n' }] }
 */
export function applyTextDelta(existing: unknown, delta: readonly DeltaOp[]): TextDocument {
  if (!Array.isArray(delta) || !delta.every(isValidOp)) throw new TypeError('invalid text delta');
  const composed = toDelta(normalizeTextDocument(existing)).compose(toDelta(delta));
  // push (not the constructor) so inserts that end up adjacent are merged, as Quill keeps them.
  const doc = new Delta();
  for (const op of composed.ops) if (isInsert(op)) doc.push(op);
  const last = doc.ops[doc.ops.length - 1];
  if (last === undefined || typeof last.insert !== 'string' || !last.insert.endsWith('\n')) doc.insert('\n');
  return { ops: toPlainOps(doc.ops) };
}

/**
 * Composes two deltas into one with the effect of `a` then `b` (quill-delta `compose`).
 *
 * @throws TypeError when either is not a well-formed delta.
 * @example
 * composeDelta([{ insert: 'a' }], [{ retain: 1 }, { insert: 'b' }]); // [{ insert: 'ab' }]
 */
export function composeDelta(a: readonly DeltaOp[], b: readonly DeltaOp[]): DeltaOp[] {
  assertDelta(a);
  assertDelta(b);
  return toPlainOps(toDelta(a).compose(toDelta(b)).ops);
}

/**
 * Rewrites delta `b` to apply after delta `a`, when both were made against the same text
 * (quill-delta `a.transform(b, priority)`): the OT rule for two concurrent `@txt` ops.
 *
 * `priority` true means `a` happened first, so when both insert at the same position `a`'s text
 * comes first and `b`'s insert is pushed after it; false lets `b` go first.
 *
 * @throws TypeError when either is not a well-formed delta.
 * @example
 * transformDelta([{ insert: 'A' }], [{ insert: 'B' }], true);  // [{ retain: 1 }, { insert: 'B' }]
 * transformDelta([{ insert: 'A' }], [{ insert: 'B' }], false); // [{ insert: 'B' }]
 */
export function transformDelta(a: readonly DeltaOp[], b: readonly DeltaOp[], priority: boolean): DeltaOp[] {
  assertDelta(a);
  assertDelta(b);
  return toPlainOps(toDelta(a).transform(toDelta(b), priority).ops);
}

function assertDelta(ops: readonly DeltaOp[]): void {
  if (!Array.isArray(ops) || !ops.every(isValidOp)) throw new TypeError('invalid text delta');
}
