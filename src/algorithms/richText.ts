/**
 * The seam between the core and rich text: `@txt` ops are applied and transformed through the
 * engine registered here, and `enableRichText()` (`patches-rx/txt`) registers the quill-delta
 * one. The core imports nothing from quill-delta, so an app that never calls `enableRichText`
 * never bundles it (~36 KB minified with the lodash pieces it pulls in). An explicit call rather
 * than a side-effect import, because the package is `sideEffects: false` and a bundler would drop
 * an import that only registers.
 */
import { RichTextNotEnabledError } from '../errors.js';
import type { DeltaOp, TextDocument } from './deltaOps.js';

/** The two Quill Delta operations `@txt` needs. */
export interface RichTextEngine {
  /** Composes a change delta onto a stored text field (`applyTextDelta`). */
  apply(existing: unknown, delta: readonly DeltaOp[]): TextDocument;
  /** Rewrites `b` to apply after `a`, `a` first at a tie when `priority` (`transformDelta`). */
  transform(a: readonly DeltaOp[], b: readonly DeltaOp[], priority: boolean): DeltaOp[];
}

let engine: RichTextEngine | undefined;

/**
 * Registers the engine `@txt` ops go through (`undefined` unregisters it: specs only).
 *
 * @example
 * setRichTextEngine({ apply: applyTextDelta, transform: transformDelta });
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
