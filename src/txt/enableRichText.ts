import { setRichTextEngine } from '../algorithms/richText.js';
import { splitTextOp } from '../algorithms/batching/splitTextOp.js';
import { applyTextDelta, transformDelta } from './textDelta.js';

/**
 * Turns on rich text: `@txt` ops (Quill deltas) are applied and transformed through quill-delta,
 * and split when too large to send.
 *
 * Without it the core refuses `@txt` with a `RichTextNotEnabledError`, so apps that never edit
 * rich text do not bundle quill-delta. Call it once at startup, before opening docs; calling it
 * again does nothing. The server (`patches-rx/server`, `patches-rx-server`) calls it itself.
 *
 * ## Example
 * ```ts
 * import { enableRichText } from 'patches-rx/txt';
 * enableRichText();
 * ```
 */
export function enableRichText(): void {
  setRichTextEngine({ apply: applyTextDelta, transform: transformDelta, split: splitTextOp });
}
