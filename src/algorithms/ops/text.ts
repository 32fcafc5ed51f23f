import { toDeltaOps } from '../deltaOps.js';
import { richText } from '../richText.js';
import { fail } from './OpFailure.js';
import type { OpHandler } from './OpHandler.js';
import { setValue } from './replace.js';

/**
 * `@txt`: composes a Quill delta (a bare ops array, or legacy `{ ops }`) onto the rich-text
 * field at `path`, which is created (from `"\n"`) when missing. Goes through the engine
 * `enableRichText()` registers (`richText.ts`); without it, `RichTextNotEnabledError`.
 */
export const text: OpHandler = (draft, op, keys) => {
  const delta = toDeltaOps(op.value);
  if (delta === undefined) fail('@txt requires a delta (an array of insert/retain/delete ops)');
  setValue(draft, keys, richText().apply(draft.get(keys).value, delta));
};
