import { applyPatch } from '../../../src/algorithms/applyPatch.js';
import { PatchError } from '../../../src/errors.js';

describe('add', () => {
  it('should set a new object key', () => {
    expect(applyPatch({ a: 1 }, [{ op: 'add', path: '/b', value: 2 }])).toEqual({ a: 1, b: 2 });
  });

  it('should overwrite an existing object key', () => {
    expect(applyPatch({ a: 1 }, [{ op: 'add', path: '/a', value: { x: 1 } }])).toEqual({ a: { x: 1 } });
  });

  it('should return the same object when the value is already deep-equal', () => {
    const state = { a: { x: [1, 2] } };
    expect(applyPatch(state, [{ op: 'add', path: '/a', value: { x: [1, 2] } }])).toBe(state);
  });

  it('should insert into an array at an index, shifting the rest', () => {
    expect(applyPatch({ l: ['a', 'c'] }, [{ op: 'add', path: '/l/1', value: 'b' }])).toEqual({ l: ['a', 'b', 'c'] });
  });

  it('should append with "-" and with an index equal to the length', () => {
    const state = { l: ['a'] };
    expect(applyPatch(state, [{ op: 'add', path: '/l/-', value: 'b' }])).toEqual({ l: ['a', 'b'] });
    expect(applyPatch(state, [{ op: 'add', path: '/l/1', value: 'b' }])).toEqual({ l: ['a', 'b'] });
  });

  it('should insert an array value as one element', () => {
    expect(applyPatch({ l: [1] }, [{ op: 'add', path: '/l/0', value: [0] }])).toEqual({ l: [[0], 1] });
  });

  it.each(['2', '01', '-1', 'x', '1e0'])('should fail for the array index %p', (index) => {
    expect(() => applyPatch({ l: ['a'] }, [{ op: 'add', path: `/l/${index}`, value: 'b' }])).toThrow(PatchError);
  });

  it('should create missing parents: [] before "0" or "-", {} otherwise', () => {
    expect(applyPatch({}, [{ op: 'add', path: '/a/b/-', value: 1 }])).toEqual({ a: { b: [1] } });
    expect(applyPatch({}, [{ op: 'add', path: '/a/0', value: 1 }])).toEqual({ a: [1] });
    expect(applyPatch({}, [{ op: 'add', path: '/a/1', value: 1 }])).toEqual({ a: { 1: 1 } });
    expect(applyPatch({ a: null }, [{ op: 'add', path: '/a/b', value: 1 }])).toEqual({ a: { b: 1 } });
  });

  it('should append a new element for a missing parent at the end of an array', () => {
    expect(applyPatch({ l: [{}] }, [{ op: 'add', path: '/l/1/x', value: 1 }])).toEqual({ l: [{}, { x: 1 }] });
  });

  it('should fail when a parent index is past the end of an array', () => {
    expect(() => applyPatch({ l: [] }, [{ op: 'add', path: '/l/3/x', value: 1 }])).toThrow(PatchError);
  });

  it('should turn a null root into a document', () => {
    expect(applyPatch(null, [{ op: 'add', path: '/title', value: 'Hi' }])).toEqual({ title: 'Hi' });
    expect(applyPatch(undefined, [{ op: 'add', path: '/title', value: 'Hi' }])).toEqual({ title: 'Hi' });
    // An object whatever the first key (protocol §2.4): a map keyed by numeric ids is no array.
    expect(applyPatch(null, [{ op: 'add', path: '/0', value: 'a' }, { op: 'add', path: '/1', value: 'b' }])).toEqual({ 0: 'a', 1: 'b' });
    expect(applyPatch(null, [{ op: 'add', path: '/-', value: 'a' }])).toEqual({ '-': 'a' });
    expect(applyPatch(null, [{ op: 'add', path: '/0/0', value: 'a' }])).toEqual({ 0: ['a'] });
  });

  it('should replace the whole document at path ""', () => {
    expect(applyPatch({ a: 1 }, [{ op: 'add', path: '', value: [1] }])).toEqual([1]);
  });

  it('should fail when the value is undefined', () => {
    expect(() => applyPatch({}, [{ op: 'add', path: '/a' }])).toThrow(PatchError);
  });

  it('should accept null as a value', () => {
    expect(applyPatch({}, [{ op: 'add', path: '/a', value: null }])).toEqual({ a: null });
  });

  it('should fail when a parent is a primitive', () => {
    expect(() => applyPatch({ a: 'text' }, [{ op: 'add', path: '/a/b', value: 1 }])).toThrow(PatchError);
    expect(() => applyPatch(5, [{ op: 'add', path: '/a', value: 1 }])).toThrow(PatchError);
  });

  it('should fail for a non-index key into an array', () => {
    expect(() => applyPatch({ l: [] }, [{ op: 'add', path: '/l/x/y', value: 1 }])).toThrow(PatchError);
  });

  it('should treat numeric keys of an object as keys', () => {
    expect(applyPatch({ m: { 5: 'a' } }, [{ op: 'add', path: '/m/7', value: 'b' }])).toEqual({ m: { 5: 'a', 7: 'b' } });
  });

  it('should work on frozen input without changing it', () => {
    const state = Object.freeze({ l: Object.freeze([1]), o: Object.freeze({}) });
    const next = applyPatch(state, [
      { op: 'add', path: '/l/0', value: 0 },
      { op: 'add', path: '/o/x', value: 1 },
    ]);
    expect(next).toEqual({ l: [0, 1], o: { x: 1 } });
    expect(state).toEqual({ l: [1], o: {} });
  });
});
