/**
 * The board panel: renders the cards of the OT doc and turns clicks and typing into `doc.change()`.
 * Card elements are kept by card id, so a remote update never steals the focus or the caret.
 */
import { createId, type PatchesDoc } from 'patches-rx';
import { orderAt, sortedCards, type Board } from './docs.js';
import { setKeepingCaret } from './setKeepingCaret.js';

/** Wires the board panel inside `root` to `doc`; returns a function that renders a state. */
export function boardView(root: HTMLElement, doc: PatchesDoc<Board>): (board: Board) => void {
  const list = root.querySelector<HTMLOListElement>('.cards')!;
  const form = root.querySelector<HTMLFormElement>('.add-card')!;
  const input = form.querySelector<HTMLInputElement>('input')!;
  const elements = new Map<string, HTMLLIElement>();

  form.addEventListener('submit', event => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    doc.change(draft => {
      const cards = sortedCards(draft);
      draft[createId()] = { text, order: orderAt(cards, cards.length) };
    });
    input.value = '';
  });

  /** Moves a card by `by` places in the display order: one number changes. */
  const move = (id: string, by: number): void =>
    doc.change(draft => {
      const cards = sortedCards(draft);
      const from = cards.findIndex(card => card.id === id);
      const to = from + by;
      if (from === -1 || to < 0 || to >= cards.length) return;
      const others = cards.filter(card => card.id !== id);
      draft[id].order = orderAt(others, to);
    });

  const cardElement = (id: string): HTMLLIElement => {
    const li = document.createElement('li');
    li.className = 'card';
    li.dataset.id = id;
    const text = document.createElement('textarea');
    text.rows = 2;
    text.setAttribute('aria-label', 'Card text');
    text.addEventListener('input', () =>
      doc.change(draft => {
        const card = draft[id];
        if (card) card.text = text.value;
      }),
    );
    const button = (label: string, symbol: string, act: () => void): HTMLButtonElement => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = symbol;
      b.title = label;
      b.setAttribute('aria-label', label);
      b.addEventListener('click', act);
      return b;
    };
    li.append(
      text,
      button('Move up', '↑', () => move(id, -1)),
      button('Move down', '↓', () => move(id, 1)),
      button('Delete card', '✕', () =>
        doc.change(draft => {
          delete draft[id];
        }),
      ),
    );
    return li;
  };

  return board => {
    const cards = sortedCards(board);
    const seen = new Set<string>();
    cards.forEach((card, index) => {
      seen.add(card.id);
      let li = elements.get(card.id);
      if (!li) elements.set(card.id, (li = cardElement(card.id)));
      const text = li.querySelector('textarea')!;
      if (text.value !== card.text) setKeepingCaret(text, card.text);
      // Only move nodes that are out of place: moving a node drops its focus.
      if (list.children[index] !== li) list.insertBefore(li, list.children[index] ?? null);
    });
    for (const [id, li] of elements) {
      if (seen.has(id)) continue;
      li.remove();
      elements.delete(id);
    }
    root.querySelector('.empty')!.toggleAttribute('hidden', cards.length > 0);
  };
}
