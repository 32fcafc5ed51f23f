import { StampFloors } from '../../src/client/StampFloors.js';
import type { JSONPatchOp } from '../../src/types.js';

const op = (ts?: number): JSONPatchOp => ({ op: 'replace', path: '/x', value: 1, ...(ts === undefined ? {} : { ts }) });

describe('StampFloors', () => {
  it('should stamp with the clock while it moves forward', () => {
    const floors = new StampFloors();
    const doc = {};
    expect(floors.stamp(doc, 1_000, () => [])).toBe(1_000);
    expect(floors.stamp(doc, 1_500, () => [])).toBe(1_500);
  });

  it('should not go back when the clock does (an NTP step, a wake from sleep)', () => {
    const floors = new StampFloors();
    const doc = {};
    floors.stamp(doc, 2_000, () => []);
    expect(floors.stamp(doc, 1_500, () => [])).toBe(2_000);
    expect(floors.stamp(doc, 2_500, () => [])).toBe(2_500);
  });

  it("should start from the doc's own stored ops, read once, at its first stamp", () => {
    const floors = new StampFloors();
    const doc = {};
    let reads = 0;
    const own = () => {
      reads++;
      return [[op(5_000)], [op(4_000), op()]];
    };
    expect(floors.stamp(doc, 1_000, own)).toBe(5_000);
    expect(floors.stamp(doc, 1_000, own)).toBe(5_000);
    expect(reads).toBe(1);
  });

  it("should not stamp below the server's rows it saw, yet still read its own ops at the first stamp", () => {
    const floors = new StampFloors();
    const doc = {};
    floors.saw(doc, [op(7_000), op()]);
    expect(floors.stamp(doc, 1_000, () => [[op(8_000)]])).toBe(8_000);
    floors.saw(doc, [op(9_000)]);
    expect(floors.stamp(doc, 1_000, () => [])).toBe(9_000);
    floors.saw(doc, [op(100)]);
    expect(floors.stamp(doc, 1_000, () => [])).toBe(9_000);
  });

  it("should start a handle from the floor its store keeps with the doc, and its own ops above it", () => {
    const floors = new StampFloors();
    const doc = {};
    floors.raise(doc, 30_000);
    floors.raise(doc, undefined);
    floors.raise(doc, 10_000);
    expect(floors.stamp(doc, 20_000, () => [])).toBe(30_000);
    const other = {};
    floors.raise(other, 30_000);
    expect(floors.stamp(other, 20_000, () => [[op(40_000)]])).toBe(40_000);
  });

  it('should keep a floor per doc handle', () => {
    const floors = new StampFloors();
    const [one, other] = [{}, {}];
    floors.stamp(one, 9_000, () => []);
    expect(floors.stamp(other, 1_000, () => [])).toBe(1_000);
  });
});
