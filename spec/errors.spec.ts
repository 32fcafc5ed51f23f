import {
  AlgorithmMismatchError,
  ApplyChangesError,
  JSONRPCError,
  JSONRPCParseError,
  MissingChangesError,
  NetworkError,
  PatchError,
  PatchesError,
  RichTextNotEnabledError,
  ServerRevisionRegressedError,
  StatusError,
  StoreError,
  StoreLostError,
  StoreOutdatedError,
  SyncOptionError,
  TERMINAL_STATUS_CODES,
  TimeoutError,
  UnsplittableChangeError,
  isNetworkError,
  isRetryable,
} from '../src/errors.js';
import { minifiedErrorClasses } from './helpers/minifiedErrorClasses.js';
import { join } from 'node:path';

describe('errors', () => {
  it.each([
    ['PatchesError', new PatchesError('m')],
    ['PatchError', new PatchError('m', 0, '/a')],
    ['MissingChangesError', new MissingChangesError(1, 2, 0)],
    ['ApplyChangesError', new ApplyChangesError('c', 1)],
    ['UnsplittableChangeError', new UnsplittableChangeError('d', 2, 1)],
    ['NetworkError', new NetworkError('m')],
    ['TimeoutError', new TimeoutError('m')],
    ['StatusError', new StatusError(500, 'm')],
    ['JSONRPCError', new JSONRPCError(-32000, 'm')],
    ['JSONRPCParseError', new JSONRPCParseError('m')],
    ['StoreError', new StoreError('m')],
    ['StoreOutdatedError', new StoreOutdatedError('app', 4, 5)],
    ['StoreLostError', new StoreLostError('app', 4, 'deleted')],
    ['ServerRevisionRegressedError', new ServerRevisionRegressedError('d', 9, 4)],
    ['RichTextNotEnabledError', new RichTextNotEnabledError()],
    ['SyncOptionError', new SyncOptionError('subscribeFilter', 'm')],
    ['AlgorithmMismatchError', new AlgorithmMismatchError('lww-settings', 'ot', 'lww')],
  ])('should set name to %s and be an Error and a PatchesError', (name, error) => {
    expect(error.name).toBe(name);
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(PatchesError);
  });

  it('should keep every class name in a minified bundle, where the classes themselves are renamed', () => {
    const classes = minifiedErrorClasses(join(__dirname, '../src/errors.ts'));
    expect(classes.length).toBeGreaterThan(10);
    // The bundle renamed them (else this spec proves nothing)...
    expect(classes.filter(([exported, ctor]) => ctor.name !== exported).length).toBeGreaterThan(0);
    // ...and each error still says what it is.
    for (const [exported, ctor] of classes) expect({ exported, name: new ctor('message', 0, 'x').name }).toEqual({ exported, name: exported });
  });

  it('should name a user subclass after itself', () => {
    class CustomError extends NetworkError {}
    const error = new CustomError('x');
    expect(error.name).toBe('CustomError');
    expect(error).toBeInstanceOf(NetworkError);
  });

  it('should carry the cause', () => {
    const cause = new Error('root');
    expect(new PatchesError('m', { cause }).cause).toBe(cause);
    expect(new ApplyChangesError('c', 1, { cause }).cause).toBe(cause);
    expect(new StoreError('m', 'd', { cause }).cause).toBe(cause);
  });

  it('should carry the fields of PatchError', () => {
    const error = new PatchError('path not found', 2, '/a/b');
    expect(error.opIndex).toBe(2);
    expect(error.path).toBe('/a/b');
    expect(error.message).toBe('path not found (op 2 at "/a/b")');
  });

  it('should carry the fields of MissingChangesError', () => {
    const error = new MissingChangesError(5, 7, 4);
    expect([error.expectedRev, error.gotRev, error.sinceRev]).toEqual([5, 7, 4]);
    expect(error.message).toBe('Missing changes: expected rev 5, got 7 (have 4)');
  });

  it('should carry the fields of ServerRevisionRegressedError and not count as a network error', () => {
    const error = new ServerRevisionRegressedError('lww-settings', 106, 60);
    expect([error.docId, error.localRev, error.serverRev]).toEqual(['lww-settings', 106, 60]);
    expect(error.message).toBe('The server went back in time on "lww-settings": it is at rev 60, the client had rev 106; reloaded from the server, pending changes kept');
    expect(isNetworkError(error)).toBe(false);
  });

  it('should name the fix in RichTextNotEnabledError and not count it as retryable', () => {
    const error = new RichTextNotEnabledError();
    expect(error.message).toContain("import { enableRichText } from 'patches-rx/txt'");
    expect(isRetryable(error)).toBe(false);
    expect(isNetworkError(error)).toBe(false);
  });

  it('should name the doc, both algorithms and the fix in AlgorithmMismatchError, and not count it as retryable', () => {
    const error = new AlgorithmMismatchError('lww-settings', 'ot', 'lww');
    expect([error.docId, error.openedAs, error.serverAlgorithm]).toEqual(['lww-settings', 'ot', 'lww']);
    expect(error.message).toBe(`Doc "lww-settings" is LWW on the server but was opened as OT here: open it with { algorithm: 'lww' } (untrack it first: a tracked doc keeps its algorithm)`);
    expect(isRetryable(error)).toBe(false);
    expect(isNetworkError(error)).toBe(false);
  });

  it('should carry the fields of ApplyChangesError', () => {
    const error = new ApplyChangesError('c9', 12);
    expect([error.changeId, error.rev]).toEqual(['c9', 12]);
    expect(error.message).toContain('c9');
    expect(error.message).toContain('12');
  });

  it('should carry the fields of UnsplittableChangeError, naming the doc only when known', () => {
    const error = new UnsplittableChangeError('doc1', 2000, 1000);
    expect([error.docId, error.size, error.limit]).toEqual(['doc1', 2000, 1000]);
    expect(error.message).toBe('An op of 2000 bytes in doc "doc1" exceeds the 1000-byte limit and cannot be split');
    expect(new UnsplittableChangeError(undefined, 2, 1).message).toBe('An op of 2 bytes exceeds the 1-byte limit and cannot be split');
  });

  it('should carry code and data on StatusError and JSONRPCError', () => {
    const status = new StatusError(403, 'forbidden', { why: 'x' });
    expect([status.code, status.message, status.data]).toEqual([403, 'forbidden', { why: 'x' }]);
    const rpc = new JSONRPCError(-32601, 'no method');
    expect([rpc.code, rpc.message, rpc.data]).toEqual([-32601, 'no method', undefined]);
  });

  it('should make a lost store an outdated one (the same path reports it), with its own message', () => {
    const lost = new StoreLostError('app', 4, 'deleted');
    expect(lost).toBeInstanceOf(StoreOutdatedError);
    expect(lost).toBeInstanceOf(StoreError);
    expect(lost).toMatchObject({ dbName: 'app', version: 4, newVersion: undefined, docId: undefined, reason: 'deleted' });
    expect(lost.message).toBe(`The database "app" was deleted (by another tab or the app) while this tab was using it: edits not yet sent to the server are lost; reload the page`);
    const closed = new StoreLostError('app', 4, 'closed');
    expect(closed.reason).toBe('closed');
    expect(closed.message).toBe(
      `The browser closed the database "app" while this tab was using it (the site's storage cleared, or the browser's database process lost): this tab can no longer save; reload the page. Edits not yet sent to the server are lost if the storage was cleared, and kept otherwise`,
    );
  });

  it('should carry the doc id on StoreError', () => {
    expect(new StoreError('quota', 'doc1').docId).toBe('doc1');
    expect(new StoreError('quota').docId).toBeUndefined();
  });

  it('should list 401, 402, 403, 404 and 410 as terminal', () => {
    expect([...TERMINAL_STATUS_CODES].sort()).toEqual([401, 402, 403, 404, 410]);
  });

  describe('isRetryable', () => {
    it.each([401, 402, 403, 404, 410])('should not retry status %i', code => {
      expect(isRetryable(new StatusError(code, 'x'))).toBe(false);
    });
    it.each([400, 409, 429, 500, 503])('should retry status %i', code => {
      expect(isRetryable(new StatusError(code, 'x'))).toBe(true);
    });
    it('should not retry a PatchError or an UnsplittableChangeError', () => {
      expect(isRetryable(new PatchError('m', 0, '/a'))).toBe(false);
      expect(isRetryable(new UnsplittableChangeError('d', 2, 1))).toBe(false);
    });
    it('should retry network, timeout, protocol, store and unknown errors', () => {
      for (const error of [new NetworkError('m'), new TimeoutError('m'), new JSONRPCError(-32000, 'm'), new StoreError('m'), new Error('m'), 'text', undefined]) {
        expect(isRetryable(error)).toBe(true);
      }
    });
  });

  describe('isNetworkError', () => {
    it('should be true for NetworkError and TimeoutError', () => {
      expect(isNetworkError(new NetworkError('m'))).toBe(true);
      expect(isNetworkError(new TimeoutError('m'))).toBe(true);
    });
    it('should be false for anything else', () => {
      for (const error of [new StatusError(503, 'm'), new JSONRPCParseError('m'), new PatchesError('m'), new Error('m'), { name: 'NetworkError' }, null]) {
        expect(isNetworkError(error)).toBe(false);
      }
    });
  });
});
