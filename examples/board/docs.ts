/** The two documents of the demo: one OT board everybody edits, one LWW settings doc. */

/** A card on the board. */
export interface Card {
  text: string;
  /** Position: cards show sorted by `order`, then by id. */
  order: number;
}

/**
 * The board (an OT document): cards by id, at the top level. Two choices keep concurrent edits
 * from fighting:
 * - an `order` number instead of an array: a move writes one number, so it never fights an edit of
 *   the card's text (an OT drag is recorded as one `move`, which such an edit follows, but a drag
 *   in the same `change()` as an edit of the card is a remove plus an insert of a copy, which
 *   carries the old text back);
 * - no container to create: if the first card of two users both created a `cards` object, the later
 *   `add /cards` would replace the earlier one, card and all. The document root always exists.
 */
export type Board = Record<string, Card>;

/** The cards in display order, each with its id. */
export function sortedCards(board: Board): Array<Card & { id: string }> {
  return Object.entries(board)
    .map(([id, card]) => ({ id, ...card }))
    .sort((a, b) => a.order - b.order || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The `order` that puts a card at `index` of `cards` (the display order without it): halfway
 * between its new neighbours, or one past the ends.
 */
export function orderAt(cards: ReadonlyArray<{ order: number }>, index: number): number {
  const before = cards[index - 1]?.order;
  const after = cards[index]?.order;
  if (before === undefined) return after === undefined ? 0 : after - 1;
  return after === undefined ? before + 1 : (before + after) / 2;
}

/** Board-wide settings (an LWW document: the later write of a field wins). */
export interface Settings {
  name?: string;
  theme?: 'light' | 'dark';
}

/** Doc ids. The reference server makes ids starting with `lww` LWW documents, all others OT. */
export const BOARD_ID = 'demo-board';
export const SETTINGS_ID = 'lww-demo-settings';
