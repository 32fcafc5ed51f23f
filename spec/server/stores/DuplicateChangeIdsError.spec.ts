import { join } from 'node:path';
import { PatchesError, StoreError } from '../../../src/errors.js';
import { DuplicateChangeIdsError } from '../../../src/server/stores/DuplicateChangeIdsError.js';
import { minifiedErrorName } from '../../helpers/minifiedErrorClasses.js';

describe('DuplicateChangeIdsError', () => {
  it('should carry the doc and each refused id with the rev it is committed at, and be a StoreError', () => {
    const committed = new Map([['c1', 3]]);
    const error = new DuplicateChangeIdsError('notes', committed);
    expect({ name: error.name, docId: error.docId, committed: error.committed }).toEqual({ name: 'DuplicateChangeIdsError', docId: 'notes', committed: new Map([['c1', 3]]) });
    expect(error.committed).toBe(committed);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).toBeInstanceOf(PatchesError);
    expect(error).toBeInstanceOf(Error);
  });

  it('should name the doc and every refused id, in the order given, in its message', () => {
    expect(new DuplicateChangeIdsError('notes', new Map([['c1', 3]])).message).toBe('Change c1 of document "notes" is committed already');
    expect(new DuplicateChangeIdsError('board', new Map([['c9', 7], ['c2', 4], ['c5', 5]])).message).toBe('Change c9, c2, c5 of document "board" is committed already');
  });

  it("should carry the store's error as its cause", () => {
    const cause = Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
    expect(new DuplicateChangeIdsError('notes', new Map([['c1', 3]]), { cause }).cause).toBe(cause);
    expect(new DuplicateChangeIdsError('notes', new Map([['c1', 3]])).cause).toBeUndefined();
  });

  it('should name a subclass after itself', () => {
    class LoggedDuplicateError extends DuplicateChangeIdsError {}
    const error = new LoggedDuplicateError('notes', new Map([['c1', 3]]));
    expect(error.name).toBe('LoggedDuplicateError');
    expect(error).toBeInstanceOf(DuplicateChangeIdsError);
  });

  it('should keep its name in a minified bundle, where the class itself is renamed', () => {
    expect(minifiedErrorName(join(__dirname, '../../../src/server/stores/DuplicateChangeIdsError.ts'), 'notes', new Map([['c1', 3]]))).toEqual({ exported: ['DuplicateChangeIdsError'], renamed: true, name: 'DuplicateChangeIdsError' });
  });
});
