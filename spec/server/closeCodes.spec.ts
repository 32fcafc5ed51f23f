import { isSendableCloseCode, refusalOf } from '../../src/server/closeCodes.js';

describe('closeCodes', () => {
  describe('isSendableCloseCode', () => {
    it('should accept the codes ws sends and refuse reserved, HTTP and non-integer ones', () => {
      expect([1000, 1001, 1008, 1011, 1012, 1013, 3000, 4000, 4403, 4999].every(isSendableCloseCode)).toBe(true);
      expect([0, 401, 999, 1004, 1005, 1006, 1015, 2999, 5000, 4000.5, '4403', undefined].some(isSendableCloseCode)).toBe(false);
    });
  });

  describe('refusalOf', () => {
    it('should refuse false with 4401, unreported', () => {
      expect(refusalOf(false)).toEqual({ code: 4401, reason: 'Unauthorized', misconfigured: false });
    });

    it('should use 1008 and 3000-4999 as they are', () => {
      expect(refusalOf(1008)).toEqual({ code: 1008, reason: 'Refused', misconfigured: false });
      expect(refusalOf(4403)).toEqual({ code: 4403, reason: 'Forbidden', misconfigured: false });
      expect(refusalOf(3000).code).toBe(3000);
      expect(refusalOf(4999).code).toBe(4999);
    });

    it('should read the HTTP statuses 401 and 403 as 4401 and 4403', () => {
      expect(refusalOf(401)).toEqual({ code: 4401, reason: 'Unauthorized', misconfigured: false });
      expect(refusalOf(403)).toEqual({ code: 4403, reason: 'Forbidden', misconfigured: false });
    });

    it.each([0, 1000, 1005, 1011, 2999, 5000, 4000.5, 'yes', undefined, null, {}])('should refuse %p with 4401 as a misconfiguration', (verdict) => {
      expect(refusalOf(verdict)).toEqual({ code: 4401, reason: 'Unauthorized', misconfigured: true });
    });
  });
});
