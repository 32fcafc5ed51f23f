import {
  AlgorithmMismatchError,
  ApplyChangesError,
  DocNotTrackedError,
  JSONRPCError,
  MissingChangesError,
  NetworkError,
  PatchError,
  RichTextNotEnabledError,
  StatusError,
  StoreError,
  TimeoutError,
  UnsplittableChangeError,
} from '../../src/errors.js';
import { classifyError, DOC_RETRY, docRetryDelay, steadyRetryDelay, type ErrorAction } from '../../src/net/errorPolicy.js';

describe('classifyError', () => {
  const cases: [string, unknown, ErrorAction][] = [
    ['a NetworkError', new NetworkError('dropped'), 'network'],
    ['a TimeoutError', new TimeoutError('no reply'), 'transient'],
    ['a 503 StatusError (server restarting)', new StatusError(503, 'unavailable'), 'transient'],
    ['a MissingChangesError', new MissingChangesError(5, 7, 4), 'refetch'],
    ['an ApplyChangesError', new ApplyChangesError('c1', 3), 'reload'],
    ['a 410 StatusError', new StatusError(410, 'gone'), 'deleted'],
    ['a 401 StatusError', new StatusError(401, 'unauthorized'), 'fail'],
    ['a 402 StatusError', new StatusError(402, 'payment required'), 'fail'],
    ['a 403 StatusError', new StatusError(403, 'forbidden'), 'fail'],
    ['a 404 StatusError', new StatusError(404, 'not found'), 'fail'],
    ['a 500 StatusError', new StatusError(500, 'oops'), 'retry'],
    ['a 409 StatusError', new StatusError(409, 'conflict'), 'retry'],
    ['a PatchError', new PatchError('bad op', 0, '/x'), 'fail'],
    ['an UnsplittableChangeError', new UnsplittableChangeError('doc1', 2000, 1000), 'fail'],
    ['a RichTextNotEnabledError (refetching cannot help)', new RichTextNotEnabledError(), 'fail'],
    ['an AlgorithmMismatchError (the doc was opened with the other algorithm: refetching cannot help)', new AlgorithmMismatchError('lww-settings', 'ot', 'lww'), 'fail'],
    ['a plain Error', new Error('boom'), 'retry'],
    ['a JSONRPCError', new JSONRPCError(-32000, 'server error'), 'retry'],
    ['a StoreError', new StoreError('quota', 'doc1'), 'retry'],
    ['a DocNotTrackedError (untracked meanwhile)', new DocNotTrackedError('doc1', false), 'untracked'],
    ['a DocNotTrackedError (deleted meanwhile)', new DocNotTrackedError('doc1', true), 'untracked'],
    ['a thrown non-Error value', 'a string', 'retry'],
  ];

  it.each(cases)('should classify %s', (_label, error, action) => {
    expect(classifyError(error)).toBe(action);
  });

  it('should classify a 503 as transient and not as retry, though it is retryable', () => {
    expect(classifyError(new StatusError(503, 'x'))).not.toBe('retry');
    expect(classifyError(new StatusError(502, 'x'))).toBe('retry');
  });

  it('should not let a subclass of NetworkError fall through to retry', () => {
    class SocketClosed extends NetworkError {}
    expect(classifyError(new SocketClosed('closed'))).toBe('network');
  });
});

describe('docRetryDelay', () => {
  it('should wait 1 s × 2^n, capped at 30 s', () => {
    const delays = Array.from({ length: 10 }, (_, n) => docRetryDelay(n));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000]);
  });

  it('should give up (undefined) after 10 attempts', () => {
    expect(docRetryDelay(9)).toBe(30000);
    expect(docRetryDelay(10)).toBeUndefined();
    expect(docRetryDelay(11)).toBeUndefined();
    expect(docRetryDelay(1000)).toBeUndefined();
  });

  it('should match the published DOC_RETRY constants', () => {
    expect(DOC_RETRY).toEqual({ initialDelay: 1000, factor: 2, maxDelay: 30_000, maxAttempts: 10 });
    expect(docRetryDelay(0)).toBe(DOC_RETRY.initialDelay);
    expect(docRetryDelay(DOC_RETRY.maxAttempts - 1)).toBe(DOC_RETRY.maxDelay);
  });
});

describe('steadyRetryDelay', () => {
  it('should follow the docs\' ladder, then stay at its longest step for good', () => {
    expect(Array.from({ length: 12 }, (_, n) => steadyRetryDelay(n))).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000, 30_000, 30_000, 30_000]);
  });
});
