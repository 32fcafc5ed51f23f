import fc from 'fast-check';
import { errorName } from '../../src/util/errorName.js';

/** A class as a minifier leaves it: named `nt`, naming itself with the literal. */
const Minified = class nt extends Error {
  override name = errorName(this, nt, 'QuotaError');
};

describe('errorName', () => {
  it("should give the literal for an instance of the class itself, whatever the class's own name", () => {
    expect(Minified.name).toBe('nt');
    expect(new Minified('m').name).toBe('QuotaError');
    expect(errorName(new Minified('m'), Minified, 'QuotaError')).toBe('QuotaError');
  });

  it('should give the class name of a subclass that sets no name of its own', () => {
    class AppQuotaError extends Minified {}
    expect(new AppQuotaError('m').name).toBe('AppQuotaError');
    expect(errorName(new AppQuotaError('m'), Minified, 'QuotaError')).toBe('AppQuotaError');
  });

  it("should give a subclass's own literal when it names itself too, the most derived class's field winning", () => {
    const Renamed = class x extends Minified {
      override name = errorName(this, x, 'DiskQuotaError');
    };
    expect(new Renamed('m').name).toBe('DiskQuotaError');
    class AppError extends Renamed {}
    expect(new AppError('m').name).toBe('AppError');
  });

  it('should not give the literal to an instance of a base class', () => {
    expect(errorName(new Error('m'), Minified, 'QuotaError')).toBe('Error');
    expect(errorName(new TypeError('m'), Minified, 'QuotaError')).toBe('TypeError');
  });

  it('should give the literal to the class itself and never to anything else, whatever the literal', () => {
    fc.assert(
      fc.property(fc.string(), (own) => {
        const Named = class extends Error {};
        class Sub extends Named {}
        expect(errorName(new Named('m'), Named, own)).toBe(own);
        expect(errorName(new Sub('m'), Named, own)).toBe('Sub');
      }),
    );
  });
});
