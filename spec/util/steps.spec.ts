import fc from 'fast-check';
import { runToEnd, type Steps } from '../../src/util/steps.js';

/** Work of `slices` slices that notes each one it runs, then returns `result`. */
function* sliced<T>(slices: number, result: T, ran: number[]): Steps<T> {
  for (let i = 0; i < slices; i++) {
    ran.push(i);
    yield;
  }
  ran.push(slices);
  return result;
}

describe('runToEnd', () => {
  it.each([0, 1, 2, 5])('should run work of %i pauses to its end, in order, and return its result', (pauses) => {
    const ran: number[] = [];
    expect(runToEnd(sliced(pauses, 'done', ran))).toBe('done');
    expect(ran).toEqual(Array.from({ length: pauses + 1 }, (_, i) => i));
  });

  it('should finish the work, so it yields nothing more', () => {
    const steps = sliced(3, 1, []);
    runToEnd(steps);
    expect(steps.next()).toEqual({ done: true, value: undefined });
  });

  it('should give back exactly what the work returns (undefined, an object by identity)', () => {
    const result = { rev: 4 };
    expect(runToEnd(sliced(2, result, []))).toBe(result);
    expect(runToEnd(sliced(2, undefined, []))).toBeUndefined();
  });

  it('should throw what the work throws, after the slices before it ran', () => {
    const ran: number[] = [];
    function* failing(): Steps<number> {
      ran.push(0);
      yield;
      ran.push(1);
      throw new RangeError('too much work');
    }
    expect(() => runToEnd(failing())).toThrow(new RangeError('too much work'));
    expect(ran).toEqual([0, 1]);
  });

  it('should run every slice once and return the result, whatever the number of pauses', () => {
    fc.assert(
      fc.property(fc.nat(40), fc.anything(), (pauses, result) => {
        const ran: number[] = [];
        expect(runToEnd(sliced(pauses, result, ran))).toBe(result);
        expect(ran).toEqual([...Array(pauses + 1).keys()]);
      }),
    );
  });
});
