import { orderAt, sortedCards } from '../../../examples/board/docs.js';

describe('sortedCards', () => {
  it('should sort by order, then by id, so concurrent appends show in one order everywhere', () => {
    const board = { b: { text: 'B', order: 1 }, a: { text: 'A', order: 1 }, c: { text: 'C', order: 0 } };
    expect(sortedCards(board).map(card => card.id)).toEqual(['c', 'a', 'b']);
    expect(sortedCards({})).toEqual([]);
  });
});

describe('orderAt', () => {
  const cards = [{ order: 0 }, { order: 1 }, { order: 3 }];
  it('should put a card between its new neighbours, or one past either end', () => {
    expect(orderAt(cards, 0)).toBe(-1);
    expect(orderAt(cards, 1)).toBe(0.5);
    expect(orderAt(cards, 2)).toBe(2);
    expect(orderAt(cards, 3)).toBe(4);
    expect(orderAt([], 0)).toBe(0);
  });
});
