import { mapOps } from '../../../src/algorithms/transform/mapOps.js';
import type { JSONPatchOp } from '../../../src/types.js';

const r = (path: string, value: unknown): JSONPatchOp => ({ op: 'replace', path, value });

describe('mapOps', () => {
  it('should return the input array itself when the rule returns every op as it is', () => {
    const ops = [r('/a', 1), r('/b', 2)];
    expect(mapOps(ops, (op) => op)).toBe(ops);
  });

  it('should drop null results, spread arrays, and drop moves and copies onto their own path', () => {
    const ops = [r('/a', 1), r('/b', 2), { op: 'copy', from: '/c', path: '/c' }, r('/d', 4)];
    const out = mapOps(ops, (op) => (op.path === '/a' ? null : op.path === '/b' ? [op, r('/b2', 3)] : op));
    expect(out).toEqual([r('/b', 2), r('/b2', 3), r('/d', 4)]);
  });

  it('should stop after an op, keeping the rest as it is or dropping it', () => {
    const ops = [r('/a', 1), r('/b', 2), r('/c', 3)];
    expect(mapOps(ops, (op, _i, stop) => (op.path === '/a' ? (stop(true), op) : null))).toEqual(ops);
    expect(mapOps(ops, (op, _i, stop) => (stop(), [op, r('/z', 0)]))).toEqual([r('/a', 1), r('/z', 0)]);
  });
});
