import { RecentKeys } from '../../src/util/RecentKeys.js';

describe('RecentKeys', () => {
  it('should say a key is new once, until it is forgotten', () => {
    const keys = new RecentKeys(2);
    expect([keys.add('a'), keys.add('a'), keys.add('b'), keys.add('a')]).toEqual([true, false, true, false]);
    expect(keys.size).toBe(2);
  });

  it('should forget the oldest key first once past its limit, and hold no more than the limit', () => {
    const keys = new RecentKeys(2);
    keys.add('a');
    keys.add('b');
    keys.add('c');
    expect(keys.size).toBe(2);
    expect(keys.add('b')).toBe(false);
    expect(keys.add('c')).toBe(false);
    expect(keys.add('a')).toBe(true);
    // 'a' came back in place of the oldest, 'b'.
    expect(keys.add('c')).toBe(false);
    expect(keys.add('b')).toBe(true);
  });

  it('should refuse a limit below 1', () => {
    expect(() => new RecentKeys(0)).toThrow(RangeError);
    expect(() => new RecentKeys(Number.NaN)).toThrow(RangeError);
  });
});
