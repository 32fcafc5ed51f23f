/** A todo item of the hiding recipes. */
export type Item = { title: string; done: boolean };
/** The document the hiding recipes edit: `items` (one at least), and what they put its first item into. */
export type Todos = { items: Item[]; archive?: Item[]; selected?: Item[] | { item: Item } | { wrap: Item[] } };

/**
 * Recipes that put the first item into a new array or object and rename it `B` in the same
 * recipe: immer 11 (seen in 11.2.10) leaves the rename at the item's own place out of its
 * patches, carrying it only inside the new container (found in review; `mayHideEdits`).
 */
export const hidingRecipes: Record<string, (d: Todos) => void> = {
  'archive = items.filter(…), then a rename': d => {
    d.archive = d.items.filter(i => i.done);
    d.items[0].title = 'B';
  },
  'selected = [items[0]], then a rename': d => {
    d.selected = [d.items[0]];
    d.items[0].title = 'B';
  },
  'a rename, then selected = [items[0]]': d => {
    d.items[0].title = 'B';
    d.selected = [d.items[0]];
  },
  'selected = { item: items[0] }, then a rename': d => {
    d.selected = { item: d.items[0] };
    d.items[0].title = 'B';
  },
  'selected = { wrap: [items[0]] } (two levels down), then a rename': d => {
    d.selected = { wrap: [d.items[0]] };
    d.items[0].title = 'B';
  },
};
