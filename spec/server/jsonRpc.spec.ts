import { JSONRPCError, PatchError, StatusError, StoreError } from '../../src/errors.js';
import { classifyMessage, errorResponse, isExpectedError, sniffId, successResponse, toErrorObject } from '../../src/server/jsonRpc.js';

describe('classifyMessage', () => {
  it('should read a request with positional params', () => {
    expect(classifyMessage({ jsonrpc: '2.0', id: 7, method: 'getDoc', params: ['d'] })).toEqual({ kind: 'request', id: 7, method: 'getDoc', params: ['d'] });
  });

  it('should normalise params as the anchor does: absent → none, object → one arg', () => {
    expect(classifyMessage({ jsonrpc: '2.0', id: 1, method: 'm' })).toMatchObject({ params: [] });
    expect(classifyMessage({ jsonrpc: '2.0', id: 1, method: 'm', params: { docId: 'd' } })).toMatchObject({ params: [{ docId: 'd' }] });
  });

  it('should treat a null id as a request and a missing id as a notification', () => {
    expect(classifyMessage({ jsonrpc: '2.0', id: null, method: 'm' })).toMatchObject({ kind: 'request', id: null });
    expect(classifyMessage({ jsonrpc: '2.0', method: 'm' })).toMatchObject({ kind: 'notification' });
  });

  it('should refuse frames that are not JSON-RPC 2.0 requests, echoing a readable id', () => {
    expect(classifyMessage([1])).toMatchObject({ kind: 'invalid', id: null });
    expect(classifyMessage('x')).toMatchObject({ kind: 'invalid', id: null });
    expect(classifyMessage({ jsonrpc: '1.0', id: 3, method: 'm' })).toMatchObject({ kind: 'invalid', id: 3 });
    expect(classifyMessage({ jsonrpc: '2.0', id: 4 })).toMatchObject({ kind: 'invalid', id: 4 });
    expect(classifyMessage({ jsonrpc: '2.0', id: { a: 1 }, method: 'm' })).toMatchObject({ kind: 'invalid', id: null });
  });
});

describe('responses', () => {
  it('should leave out the result key of a void result', () => {
    expect(JSON.stringify(successResponse(3, undefined))).toBe('{"jsonrpc":"2.0","id":3}');
    expect(JSON.stringify(successResponse(3, null))).toBe('{"jsonrpc":"2.0","id":3,"result":null}');
  });

  it('should keep code, message and data of status errors', () => {
    const error = toErrorObject(new StatusError(410, 'Document d was deleted', { deletedAt: 1, lastRev: 2 }));
    expect(errorResponse(5, error)).toEqual({ jsonrpc: '2.0', id: 5, error: { code: 410, message: 'Document d was deleted', data: { deletedAt: 1, lastRev: 2 } } });
    expect(toErrorObject(new JSONRPCError(-32000, "Unknown method 'x'."))).toEqual({ code: -32000, message: "Unknown method 'x'." });
  });

  it('should answer a store fault 500, scoped to its doc when it names one', () => {
    expect(toErrorObject(new StoreError('Log of document "d" jumps from rev 200 to 401', 'd'))).toEqual({ code: 500, message: 'Log of document "d" jumps from rev 200 to 401', data: { scope: 'doc' } });
    expect(toErrorObject(new StoreError('FileServerStore is closed'))).toEqual({ code: 500, message: 'FileServerStore is closed', data: { scope: 'server' } });
    expect(isExpectedError(new StoreError('x', 'd'))).toBe(false);
    expect(isExpectedError(new StatusError(404, 'x'))).toBe(true);
  });

  it('should hide the details of unexpected faults', () => {
    expect(toErrorObject(new TypeError('secret path /etc'))).toEqual({ code: -32000, message: 'Server error' });
    expect(toErrorObject(new PatchError('bad op', 0, '/a'))).toMatchObject({ code: -32000 });
  });
});

describe('sniffId', () => {
  it('should read the id at the front of an anchor-style frame', () => {
    expect(sniffId('{"jsonrpc":"2.0","id":42,"method":"commitChanges","params":["d",[{"id":"x"')).toBe(42);
    expect(sniffId('{"jsonrpc":"2.0","id":"abc","method":"m"')).toBe('abc');
  });

  it('should not mistake a nested id for the request id', () => {
    expect(sniffId('{"jsonrpc":"2.0","method":"m","params":["d",[{"id":"x"')).toBeNull();
    expect(sniffId('garbage')).toBeNull();
  });
});
