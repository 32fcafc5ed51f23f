/**
 * Rich-text helpers for the `@txt` op: Quill Delta compose and transform through the
 * `quill-delta` package, with inputs validated and outputs turned into plain JSON. Only
 * `patches-rx/txt` imports this file, so apps without `@txt` never bundle quill-delta.
 *
 * A text field is stored as `{ ops: DeltaOp[] }` holding inserts only, ending in `"\n"` (Quill's
 * document invariant). An `@txt` op carries a change delta (inserts, retains, deletes).
 */
import QuillDelta from 'quill-delta';
import type { Op } from 'quill-delta';
import { isDelta, normalizeTextDocument, type DeltaOp, type TextDocument } from '../algorithms/deltaOps.js';
import { deepCopy } from '../util/deepCopy.js';

// quill-delta is CommonJS: under NodeNext the default import is its module.exports, whose
// `default` is the Delta class again (at runtime and in its typings).
const Delta = QuillDelta.default;
type Delta = InstanceType<typeof Delta>;

const isInsert = (op: DeltaOp): boolean => op.insert !== undefined;

/**
 * Deep-copies ops into fresh plain objects: nothing shared with inputs, no Delta instances. Strings
 * are shared (they cannot change): `structuredClone` copied a long text's characters at every `@txt` op.
 */
function toPlainOps(ops: readonly Op[]): DeltaOp[] {
  return ops.map((op) => deepCopy(op) as DeltaOp);
}

function toDelta(ops: readonly DeltaOp[]): Delta {
  // A copy: the Delta constructor keeps the array it is given, and inputs may be frozen.
  return new Delta(ops.slice() as Op[]);
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
  if (!isDelta(delta)) throw new TypeError('invalid text delta');
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
  if (!isDelta(ops)) throw new TypeError('invalid text delta');
}
