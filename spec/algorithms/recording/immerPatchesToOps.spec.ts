import fc from 'fast-check';
import { enablePatches, isDraft, produceWithPatches, type Draft, type Patch } from 'immer';
import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { immerPatchesToOps } from '../../../src/algorithms/recording/immerPatchesToOps.js';
import { transformPatch } from '../../../src/algorithms/transformPatch.js';
import { PatchError } from '../../../src/errors.js';
import type { JSONPatchOp, JSONValue } from '../../../src/types.js';

enablePatches();

/**
 * A separate copy of immer with its array methods plugin on (`enableArrayMethods`: splice, shift,
 * find… run on the draft's copy, not through the proxy), as an app may enable it: immer's plugins
 * are global to a copy of the module, so this one does not touch the copy the other tests use.
 */
const immerWithArrayMethods: typeof import('immer') = (() => {
  let loaded: typeof import('immer') | undefined;
  jest.isolateModules(() => {
    loaded = require('immer') as typeof import('immer');
  });
  loaded!.enablePatches();
  loaded!.enableArrayMethods();
  return loaded!;
})();

type Doc = Record<string, JSONValue>;

/** Runs an immer recipe and returns the ops we derive, immer's next state and its patches. */
function record<T extends object>(base: T, recipe: (draft: Draft<T>) => void) {
  const [next, patches] = produceWithPatches(base, recipe);
  return { next, patches, ops: immerPatchesToOps(patches, base) };
}

type Todo = { id: string; title: string; done: boolean };
const todo = (id: string, title: string): Todo => ({ id, title, done: false });
const strict = <T>(doc: T, ops: readonly JSONPatchOp[]): T => applyPatch(doc, ops, { mode: 'strict' });
/** FC_SEED / FC_PATH replay a failure fast-check printed. */
const replay = process.env.FC_SEED ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH } : {};

describe('immerPatchesToOps', () => {
  it('should turn path arrays into escaped pointers', () => {
    const { ops } = record<Doc>({}, (d) => {
      d['a/b'] = 1;
      d['m~n'] = 2;
    });
    expect(ops).toEqual([
      { op: 'add', path: '/a~1b', value: 1 },
      { op: 'add', path: '/m~0n', value: 2 },
    ]);
  });

  it('should record an append at its concrete index by default (LWW docs: paths are keys there)', () => {
    const { ops } = record({ list: [1, 2] }, (d) => {
      d.list.push(3, 4);
    });
    expect(ops).toEqual([
      { op: 'add', path: '/list/2', value: 3 },
      { op: 'add', path: '/list/3', value: 4 },
    ]);
  });

  it('should record appends as "-" with appendsAtEnd, unless the same change then edits the array by index', () => {
    const base = { list: [{ v: 1 }] };
    const [, pushes] = produceWithPatches(base, (d) => {
      d.list.push({ v: 2 }, { v: 3 });
    });
    expect(immerPatchesToOps(pushes, base, { appendsAtEnd: true })).toEqual([
      { op: 'add', path: '/list/-', value: { v: 2 } },
      { op: 'add', path: '/list/-', value: { v: 3 } },
    ]);
    // immer folds an edit of a just-pushed item into the pushed value; patches that address it
    // afterwards keep the append at its index.
    const pushThenEdit: Patch[] = [
      { op: 'add', path: ['list', 1], value: { v: 2 } },
      { op: 'replace', path: ['list', 1, 'v'], value: 9 },
    ];
    const ops = immerPatchesToOps(pushThenEdit, base, { appendsAtEnd: true });
    expect(ops).toEqual([
      { op: 'add', path: '/list/1', value: { v: 2 } },
      { op: 'replace', path: '/list/1/v', value: 9 },
    ]);
  });

  it('should keep an add inside an array as an indexed insert', () => {
    const patches: Patch[] = [{ op: 'add', path: ['list', 1], value: 'x' }];
    expect(immerPatchesToOps(patches, { list: ['a', 'b'] })).toEqual([{ op: 'add', path: '/list/1', value: 'x' }]);
  });

  it('should turn a replace of an array length into removes, last element first', () => {
    const patches: Patch[] = [{ op: 'replace', path: ['list', 'length'], value: 1 }];
    const base = { list: ['a', 'b', 'c'] };
    const ops = immerPatchesToOps(patches, base);
    expect(ops).toEqual([
      { op: 'remove', path: '/list/2' },
      { op: 'remove', path: '/list/1' },
    ]);
    expect(applyPatch(base, ops)).toEqual({ list: ['a'] });
  });

  it('should treat a "length" key of an object as an ordinary key', () => {
    const { ops } = record<{ box: { length: number } }>({ box: { length: 3 } }, (d) => {
      d.box.length = 1;
    });
    expect(ops).toEqual([{ op: 'replace', path: '/box/length', value: 1 }]);
  });

  it('should convert truncation through length = n so the result matches immer', () => {
    const base = { list: [1, 2, 3, 4] };
    const { next, ops } = record(base, (d) => {
      d.list.length = 1;
    });
    expect(applyPatch(base, ops)).toEqual(next);
    expect(ops.every((op) => op.op === 'remove')).toBe(true);
  });

  it('should write array holes as null and drop undefined object keys', () => {
    const base: { list: (number | undefined)[]; obj: Record<string, unknown> } = { list: [1], obj: { a: 1 } };
    const { ops } = record(base, (d) => {
      d.list[3] = 4;
      d.obj.a = undefined;
      d.obj.b = undefined;
    });
    const result = applyPatch(base, ops);
    expect(result).toEqual({ list: [1, null, null, 4], obj: {} });
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  it('should write an undefined inserted before other elements as null', () => {
    const base: { list: (number | undefined)[] } = { list: [1, 2] };
    const { ops } = record(base, (d) => {
      d.list.splice(1, 0, undefined);
      d.list.unshift(undefined);
    });
    expect(ops).toEqual([
      { op: 'add', path: '/list/0', value: null },
      { op: 'add', path: '/list/2', value: null },
    ]);
  });

  it('should replace the root with path ""', () => {
    const { ops } = record<Doc>({ a: 1 }, () => ({ b: 2 }));
    expect(ops).toEqual([{ op: 'replace', path: '', value: { b: 2 } }]);
  });

  it('should preserve op order', () => {
    const { ops } = record({ a: 1, list: [{ x: 1 }] }, (d) => {
      d.list[0].x = 2;
      d.list.push({ x: 3 });
      delete (d as Partial<typeof d>).a;
    });
    expect(ops.map((op) => `${op.op} ${op.path}`)).toEqual(['replace /list/0/x', 'add /list/1', 'remove /a']);
  });

  it('should not touch the base state', () => {
    const base = Object.freeze({ list: Object.freeze([1, 2, 3]) });
    const patches: Patch[] = [{ op: 'replace', path: ['list', 'length'], value: 0 }];
    immerPatchesToOps(patches, base);
    expect(base).toEqual({ list: [1, 2, 3] });
  });

  it('should refuse a __proto__ key with a PatchError naming the patch', () => {
    const patches: Patch[] = [
      { op: 'add', path: ['ok'], value: 1 },
      { op: 'add', path: ['__proto__', 'polluted'], value: true },
    ];
    expect(() => immerPatchesToOps(patches, {})).toThrow(expect.objectContaining({ name: 'PatchError', opIndex: 1 }));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('should throw a PatchError when a patch does not fit the base state', () => {
    const patches: Patch[] = [{ op: 'replace', path: ['list', 5], value: 1 }];
    expect(() => immerPatchesToOps(patches, { list: [] })).toThrow(PatchError);
  });

  it('should reject an invalid array length', () => {
    const patches: Patch[] = [{ op: 'replace', path: ['list', 'length'], value: -1 }];
    expect(() => immerPatchesToOps(patches, { list: [1] })).toThrow(PatchError);
  });

  describe('arrays edited anywhere but at the end', () => {
    it('should turn an unshift into one insert at 0', () => {
      const { ops } = record({ items: ['x'] }, (d) => {
        d.items.unshift('a');
      });
      expect(ops).toEqual([{ op: 'add', path: '/items/0', value: 'a' }]);
    });

    it('should turn a shift into one remove at 0', () => {
      const { ops } = record({ items: ['x', 'y', 'z'] }, (d) => {
        d.items.shift();
      });
      expect(ops).toEqual([{ op: 'remove', path: '/items/0' }]);
    });

    it('should turn a splice insert in the middle into one add', () => {
      const { ops } = record({ items: ['x', 'y', 'z'] }, (d) => {
        d.items.splice(1, 0, 'q');
      });
      expect(ops).toEqual([{ op: 'add', path: '/items/1', value: 'q' }]);
    });

    it('should turn a splice delete into one remove', () => {
      const { ops } = record({ items: ['x', 'y', 'z'] }, (d) => {
        d.items.splice(1, 1);
      });
      expect(ops).toEqual([{ op: 'remove', path: '/items/1' }]);
    });

    it('should remove a deleted run at its index, one element at a time', () => {
      const { ops } = record({ items: ['w', 'x', 'y', 'z'] }, (d) => {
        d.items.splice(1, 2);
      });
      expect(ops).toEqual([
        { op: 'remove', path: '/items/1' },
        { op: 'remove', path: '/items/1' },
      ]);
    });

    it('should keep objects immer left identical and insert before them', () => {
      const base = { items: [todo('x', 'Milk'), todo('y', 'Eggs')] };
      const { ops } = record(base, (d) => {
        d.items.splice(1, 0, todo('n', 'Tea'));
      });
      expect(ops).toEqual([{ op: 'add', path: '/items/1', value: todo('n', 'Tea') }]);
    });

    it('should turn an edit inside an element after an unshift into an add at 0 and a sub-path replace at the shifted index', () => {
      const base = { items: [todo('x', 'Milk'), todo('y', 'Eggs')] };
      const { next, ops } = record(base, (d) => {
        d.items.unshift(todo('a', 'Tea'));
        d.items[1].done = true;
      });
      expect(ops).toEqual([
        { op: 'add', path: '/items/0', value: todo('a', 'Tea') },
        { op: 'replace', path: '/items/1/done', value: true },
      ]);
      expect(strict(base, ops)).toEqual(next);
    });

    it('should keep immer’s own patches for an element edited in place beside an insert', () => {
      const base = { items: [todo('x', 'Milk'), todo('y', 'Eggs')] };
      const { next, patches, ops } = record(base, (d) => {
        d.items[0].title = 'Bread';
        d.items.splice(1, 0, todo('n', 'Tea'));
      });
      // immer writes the element's own patch (it did not move) before the array's.
      expect(patches[0]).toEqual({ op: 'replace', path: ['items', 0, 'title'], value: 'Bread' });
      expect(ops).toEqual([
        { op: 'replace', path: '/items/0/title', value: 'Bread' },
        { op: 'add', path: '/items/1', value: todo('n', 'Tea') },
      ]);
      expect(strict(base, ops)).toEqual(next);
    });

    it('should re-index an element’s own patches to where the element is when its ops are applied', () => {
      // Hand-written (immer puts an element's patches first, but an insert may come before it).
      const base = { items: [todo('x', 'Milk'), todo('y', 'Eggs')] };
      const patches: Patch[] = [
        { op: 'replace', path: ['items', 1, 'title'], value: 'Bread' },
        { op: 'add', path: ['items', 0], value: 'new' },
      ];
      const ops = immerPatchesToOps(patches, base);
      expect(ops).toEqual([
        { op: 'add', path: '/items/0', value: 'new' },
        { op: 'replace', path: '/items/2/title', value: 'Bread' },
      ]);
      expect(strict(base, ops)).toEqual({ items: ['new', todo('x', 'Milk'), { ...todo('y', 'Eggs'), title: 'Bread' }] });
    });

    it('should diff an array nested in an element edited in place, and the array holding it', () => {
      const base = { rows: [{ tags: ['b', 'c'] }, { tags: [] as string[] }] };
      const { next, ops } = record(base, (d) => {
        d.rows[0].tags.unshift('a');
        d.rows.splice(1, 0, { tags: ['z'] });
      });
      expect(ops).toEqual([
        { op: 'add', path: '/rows/0/tags/0', value: 'a' },
        { op: 'add', path: '/rows/1', value: { tags: ['z'] } },
      ]);
      expect(strict(base, ops)).toEqual(next);
    });

    it('should keep an element assignment as a replace at its index', () => {
      const { ops } = record({ items: ['x', 'y', 'z'] }, (d) => {
        d.items[1] = 'q';
      });
      expect(ops).toEqual([{ op: 'replace', path: '/items/1', value: 'q' }]);
    });

    it('should keep an append at the end at its concrete index when the array is also edited elsewhere', () => {
      const { ops } = record({ items: ['x'] }, (d) => {
        d.items.unshift('a');
        d.items.push('b');
      });
      expect(ops).toEqual([
        { op: 'add', path: '/items/0', value: 'a' },
        { op: 'add', path: '/items/2', value: 'b' },
      ]);
    });

    it('should replace by position when a moved, edited element resembles two new ones equally (known limit)', () => {
      // {id, done} after unshift: 'x' edited shares as much with the new 'a' as with itself.
      const base = { items: [{ id: 'x', done: false }] };
      const { next, ops } = record(base, (d) => {
        d.items.unshift({ id: 'a', done: false });
        d.items[1].done = true;
      });
      expect(ops).toEqual([
        { op: 'replace', path: '/items/0', value: { id: 'a', done: false } },
        { op: 'add', path: '/items/1', value: { id: 'x', done: true } },
      ]);
      expect(strict(base, ops)).toEqual(next);
    });

    it('should still convert reverse and sort so the result matches immer', () => {
      const base = { items: [todo('c', 'C'), todo('a', 'A'), todo('b', 'B')], nums: [3, 1, 2] };
      const { next, ops } = record(base, (d) => {
        d.items.sort((p, q) => p.id.localeCompare(q.id));
        d.nums.reverse();
      });
      expect(strict(base, ops)).toEqual(next);
      // Two of the todos were already in order: only the third is taken out and put back.
      expect(ops.filter((op) => op.path.startsWith('/items'))).toEqual([
        { op: 'remove', path: '/items/0' },
        { op: 'add', path: '/items/2', value: todo('c', 'C') },
      ]);
    });

    it('should turn an edit of a long list into the one op it is, with or without immer’s array methods plugin', () => {
      const base = { items: Array.from({ length: 5000 }, (_, i) => todo(`t${i}`, `Task ${i}`)) };
      for (const produce of [produceWithPatches, immerWithArrayMethods.produceWithPatches]) {
        const edits: [(items: Draft<Todo[]>) => void, JSONPatchOp][] = [
          [(items) => items.splice(2500, 1), { op: 'remove', path: '/items/2500' }],
          [(items) => items.splice(1200, 0, todo('n', 'New')), { op: 'add', path: '/items/1200', value: todo('n', 'New') }],
          [(items) => items.shift(), { op: 'remove', path: '/items/0' }],
          [(items) => items.unshift(todo('n', 'New')), { op: 'add', path: '/items/0', value: todo('n', 'New') }],
          [(items) => void (items.find((item) => item.id === 't4000')!.done = true), { op: 'replace', path: '/items/4000/done', value: true }],
        ];
        for (const [edit, op] of edits) {
          const [next, patches] = produce(base, (d) => {
            edit(d.items);
          });
          const ops = immerPatchesToOps(patches, base);
          expect(ops).toEqual([op]);
          expect(strict(base, ops)).toEqual(next);
        }
      }
      // The plugin does run in its copy: a find callback sees the base elements, not drafts.
      immerWithArrayMethods.produce(base, (d) => {
        d.items.find((item) => {
          expect(immerWithArrayMethods.isDraft(item)).toBe(false);
          return true;
        });
      });
    });

    it('should fall back to immer’s positional ops for an edit too large to diff', () => {
      const base = { items: Array.from({ length: 3000 }, (_, i) => i) };
      const { next, ops } = record(base, (d) => {
        d.items.reverse();
      });
      expect(strict(base, ops)).toEqual(next);
      expect(ops.every((op) => op.op === 'replace')).toBe(true);
    });
  });

  describe('moves (options.moves, OT docs)', () => {
    type Card = { id: string; body: { text: string } };
    const card = (id: string): Card => ({ id, body: { text: id } });
    const board = () => ({ cards: ['K0', 'K1', 'K2', 'K3'].map(card) });
    const moved = <T extends object>(base: T, recipe: (draft: Draft<T>) => void, produce: typeof produceWithPatches = produceWithPatches) => {
      const [next, patches] = produce(base, recipe);
      const ops = immerPatchesToOps(patches, base, { moves: true, appendsAtEnd: true });
      expect(strict(base, ops)).toEqual(next);
      return ops;
    };
    const ids = (doc: { cards: Card[] }) => doc.cards.map((c) => c.id).join(' ');

    for (const [name, produce] of [['immer', produceWithPatches], ['immer with its array methods plugin', immerWithArrayMethods.produceWithPatches]] as const) {
      it(`should record a drag within an array as one move, by splice or by push (${name})`, () => {
        expect(moved(board(), (d) => void d.cards.splice(2, 0, ...d.cards.splice(0, 1)), produce)).toEqual([{ op: 'move', from: '/cards/0', path: '/cards/2' }]);
        expect(moved(board(), (d) => void d.cards.push(...d.cards.splice(1, 1)), produce)).toEqual([{ op: 'move', from: '/cards/1', path: '/cards/3' }]);
        expect(moved(board(), (d) => void d.cards.unshift(...d.cards.splice(3, 1)), produce)).toEqual([{ op: 'move', from: '/cards/3', path: '/cards/0' }]);
      });
    }

    // Found in review: the element's ops were re-rooted by their path only, so the inner move's
    // source named a root list of the same name (or nothing: change() threw a PatchError).
    it('should name a move inside an element from that element when the outer array changes too', () => {
      type Section = { cards?: Card[]; title?: string };
      const base = { sections: [{ cards: ['a', 'b', 'c'].map(card) }, { title: 'gone' }, { title: 'kept' }] as Section[], cards: ['X', 'Y'].map(card) };
      const ops = moved(base, (d) => {
        d.sections[0].cards!.splice(2, 0, ...d.sections[0].cards!.splice(0, 1));
        d.sections.splice(1, 1);
      });
      expect(ops).toContainEqual({ op: 'move', from: '/sections/0/cards/0', path: '/sections/0/cards/2' });
      const lists = [['a', 'b', 'c'].map(card), ['x'].map(card), ['y'].map(card)];
      expect(moved({ lists }, (d) => {
        d.lists[0].push(...d.lists[0].splice(0, 1));
        d.lists.splice(1, 1);
      })).toContainEqual({ op: 'move', from: '/lists/0/0', path: '/lists/0/2' });
    });

    it('should record a swap, a reverse and a sort of records as moves', () => {
      expect(moved(board(), (d) => void ([d.cards[0], d.cards[3]] = [d.cards[3], d.cards[0]]))).toEqual([
        { op: 'move', from: '/cards/3', path: '/cards/0' },
        { op: 'move', from: '/cards/1', path: '/cards/3' },
      ]);
      expect(moved(board(), (d) => void d.cards.reverse()).every((op) => op.op === 'move')).toBe(true);
      expect(moved(board(), (d) => void d.cards.sort((a, b) => b.id.localeCompare(a.id))).every((op) => op.op === 'move')).toBe(true);
    });

    it('should move first, then insert, remove and edit the other elements at their places after the move', () => {
      const ops = moved(board(), (d) => {
        const [k0] = d.cards.splice(0, 1);
        d.cards.splice(1, 1);
        d.cards.push(k0, card('N'));
      });
      expect(ops).toEqual([
        { op: 'move', from: '/cards/0', path: '/cards/3' },
        { op: 'remove', path: '/cards/1' },
        { op: 'add', path: '/cards/3', value: card('N') },
      ]);
      // An element edited beside a move gets the ops it got without moves (immer rewrote it whole: matched by resemblance).
      expect(moved(board(), (d) => {
        d.cards[3].body.text = 'edited';
        d.cards.splice(2, 0, ...d.cards.splice(0, 1));
      })).toEqual([
        { op: 'move', from: '/cards/0', path: '/cards/2' },
        { op: 'replace', path: '/cards/3/body', value: { text: 'edited' } },
      ]);
    });

    it('should move an element from one array into another', () => {
      const base = { todo: [card('A'), card('B')], done: [card('C')] };
      expect(moved(base, (d) => void d.done.push(...d.todo.splice(0, 1)))).toEqual([{ op: 'move', from: '/todo/0', path: '/done/1' }]);
      expect(moved(base, (d) => void d.done.unshift(...d.todo.splice(1, 1)))).toEqual([{ op: 'move', from: '/todo/1', path: '/done/0' }]);
      expect(moved(base, (d) => {
        d.done.push(d.todo[0]);
        d.todo.shift();
      })).toEqual([{ op: 'move', from: '/todo/0', path: '/done/1' }]);
    });

    it('should keep a remove and an add for a moved element the recipe also edited, for primitives, and without the option', () => {
      expect(moved(board(), (d) => {
        const [k0] = d.cards.splice(0, 1);
        k0.body.text = 'edited';
        d.cards.push(k0);
      })).toEqual([
        { op: 'remove', path: '/cards/0' },
        { op: 'add', path: '/cards/-', value: { id: 'K0', body: { text: 'edited' } } },
      ]);
      expect(moved({ list: ['a', 'b', 'c'] }, (d) => void d.list.push(...d.list.splice(0, 1)))).toEqual([
        { op: 'remove', path: '/list/0' },
        { op: 'add', path: '/list/-', value: 'a' },
      ]);
      const base = board();
      const [, patches] = produceWithPatches(base, (d) => void d.cards.push(...d.cards.splice(0, 1)));
      expect(immerPatchesToOps(patches, base, { appendsAtEnd: true })).toEqual([
        { op: 'remove', path: '/cards/0' },
        { op: 'add', path: '/cards/-', value: base.cards[0] },
      ]);
    });

    it('should let a concurrent edit of a dragged element follow it, and two drags of it leave it once', () => {
      const base = board();
      const drag = moved(base, (d) => void d.cards.push(...d.cards.splice(0, 1)));
      const edit = moved(base, (d) => void (d.cards[0].body.text = 'typed'));
      for (const merged of [strict(strict(base, edit), transformPatch(edit, drag)), strict(strict(base, drag), transformPatch(drag, edit, true))]) {
        expect(merged.cards[3]).toEqual({ id: 'K0', body: { text: 'typed' } });
        expect(ids(merged)).toBe('K1 K2 K3 K0');
      }
      const other = moved(base, (d) => void d.cards.splice(1, 0, ...d.cards.splice(0, 1)));
      // Where it ends is the transform's (the second drag's index is shifted as if K0 were still at its old place).
      expect(ids(strict(strict(base, drag), transformPatch(drag, other)))).toBe('K0 K1 K2 K3');
      expect(ids(strict(strict(base, other), transformPatch(other, drag)))).toBe('K1 K2 K3 K0');
    });
  });

  describe('intent under concurrency (transformPatch)', () => {
    it('should keep a client’s unshift and another client’s concurrent append in intent order', () => {
      const base = { items: ['x'] };
      const mine = record(base, (d) => {
        d.items.unshift('a');
      }).ops;
      const theirs = record(base, (d) => {
        d.items.push('b');
      }).ops;
      // Their append was committed first; mine is rebased over it...
      expect(strict(strict(base, theirs), transformPatch(theirs, mine))).toEqual({ items: ['a', 'x', 'b'] });
      // ...and in the other frame, theirs is carried past mine (the two halves of the diamond agree).
      expect(strict(strict(base, mine), transformPatch(mine, theirs, true))).toEqual({ items: ['a', 'x', 'b'] });
    });

    it('should land a concurrent edit of an element on that element after an unshift shifted it', () => {
      const base = { items: [todo('x', 'Milk'), todo('y', 'Eggs')] };
      const mine = record(base, (d) => {
        d.items.unshift(todo('n', 'Tea'));
        d.items.splice(2, 1);
      }).ops;
      const theirs = record(base, (d) => {
        d.items[0].done = true;
      }).ops;
      const expected = { items: [todo('n', 'Tea'), { ...todo('x', 'Milk'), done: true }] };
      expect(strict(strict(base, mine), transformPatch(mine, theirs))).toEqual(expected);
      expect(strict(strict(base, theirs), transformPatch(theirs, mine, true))).toEqual(expected);
    });
  });

  describe('property: applyPatch(base, immerPatchesToOps(patches, base)) equals immer’s next state', () => {
    // Keys include '/', '~' and digits so pointer escaping and numeric object keys get exercised.
    const key = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '/', '~', '0', '1', ' '), maxLength: 3 });
    const leaf = fc.oneof(fc.integer({ min: -100, max: 100 }), fc.string({ maxLength: 4 }), fc.boolean(), fc.constant(null));
    const { value } = fc.letrec<{ value: JSONValue }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(key, tie('value'), { maxKeys: 4 }),
      ),
    }));
    const doc = fc.dictionary(key, value, { maxKeys: 5 });

    /** One mutation: a walk (indexes into the container children) and what to do at its end. */
    const mutationOf = (kinds: number) => fc.record({
      walk: fc.array(fc.nat(), { maxLength: 3 }),
      kind: fc.nat({ max: kinds }),
      key,
      value,
      a: fc.nat({ max: 6 }),
      b: fc.nat({ max: 4 }),
    });
    const mutation = mutationOf(10);
    type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

    function mutate(root: Draft<Doc>, mutation: Mutation): void {
      // A copy of the value each run: immer freezes what a recipe put into its next state, and
      // fast-check hands a shrunk input the same objects again (writes into them then threw).
      const m = { ...mutation, value: structuredClone(mutation.value) };
      let node: unknown = root;
      for (const step of m.walk) {
        const children = Object.values(node as object).filter((child) => typeof child === 'object' && child !== null);
        if (children.length === 0) break;
        node = children[step % children.length];
      }
      // immer's array methods plugin hands out the committed elements themselves from splice (no
      // drafts): one put back elsewhere is frozen there, and an app's write into it throws too.
      if (!isDraft(node) && Object.isFrozen(node)) return;
      if (Array.isArray(node)) {
        const list = node as JSONValue[];
        const at = list.length === 0 ? 0 : m.a % (list.length + 1);
        switch (m.kind) {
          case 0: list.push(m.value); break;
          case 1: list.pop(); break;
          case 2: list.shift(); break;
          case 3: list.unshift(m.value); break;
          case 4: list.splice(at, m.b, m.value); break;
          case 5: list.splice(at, m.b); break;
          case 6: list.length = Math.min(list.length, m.b); break;
          case 7: if (at < list.length) list[at] = m.value; else list.push(m.value); break;
          case 8: list.reverse(); break;
          case 9: list.sort((p, q) => JSON.stringify(p).localeCompare(JSON.stringify(q))); break;
          case 11: if (list.length > 0) list.splice(m.b % list.length, 0, ...list.splice(at % list.length, 1)); break;
          case 12: {
            // Into another array of the document (the first one found at its top level).
            const other = Object.values(root).find((child) => Array.isArray(child) && child !== list) as JSONValue[] | undefined;
            if (list.length > 0 && other) other.splice(m.b % (other.length + 1), 0, ...list.splice(at % list.length, 1));
            break;
          }
          default: list.push(m.value, m.value); break;
        }
      } else {
        const obj = node as Record<string, JSONValue>;
        const keys = Object.keys(obj);
        const existing = keys.length ? keys[m.a % keys.length] : m.key;
        if (m.kind < 4) obj[m.key] = m.value;
        else if (m.kind < 7) delete obj[existing];
        else obj[existing] = m.value;
      }
    }

    const deepFreeze = <T>(value: T): T => {
      if (typeof value === 'object' && value !== null) {
        Object.values(value).forEach(deepFreeze);
        Object.freeze(value);
      }
      return value;
    };

    const holds = (produce: typeof produceWithPatches, options: { appendsAtEnd?: boolean; moves?: boolean } = {}, kinds = 10) =>
      fc.property(doc, fc.array(mutationOf(kinds), { minLength: 1, maxLength: 6 }), (base, mutations) => {
        deepFreeze(base);
        const snapshot = JSON.stringify(base);
        const [next, patches] = produce(base, (draft) => {
          for (const m of mutations) mutate(draft, m);
        });
        const ops = immerPatchesToOps(patches, base, options);
        // Strict: every op must apply as written, none skipped.
        expect(strict(base, ops)).toEqual(next);
        expect(JSON.stringify(base)).toBe(snapshot);
      });

    it('should hold for random documents and mutations (600 runs, fixed seed)', () => {
      // A fixed seed keeps CI deterministic; fast-check prints seed and path on failure.
      fc.assert(holds(produceWithPatches), { numRuns: 600, seed: 0x5eed, ...replay });
    });

    it('should hold with immer’s array methods plugin on (600 runs, fixed seed)', () => {
      fc.assert(holds(immerWithArrayMethods.produceWithPatches), { numRuns: 600, seed: 0x5eed, ...replay });
    });

    it('should hold with moves recorded (OT: moves and appendsAtEnd), drags within and between arrays included (600 runs each, fixed seed)', () => {
      for (const produce of [produceWithPatches, immerWithArrayMethods.produceWithPatches]) {
        fc.assert(holds(produce, { appendsAtEnd: true, moves: true }, 14), { numRuns: 600, seed: 0x3011e, ...replay });
      }
    });

    it('should hold with appends recorded at the end, as OT docs record them (600 runs each way)', () => {
      fc.assert(holds(produceWithPatches, { appendsAtEnd: true }), { numRuns: 600, seed: 0x5eed, ...replay });
      fc.assert(holds(immerWithArrayMethods.produceWithPatches, { appendsAtEnd: true }), { numRuns: 600, seed: 0x5eed, ...replay });
    });
  });

  describe('property: arrays of records edited in place and moved', () => {
    type Row = { id: string; v: number; tags: string[]; note?: string };
    const row = (n: number): Row => ({ id: `r${n}`, v: n, tags: [`t${n}`] });
    const stepOf = (kinds: number) => fc.record({ kind: fc.nat({ max: kinds }), i: fc.nat(), j: fc.nat({ max: 3 }), n: fc.nat({ max: 99 }) });
    const step = stepOf(15);
    type Step = typeof step extends fc.Arbitrary<infer S> ? S : never;

    function edit(items: Draft<Row[]>, { kind, i, j, n }: Step): void {
      const at = items.length === 0 ? 0 : i % items.length;
      const el = items[at];
      switch (kind) {
        case 0: items.unshift(row(n)); break;
        case 1: items.shift(); break;
        case 2: items.splice(i % (items.length + 1), j, row(n)); break;
        case 3: items.splice(at, j); break;
        case 4: items.push(row(n)); break;
        case 5: items.reverse(); break;
        case 6: items.sort((p, q) => p.v - q.v); break;
        case 7: if (el) items[at] = { ...el, v: n }; break;
        case 8: if (el) el.v = n; break;
        case 9: el?.tags.unshift(`u${n}`); break;
        case 10: el?.tags.splice(j, 1); break;
        case 11: el?.tags.push(`p${n}`); break;
        case 12: if (el) el.note = n % 2 ? `n${n}` : undefined; break;
        case 13: if (el) el.tags = [`z${n}`, ...el.tags]; break;
        case 14: if (items.length > 1) [items[0], items[at]] = [items[at], items[0]]; break;
        case 16: items.splice(j % (items.length + 1), 0, ...items.splice(at, 1)); break;
        case 17: items.push(...items.splice(at, 1)); break;
        default: if (el) delete el.note; break;
      }
    }

    const intact = (state: unknown): boolean => {
      try {
        JSON.stringify(state);
        return true;
      } catch {
        return false;
      }
    };

    const matches = (produce: typeof produceWithPatches, kinds = 15) =>
      fc.property(fc.integer({ min: 0, max: 6 }), fc.array(stepOf(kinds), { minLength: 1, maxLength: 8 }), (size, steps) => {
        const base = { items: Array.from({ length: size }, (_, n) => row(n)) };
        const [next, patches] = produce(base, (d) => steps.forEach((s) => edit(d.items, s)));
        // immer's own next state may hold a revoked proxy with its array methods plugin (README Known limits).
        fc.pre(intact(next));
        expect(strict(base, immerPatchesToOps(patches, base))).toEqual(next);
        expect(strict(base, immerPatchesToOps(patches, base, { appendsAtEnd: true }))).toEqual(next);
        expect(strict(base, immerPatchesToOps(patches, base, { appendsAtEnd: true, moves: true }))).toEqual(next);
      });

    it('should match immer for any sequence of list and element edits (400 runs, fixed seed)', () => {
      fc.assert(matches(produceWithPatches), { numRuns: 400, seed: 0xa11, ...replay });
    });

    it('should match immer with its array methods plugin on (400 runs, fixed seed)', () => {
      fc.assert(matches(immerWithArrayMethods.produceWithPatches), { numRuns: 400, seed: 0xa11, ...replay });
    });

    it('should match immer with moves recorded, drags (splice out, splice or push back) included (400 runs, fixed seed)', () => {
      fc.assert(matches(produceWithPatches, 17), { numRuns: 400, seed: 0xd7a9, ...replay });
    });
  });

  describe('property: one splice of an array of distinct elements is one op', () => {
    const distinct = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 3 }), { maxLength: 8 });

    it('should turn any single insert or delete into one add or remove at its index (300 runs, fixed seed)', () => {
      fc.assert(
        fc.property(distinct, fc.nat(), fc.boolean(), (items, at, insert) => {
          fc.pre(insert || items.length > 0);
          const index = at % (items.length + (insert ? 1 : 0));
          const base = { items };
          const { next, ops } = record(base, (d) => {
            if (insert) d.items.splice(index, 0, '#new');
            else d.items.splice(index, 1);
          });
          const expected = insert
            ? { op: 'add', path: `/items/${index}`, value: '#new' }
            : { op: 'remove', path: `/items/${index}` };
          expect(ops).toEqual([expected]);
          expect(strict(base, ops)).toEqual(next);
        }),
        { numRuns: 300, seed: 0x5911ce, ...replay },
      );
    });
  });

  describe('property: a concurrent edit of an element lands on that element', () => {
    it('should follow the element through the other client’s inserts and deletes (300 runs, fixed seed)', () => {
      const edits = fc.array(fc.record({ insert: fc.boolean(), at: fc.nat() }), { minLength: 1, maxLength: 4 });
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 6 }), edits, fc.nat(), (size, splices, pick) => {
          const base = { items: Array.from({ length: size }, (_, i) => todo(`t${i}`, `Task ${i}`)) };
          const target = `t${pick % size}`;
          const mine = record(base, (d) => {
            splices.forEach(({ insert, at }, n) => {
              if (insert) {
                d.items.splice(at % (d.items.length + 1), 0, todo(`n${n}`, `New ${n}`));
                return;
              }
              // Delete anything but the element the other client edits.
              const others = d.items.flatMap((item, i) => (item.id === target ? [] : [i]));
              if (others.length > 0) d.items.splice(others[at % others.length], 1);
            });
          });
          const theirs = record(base, (d) => {
            d.items.find((item) => item.id === target)!.done = true;
          }).ops;
          for (const merged of [
            strict(strict(base, theirs), transformPatch(theirs, mine.ops)),
            strict(strict(base, mine.ops), transformPatch(mine.ops, theirs, true)),
          ]) {
            expect(merged.items.map((item) => item.id)).toEqual(mine.next.items.map((item) => item.id));
            expect(merged.items.filter((item) => item.done).map((item) => item.id)).toEqual([target]);
          }
        }),
        { numRuns: 300, seed: 0x1a7e, ...replay },
      );
    });

    it('should follow the element through the other client’s drags of it and of others, recorded as moves (300 runs, fixed seed)', () => {
      const edits = fc.array(fc.record({ kind: fc.nat({ max: 3 }), at: fc.nat(), to: fc.nat() }), { minLength: 1, maxLength: 4 });
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 6 }), edits, fc.nat(), (size, steps, pick) => {
          const base = { items: Array.from({ length: size }, (_, i) => todo(`t${i}`, `Task ${i}`)) };
          const target = `t${pick % size}`;
          const [next, patches] = produceWithPatches(base, (d) => {
            steps.forEach(({ kind, at, to }, n) => {
              const from = at % d.items.length;
              if (kind === 0) d.items.splice(to % d.items.length, 0, ...d.items.splice(from, 1));
              else if (kind === 1) d.items.push(...d.items.splice(from, 1));
              else if (kind === 2) d.items.splice(to % (d.items.length + 1), 0, todo(`n${n}`, `New ${n}`));
              else if (d.items[from].id !== target && d.items.length > 1) d.items.splice(from, 1);
            });
          });
          const mine = immerPatchesToOps(patches, base, { moves: true, appendsAtEnd: true });
          const theirs = record(base, (d) => {
            d.items.find((item) => item.id === target)!.done = true;
          }).ops;
          for (const merged of [
            strict(strict(base, theirs), transformPatch(theirs, mine)),
            strict(strict(base, mine), transformPatch(mine, theirs, true)),
          ]) {
            expect(merged.items.map((item) => item.id)).toEqual(next.items.map((item) => item.id));
            expect(merged.items.filter((item) => item.done).map((item) => item.id)).toEqual([target]);
          }
        }),
        { numRuns: 300, seed: 0xd7a6, ...replay },
      );
    });
  });
});
