import { createId, dropIdPool } from '../../src/algorithms/createId.js';

const BASE62 = /^[0-9A-Za-z]+$/;

describe('createId', () => {
  beforeEach(() => {
    dropIdPool();
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('should be 12 characters by default', () => {
    expect(createId()).toHaveLength(12);
  });

  it.each([1, 8, 20, 64])('should honour a length of %i', length => {
    expect(createId(length)).toHaveLength(length);
  });

  it('should use only the base-62 alphabet', () => {
    for (let i = 0; i < 1000; i++) expect(createId()).toMatch(BASE62);
  });

  it('should not repeat over 10k ids', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => createId()));
    expect(ids.size).toBe(10_000);
  });

  it('should use every character of the alphabet across many ids', () => {
    const seen = new Set(Array.from({ length: 2000 }, () => createId()).join(''));
    expect(seen.size).toBe(62);
  });

  it('should draw random bytes once for many ids, not once per id', () => {
    const draw = jest.spyOn(globalThis.crypto, 'getRandomValues');
    const ids = Array.from({ length: 100 }, () => createId());
    expect(draw).toHaveBeenCalledTimes(1);
    expect(new Set(ids).size).toBe(100);
  });

  it('should map bytes below 248 to ALPHABET[byte % 62] and reject bytes 248..255 (no bias)', () => {
    const feeds = [
      [248, 255, 0, 61, 62, 250, 247, 1], // 248, 255, 250 rejected
    ];
    let call = 0;
    jest.spyOn(globalThis.crypto, 'getRandomValues').mockImplementation(<T extends ArrayBufferView | null>(array: T): T => {
      const bytes = array as unknown as Uint8Array;
      bytes.fill(255);
      bytes.set(feeds[call++] ?? [2, 2, 2, 2, 2, 2, 2, 2]);
      return array;
    });
    // 0 → '0', 61 → 'z', 62 → '0', 247 → 247 % 62 = 61 → 'z', 1 → '1'
    expect(createId(4)).toBe('0z0z');
    expect(call).toBe(1);
  });

  it('should draw again when a whole draw is rejected', () => {
    let call = 0;
    jest.spyOn(globalThis.crypto, 'getRandomValues').mockImplementation(<T extends ArrayBufferView | null>(array: T): T => {
      (array as unknown as Uint8Array).fill(call++ === 0 ? 255 : 10);
      return array;
    });
    expect(createId(3)).toBe('AAA');
    expect(call).toBe(2);
  });
});
