import { applyBitmask } from '../../../src/algorithms/ops/bit.js';
import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { PatchError } from '../../../src/errors.js';

const on = (i: number) => 1 << i;
const off = (i: number) => 1 << (i + 15);

describe('@bit', () => {
  it('should turn bits on with the low 15 bits of the mask', () => {
    expect(applyBitmask(0, on(0) | on(14))).toBe(0b100000000000001);
  });

  it('should turn bits off with the next 15 bits of the mask', () => {
    expect(applyBitmask(0b111, off(1))).toBe(0b101);
    expect(applyBitmask(0x7fff, off(14))).toBe(0x3fff);
  });

  it('should leave other bits alone', () => {
    expect(applyBitmask(0b1010, on(0) | off(3))).toBe(0b0011);
  });

  it('should apply to the number at a path, a missing one counting as 0', () => {
    expect(applyPatch({}, [{ op: '@bit', path: '/flags', value: on(2) }])).toEqual({ flags: 4 });
    expect(applyPatch({ flags: 5 }, [{ op: '@bit', path: '/flags', value: off(0) | on(1) }])).toEqual({ flags: 6 });
  });

  it('should fail on a non-number mask or current value', () => {
    expect(() => applyPatch({}, [{ op: '@bit', path: '/f', value: 'x' }])).toThrow(PatchError);
    expect(() => applyPatch({ f: 'x' }, [{ op: '@bit', path: '/f', value: 1 }])).toThrow(PatchError);
  });
});
