import { isAddAt, isEmptyContainer, isHardSet, likeOf } from '../../../src/algorithms/transform/opKinds.js';

describe('opKinds', () => {
  it('should group the in-place ops with replace and know nothing of unknown ops', () => {
    for (const name of ['@inc', '@bit', '@max', '@min', '@txt', 'replace']) expect(likeOf({ op: name, path: '/a' })).toBe('replace');
    expect(likeOf({ op: 'constructor', path: '/a' })).toBeUndefined();
    expect(likeOf({ op: '@custom', path: '/a' })).toBeUndefined();
  });

  it('should count add, copy and move as writes at their path only', () => {
    expect(isAddAt({ op: 'move', from: '/a', path: '/b' }, 'path')).toBe(true);
    expect(isAddAt({ op: 'move', from: '/a', path: '/b' }, 'from')).toBe(false);
    expect(isAddAt({ op: 'replace', path: '/b', value: 1 }, 'path')).toBe(false);
  });

  it('should call a hard set only a non-soft write of the whole value at a key, or a replace-like op anywhere', () => {
    expect(isHardSet({ op: 'add', path: '/a', value: 1 }, '/a')).toBe(true);
    expect(isHardSet({ op: 'add', path: '/l/0', value: 1 }, '/l/0')).toBe(false);
    expect(isHardSet({ op: 'add', path: '/l/-', value: 1 }, '/l/-')).toBe(false);
    expect(isHardSet({ op: 'replace', path: '/l/0', value: 1 }, '/l/0')).toBe(true);
    expect(isHardSet({ op: '@inc', path: '/n', value: 1 }, '/n')).toBe(true);
    expect(isHardSet({ op: 'add', path: '/a', value: 1, soft: true }, '/a')).toBe(false);
    expect(isHardSet({ op: 'add', path: '/a', value: 1 }, '/b')).toBe(false);
  });

  it('should recognise empty objects and arrays only', () => {
    expect([{}, [], { a: 1 }, [0], null, 0, ''].map(isEmptyContainer)).toEqual([true, true, false, false, false, false, false]);
  });
});
