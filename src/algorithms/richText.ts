/**
 * The seam between the core and rich text: `@txt` ops are applied and transformed through the
 * engine registered here, and `enableRichText()` (`patches-rx/txt`) registers the quill-delta
 * one. The core imports nothing from quill-delta, so an app that never calls `enableRichText`
 * never bundles it (~36 KB minified with the lodash pieces it pulls in). An explicit call rather
 * than a side-effect import, because the package is `sideEffects: false` and a bundler would drop
 * an import that only registers.
 */
import { RichTextNotEnabledError } from '../errors.js';
import type { JSONPatchOp } from '../types.js';
import type { DeltaOp, TextDocument } from './deltaOps.js';

/** What splitting one `@txt` op needs from `breakChanges`: the budget and how it measures. */
export interface TextOpBudget {
  /** The most a piece may measure. */
  maxBytes: number;
  /** True for the default measure (UTF-8 bytes of the JSON), whose sizes add up op by op. */
  additive: boolean;
  /** The size of a piece holding `op` alone. */
  sizeAlone(op: JSONPatchOp): number;
}

/** What `@txt` needs beyond checking shapes: Quill Delta compose and transform, and splitting. */
export interface RichTextEngine {
  /** Composes a change delta onto a stored text field (`applyTextDelta`). */
  apply(existing: unknown, delta: readonly DeltaOp[]): TextDocument;
  /** Rewrites `b` to apply after `a`, `a` first at a tie when `priority` (`transformDelta`). */
  transform(a: readonly DeltaOp[], b: readonly DeltaOp[], priority: boolean): DeltaOp[];
  /** Splits an oversized `@txt` op into pieces that fit (`splitTextOp`), or undefined. */
  split(op: JSONPatchOp, budget: TextOpBudget): JSONPatchOp[] | undefined;
}

let engine: RichTextEngine | undefined;

/**
 * Registers the engine `@txt` ops go through (`undefined` unregisters it: specs only).
 *
 * @example
 * setRichTextEngine({ apply: applyTextDelta, transform: transformDelta, split: splitTextOp });
 */
export function setRichTextEngine(next: RichTextEngine | undefined): void {
  engine = next;
}

/**
 * The registered engine.
 *
 * @throws RichTextNotEnabledError when `enableRichText()` was never called.
 */
export function richText(): RichTextEngine {
  if (engine === undefined) throw new RichTextNotEnabledError();
  return engine;
}
