import { enablePatches, produceWithPatches, type Draft } from 'immer';
import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { arraysWithHoles, rediffArrays } from '../../../src/algorithms/recording/arraysWithHoles.js';
import { immerPatchesToOps } from '../../../src/algorithms/recording/immerPatchesToOps.js';

enablePatches();

type Doc = { list: (string | undefined)[]; box: { list: string[] }; log: string[]; obj: Record<string, number> };
const base: Doc = { list: ['a', 'b', 'c', 'd', 'e'], box: { list: ['p', 'q'] }, log: ['x'], obj: { a: 0, b: 0 } };

function holes(recipe: (draft: Draft<Doc>) => void): string[] {
  const [next, patches] = produceWithPatches(base, recipe);
  return arraysWithHoles(patches, next);
}

describe('arraysWithHoles', () => {
  it('should name an array cut by length and refilled past the cut, whose patches leave the cut out', () => {
    expect(holes((d) => { d.list.length = 2; d.list[3] = 'x'; })).toEqual(['/list']);
    expect(holes((d) => { d.box.list.length = 0; d.box.list[1] = 'z'; d.list.length = 1; d.list[2] = 'y'; })).toEqual(['/list', '/box/list']);
  });

  it('should name an array with an element written past the end, deleted, or undefined', () => {
    expect(holes((d) => { d.box.list[4] = 'x'; })).toEqual(['/box/list']);
    expect(holes((d) => { delete d.list[1]; })).toEqual(['/list']);
    expect(holes((d) => { d.list.splice(1, 0, undefined); })).toEqual(['/list']);
  });

  it('should name nothing for ordinary array edits, a cut alone, or an array set whole', () => {
    expect(holes((d) => { d.list.push('f'); d.list.splice(1, 2); d.box.list.unshift('o'); })).toEqual([]);
    expect(holes((d) => { d.list.length = 1; })).toEqual([]);
    expect(holes((d) => { d.list.length = 0; d.list.push('x', 'y'); })).toEqual([]);
    expect(holes((d) => { d.list.reverse(); d.box.list.sort(); })).toEqual([]);
  });

  it('should name the outer array only when an array with holes is inside another', () => {
    const nested = { rows: [['a', 'b', 'c'], ['d']] };
    const [next, patches] = produceWithPatches(nested, (d) => {
      d.rows.length = 1;
      d.rows[2] = ['z'];
      d.rows[0].length = 0;
      d.rows[0][2] = 'y';
    });
    expect(arraysWithHoles(patches, next)).toEqual(['/rows']);
  });

  it('should scan a long array once however many patches it has', () => {
    const long = { list: Array.from({ length: 5000 }, (_, i) => i) };
    const [next, patches] = produceWithPatches(long, (d) => { d.list.splice(0, 2500); });
    expect(patches.length).toBeGreaterThan(2500);
    const scans = jest.spyOn(Array.prototype, 'includes');
    try {
      expect(arraysWithHoles(patches, next)).toEqual([]);
      expect(scans).toHaveBeenCalledTimes(1);
    } finally {
      scans.mockRestore();
    }
  });
});

describe('rediffArrays', () => {
  /** The ops of a recipe as an OT doc records them, then those of its arrays with holes from the states. */
  function recorded(recipe: (draft: Draft<Doc>) => void) {
    const [next, patches] = produceWithPatches(base, recipe);
    const ops = rediffArrays(immerPatchesToOps(patches, base, { appendsAtEnd: true }), arraysWithHoles(patches, next), base, next);
    return { ops, json: JSON.parse(JSON.stringify(next)) as unknown };
  }

  it('should write an array with holes from the states, holes as null, and leave every other op as it was', () => {
    const { ops, json } = recorded((d) => {
      d.obj = { a: 1 };
      d.log.push('y');
      d.list.length = 2;
      d.list[3] = 'x';
    });
    expect(applyPatch(base, ops, { mode: 'strict' })).toEqual(json);
    const byPath = (a: { path: string }, b: { path: string }) => a.path.localeCompare(b.path);
    expect(ops.filter((op) => !op.path.startsWith('/list/')).sort(byPath)).toEqual([
      { op: 'add', path: '/log/-', value: 'y' },
      { op: 'replace', path: '/obj', value: { a: 1 } },
    ]);
    expect(ops.filter((op) => op.path.startsWith('/list/'))).toEqual([
      { op: 'replace', path: '/list/2', value: null },
      { op: 'replace', path: '/list/3', value: 'x' },
      { op: 'remove', path: '/list/4' },
    ]);
  });

  it('should diff the whole document when an op writes a container of such an array', () => {
    const rows = { rows: [{ tags: ['a', 'b', 'c'] }], n: 0 };
    const [next, patches] = produceWithPatches(rows, (d) => {
      d.rows[0].tags.length = 1;
      d.rows[0].tags[2] = 'z';
      d.rows.push({ tags: [] });
      d.n = 1;
    });
    const pointers = arraysWithHoles(patches, next);
    const ops = rediffArrays([{ op: 'replace', path: '/rows/0', value: next.rows[0] }, ...immerPatchesToOps(patches, rows)], pointers, rows, next);
    expect(applyPatch(rows, ops, { mode: 'strict' })).toEqual(JSON.parse(JSON.stringify(next)));
  });
});
