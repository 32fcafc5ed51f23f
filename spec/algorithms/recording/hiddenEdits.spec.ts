import fc from 'fast-check';
import { Immer, enablePatches, type Draft, type Patch } from 'immer';
import { mayHideEdits, withoutTextOps } from '../../../src/algorithms/recording/hiddenEdits.js';
import { deepEqual } from '../../../src/algorithms/deepEqual.js';
import type { JSONPatchOp } from '../../../src/types.js';
import { hidingRecipes, type Item, type Todos as HidingTodos } from '../../helpers/hidingRecipes.js';

enablePatches();
// As PatchesDoc records (its states frozen or not: not here, so a recipe may keep what it wrote).
const immer = new Immer({ autoFreeze: false });

/** A document the random recipes write any key of. */
type Todos = { items: Item[]; [key: string]: unknown };
const base = (): Todos => ({ items: [{ title: 'A', done: true }, { title: 'C', done: false }] });

/** immer's patches of `recipe` on `start`, and whether they leave an edit out (replayed, they miss part of its next state). */
function record<T extends object>(recipe: (d: Draft<T>) => void, start: T) {
  const [next, patches] = immer.produceWithPatches(start, recipe);
  return { patches, missesAnEdit: !deepEqual(immer.applyPatches(start, patches), next) };
}

describe('mayHideEdits', () => {
  describe("immer's patches that leave an edit out (the item's own edit carried only inside the new container)", () => {
    it.each(Object.entries(hidingRecipes))('should say they may (%s)', (_name, recipe) => {
      const { patches, missesAnEdit } = record<HidingTodos>(recipe, base());
      // The premise: immer 11 does leave the edit out here (if an upgrade stops, this says so).
      expect(missesAnEdit).toBe(true);
      expect(mayHideEdits(patches)).toBe(true);
    });

    it('should say they may for a replace of a field that was there', () => {
      const { patches, missesAnEdit } = record<HidingTodos>(hidingRecipes['selected = [items[0]], then a rename'], { ...base(), selected: [] });
      expect(patches.map(p => p.op)).toEqual(['replace']);
      expect(missesAnEdit).toBe(true);
      expect(mayHideEdits(patches)).toBe(true);
    });
  });

  it.each<[string, Patch[]]>([
    ['a primitive written', [{ op: 'replace', path: ['title'], value: 'B' }]],
    ['a removal', [{ op: 'remove', path: ['items', 0] }]],
    ['a container of primitives only', [{ op: 'add', path: ['tags'], value: ['a', 1, null, true] }, { op: 'replace', path: ['meta'], value: { a: 1, b: 'x', c: null } }]],
    ['empty containers', [{ op: 'add', path: ['list'], value: [] }, { op: 'add', path: ['map'], value: {} }]],
    ['null written', [{ op: 'replace', path: ['a'], value: null }]],
    ['no patches', []],
  ])('should say no edit can be left out for %s', (_name, patches) => {
    expect(mayHideEdits(patches)).toBe(false);
  });

  it.each<[string, Patch[]]>([
    ['an array holding an object', [{ op: 'replace', path: ['archive'], value: [{ title: 'B' }] }]],
    ['an array holding an array, after primitives', [{ op: 'add', path: ['grid'], value: [1, 2, [3]] }]],
    ['an object holding an object, after primitives', [{ op: 'add', path: ['selected'], value: { n: 1, item: { title: 'B' } } }]],
    ['an object holding null and an array', [{ op: 'add', path: ['selected'], value: { gone: null, list: [] } }]],
    ['a later patch of several', [{ op: 'replace', path: ['title'], value: 'B' }, { op: 'remove', path: ['x'] }, { op: 'add', path: ['y'], value: [[]] }]],
  ])('should say an edit may be left out for %s', (_name, patches) => {
    expect(mayHideEdits(patches)).toBe(true);
  });

  /** One step of a recipe: edits of the items, writes that put an item (or a copy of it) somewhere, plain writes and removals. */
  type Step = (d: Draft<Todos>) => void;
  const index = fc.nat(2);
  const key = fc.constantFrom('archive', 'selected', 'x');
  const item = (d: Draft<Todos>, i: number) => d.items[i % Math.max(d.items.length, 1)];
  const wrap = fc.constantFrom<[string, (x: unknown) => unknown]>(
    ['itself', x => x],
    ['[x]', x => [x]],
    ['{ item: x }', x => ({ item: x })],
    ['[[x]]', x => [[x]]],
    ['{ wrap: { item: x } }', x => ({ wrap: { item: x } })],
    ['[1, x]', x => [1, x]],
  );
  const step: fc.Arbitrary<[string, Step]> = fc.oneof(
    index.map<[string, Step]>(i => [`rename ${i}`, d => void (item(d, i) && (item(d, i).title += '!'))]),
    index.map<[string, Step]>(i => [`toggle ${i}`, d => void (item(d, i) && (item(d, i).done = !item(d, i).done))]),
    fc.tuple(key, index, wrap).map<[string, Step]>(([k, i, [name, f]]) => [`${k} = ${name} of item ${i}`, d => void (item(d, i) && (d[k] = f(item(d, i))))]),
    key.map<[string, Step]>(k => [`${k} = items.filter(done)`, d => void (d[k] = d.items.filter(i => i.done))]),
    fc.tuple(key, fc.constantFrom<unknown>(1, 'v', null, [1, 2], { a: 1 }, { a: { b: 1 } })).map<[string, Step]>(([k, v]) => [`${k} = ${JSON.stringify(v)}`, d => void (d[k] = structuredClone(v))]),
    key.map<[string, Step]>(k => [`delete ${k}`, d => void delete d[k]]),
    fc.constant<[string, Step]>(['push an item', d => void d.items.push({ title: 'N', done: false })]),
    index.map<[string, Step]>(i => [`remove item ${i}`, d => void d.items.splice(i, 1)]),
    fc.constant<[string, Step]>(['reverse the items', d => void d.items.reverse()]),
  );

  it("should say an edit may be left out whenever immer's patches leave one out (random recipes)", () => {
    let missed = 0;
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 5 }), steps => {
        const { patches, missesAnEdit } = record<Todos>(d => steps.forEach(([, run]) => run(d)), base());
        if (missesAnEdit) {
          missed++;
          expect(mayHideEdits(patches)).toBe(true);
        }
      }),
      { numRuns: 500, seed: 0x41dde },
    );
    // Recipes that meet immer's gap came up, so the property was put to the test.
    expect(missed).toBeGreaterThan(10);
  });
});

describe('withoutTextOps', () => {
  const write: JSONPatchOp = { op: 'replace', path: '/body', value: { ops: [{ insert: 'Hi!\n' }] } };
  const txt: JSONPatchOp = { op: '@txt', path: '/body', value: [{ retain: 2 }, { insert: '!' }] };
  const other: JSONPatchOp = { op: 'add', path: '/pinned', value: [{ body: { ops: [{ insert: 'Hi\n' }] } }] };

  it('should give the ops themselves when no op is an @txt op', () => {
    const ops = [other];
    expect(withoutTextOps(ops, new Map())).toBe(ops);
  });

  it('should put each @txt op back as the write it was recorded from, in place, leaving the others as they are', () => {
    const second: JSONPatchOp = { op: '@txt', path: '/title', value: [{ insert: 'T' }] };
    const secondWrite: JSONPatchOp = { op: 'replace', path: '/title', value: { ops: [{ insert: 'T\n' }] } };
    const ops = [txt, other, second];
    const replaced = withoutTextOps(ops, new Map([[txt, write], [second, secondWrite]]));
    expect(replaced).toEqual([write, other, secondWrite]);
    expect(replaced[1]).toBe(other);
    expect(ops).toEqual([txt, other, second]);
  });

  it('should match @txt ops by identity, not by their content', () => {
    const twin: JSONPatchOp = { ...txt };
    expect(withoutTextOps([twin], new Map([[txt, write]]))).toEqual([twin]);
  });
});
