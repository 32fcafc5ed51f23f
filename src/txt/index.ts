/**
 * `patches-rx/txt`: rich-text (`@txt`, Quill Delta) support, opt-in so that apps without it do
 * not bundle quill-delta. Call `enableRichText()` once at startup; edit a text field in
 * `doc.change()` with `editText`.
 */
export { enableRichText } from './enableRichText.js';
export { editText } from './editText.js';
export { applyTextDelta, composeDelta, transformDelta } from './textDelta.js';
export { toDeltaOps, normalizeTextDocument, type DeltaOp, type TextDocument } from '../algorithms/deltaOps.js';
