import type { TextDocument } from '../../src/algorithms/deltaOps.js';

/** The characters of a rich-text document, embeds left out (`''` for none), for assertions on what a user reads. */
export const plainText = (doc: TextDocument | undefined): string => (doc?.ops ?? []).map((op) => (typeof op.insert === 'string' ? op.insert : '')).join('');
