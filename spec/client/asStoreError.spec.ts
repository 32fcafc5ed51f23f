import { asStoreError } from '../../src/client/asStoreError.js';
import { DocNotTrackedError, PatchesError, StoreConflictError, StoreError, StoreLostError } from '../../src/errors.js';

describe('asStoreError', () => {
  it.each([
    ['a StoreError', new StoreError('quota', 'notes')],
    ['a DocNotTrackedError', new DocNotTrackedError('notes', true)],
    ['a StoreConflictError', new StoreConflictError('notes', 'pending ids differ')],
    ['a StoreLostError', new StoreLostError('app', 4, 'deleted')],
  ])("should give the store's own error as it is: %s", (_kind, error) => {
    expect(asStoreError(error, 'Could not untrack "notes"', 'other')).toBe(error);
  });

  it.each([
    ['a DOMException', new DOMException('The transaction was aborted', 'AbortError')],
    ['an Error', new TypeError('store.untrackDocs is not a function')],
    ['a PatchesError that is no StoreError', new PatchesError('m')],
    ['a string', 'disk full'],
    ['undefined', undefined],
  ])('should wrap anything else in a StoreError with the message, the doc and the cause: %s', (_kind, thrown) => {
    const error = asStoreError(thrown, 'Could not delete "notes"', 'notes');
    expect(error).toBeInstanceOf(StoreError);
    expect(error).not.toBe(thrown);
    expect({ name: error.name, message: error.message, docId: error.docId }).toEqual({ name: 'StoreError', message: 'Could not delete "notes"', docId: 'notes' });
    expect(error.cause).toBe(thrown);
  });

  it('should name no doc when the step was about none', () => {
    const error = asStoreError(new Error('x'), 'Could not read the docs the store tracks');
    expect(error.docId).toBeUndefined();
    expect('cause' in error).toBe(true);
  });
});
