import { enablePatches, produceWithPatches, type Draft } from 'immer';
import { leavesHoles } from '../../../src/algorithms/recording/leavesHoles.js';

enablePatches();

type Doc = { list: (string | undefined)[]; box: { list: string[] } };
const base: Doc = { list: ['a', 'b', 'c', 'd', 'e'], box: { list: ['p', 'q'] } };

function holes(recipe: (draft: Draft<Doc>) => void): boolean {
  const [next, patches] = produceWithPatches(base, recipe);
  return leavesHoles(patches, next);
}

describe('leavesHoles', () => {
  it('should see an array cut by length and refilled past the cut, whose patches leave the cut out', () => {
    expect(holes((d) => { d.list.length = 2; d.list[3] = 'x'; })).toBe(true);
    expect(holes((d) => { d.box.list.length = 0; d.box.list[1] = 'z'; })).toBe(true);
  });

  it('should see an element written past the end and an undefined element', () => {
    expect(holes((d) => { d.box.list[4] = 'x'; })).toBe(true);
    expect(holes((d) => { d.list.splice(1, 0, undefined); })).toBe(true);
  });

  it('should see nothing in ordinary array edits, a cut alone, or an array set whole', () => {
    expect(holes((d) => { d.list.push('f'); d.list.splice(1, 2); d.box.list.unshift('o'); })).toBe(false);
    expect(holes((d) => { d.list.length = 1; })).toBe(false);
    expect(holes((d) => { d.list.length = 0; d.list.push('x', 'y'); })).toBe(false);
    // A whole value is converted by JSON's rules already: its parent is the doc, not an array.
    expect(holes((d) => { d.box.list = ['x', , 'y'] as string[]; })).toBe(false);
  });

  it('should look at each array once however many patches it has, and at later arrays too', () => {
    const long = { list: Array.from({ length: 5000 }, (_, i) => i), other: [1, 2, 3] };
    const [next, patches] = produceWithPatches(long, (d) => {
      d.list.splice(0, 2500);
      d.other.length = 1;
      d.other[2] = 4;
    });
    expect(patches.length).toBeGreaterThan(2500);
    expect(leavesHoles(patches, next)).toBe(true);
  });
});
