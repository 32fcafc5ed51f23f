import { enableArrayMethods } from 'immer';
import { Patches } from '../../src/client/Patches.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';

// immer's array methods plugin is global to immer (this file's module registry only, in jest):
// with it, `pop` and `shift` return the element itself, no draft, which a recipe's expression
// body hands back (found in a second reading: `change()` refused it as a returned new state).
enableArrayMethods();

describe('PatchesDoc.change() with immer enableArrayMethods', () => {
  it.each(['ot', 'lww'] as const)('should record a pop and a shift an expression body returns (%s)', async algorithm => {
    const patches = new Patches({ store: new InMemoryStore() });
    const doc = await patches.openDoc<{ items?: Array<{ id: number }> }>('d', { algorithm });
    doc.change(d => {
      d.items = [{ id: 1 }, { id: 2 }, { id: 3 }];
    });
    doc.change(d => d.items!.pop());
    doc.change(d => d.items!.shift());
    expect(doc.state).toEqual({ items: [{ id: 2 }] });
    await doc.flush();
    const stored = await patches.store.getDoc('d');
    expect(stored).toBeDefined();
    await patches.close();
  });
});
