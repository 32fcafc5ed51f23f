import { join } from 'node:path';
import { PatchesError, StoreError } from '../../../src/errors.js';
import { RevConflictError } from '../../../src/server/stores/RevConflictError.js';
import { minifiedErrorName } from '../../helpers/minifiedErrorClasses.js';

describe('RevConflictError', () => {
  it('should carry the doc and the first rev of the refused entry, and be a StoreError', () => {
    const error = new RevConflictError('notes', 4);
    expect({ name: error.name, docId: error.docId, rev: error.rev }).toEqual({ name: 'RevConflictError', docId: 'notes', rev: 4 });
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toBeInstanceOf(PatchesError);
    expect(error).toBeInstanceOf(Error);
  });

  it('should name the rev and the doc in its message', () => {
    expect(new RevConflictError('notes', 4).message).toBe('Rev 4 of document "notes" was committed by another process first');
    expect(new RevConflictError('board', 1).message).toBe('Rev 1 of document "board" was committed by another process first');
  });

  it("should carry the store's error as its cause", () => {
    const cause = Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
    expect(new RevConflictError('notes', 4, { cause }).cause).toBe(cause);
    expect(new RevConflictError('notes', 4).cause).toBeUndefined();
  });

  it('should name a subclass after itself', () => {
    class ShardConflictError extends RevConflictError {}
    const error = new ShardConflictError('notes', 4);
    expect(error.name).toBe('ShardConflictError');
    expect(error).toBeInstanceOf(RevConflictError);
  });

  it('should keep its name in a minified bundle, where the class itself is renamed', () => {
    expect(minifiedErrorName(join(__dirname, '../../../src/server/stores/RevConflictError.ts'), 'notes', 4)).toEqual({ exported: ['RevConflictError'], renamed: true, name: 'RevConflictError' });
  });
});
