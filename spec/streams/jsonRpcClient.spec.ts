import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { filter, firstValueFrom, lastValueFrom, of, ReplaySubject, retry, share, skip, Subject, switchMap, take } from 'rxjs';
import { WebSocket, WebSocketServer } from 'ws';
import type { WebSocket as ServerSocket } from 'ws';
import { backoffRetry } from '../../src/operators/backoffRetry.js';
import { online$ } from '../../src/streams/online.js';
import { webSocketEvents } from '../../src/streams/webSocketEvents.js';
import { FakeWindow } from '../helpers/fakeWindow.js';
import type { TestScheduler } from 'rxjs/testing';
import { JSONRPCError, JSONRPCParseError, NetworkError, StatusError, TimeoutError } from '../../src/errors.js';
import { createJsonRpcClient } from '../../src/streams/jsonRpcClient.js';
import type { JsonRpcClient } from '../../src/streams/jsonRpcClient.js';
import type { SocketEvent } from '../../src/streams/webSocketEvents.js';
import { createTestScheduler } from '../helpers/marbles.js';

/** A fake connection edge: `open` events whose `send` records each frame with its virtual time. */
function fakeSocket(testScheduler: TestScheduler) {
  const sent: Array<[frame: number, data: string]> = [];
  const open = (): SocketEvent => ({ type: 'open', send: (data) => sent.push([testScheduler.now(), data]) });
  const frame = (message: unknown): SocketEvent => ({ type: 'message', data: JSON.stringify(message) });
  const result = (id: unknown, value?: unknown): SocketEvent =>
    frame(value === undefined ? { jsonrpc: '2.0', id } : { jsonrpc: '2.0', id, result: value });
  const failure = (id: number, code: number, message: string, data?: unknown): SocketEvent =>
    frame({ jsonrpc: '2.0', id, error: { code, message, data } });
  const drop: SocketEvent = { type: 'close', error: new NetworkError('WebSocket closed (code 1006)') };
  const ids = () => sent.map(([, data]) => (JSON.parse(data) as { id: number }).id);
  return { sent, open, frame, result, failure, drop, ids };
}

const bool = { f: false, t: true };
const disconnected = new NetworkError('Transport disconnected');
const notConnected = new NetworkError('WebSocket is not connected');

describe('createJsonRpcClient', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  describe('calls over time', () => {
    it('should send the request on subscription, emit the result once and complete', () => {
      const socket = fakeSocket(testScheduler);
      testScheduler.run(({ hot, expectObservable }) => {
        const values = { o: socket.open(), r: socket.result(1, { rev: 3 }) };
        const socket$ = hot<SocketEvent>('-o------r---', values);
        const connected = '               ft----------';
        const callSub = '                 ---^--------';
        const expected = '                --------(r|)';

        const rpc = createJsonRpcClient(socket$);
        expectObservable(rpc.connected$).toBe(connected, bool);
        expectObservable(rpc.call('getDoc', ['a']), callSub).toBe(expected, { r: { rev: 3 } });
      });
      expect(socket.sent).toEqual([[3, '{"jsonrpc":"2.0","id":1,"method":"getDoc","params":["a"]}']]);
    });

    // Found in review, fixed: the call went out, then failed with NetworkError at once (the open
    // ended every call in flight, counted after the listeners had made theirs).
    it('should keep a call a connected$ listener makes on open, and answer it', () => {
      const socket = fakeSocket(testScheduler);
      testScheduler.run(({ hot, expectObservable }) => {
        const values = { o: socket.open(), r: socket.result(1, 'pong') };
        const socket$ = hot<SocketEvent>('-o---r', values);
        const rpc = createJsonRpcClient(socket$);
        const answers = new ReplaySubject<unknown>();
        rpc.connected$.pipe(filter(Boolean), take(1), switchMap(() => rpc.call('ping'))).subscribe(answers);
        expectObservable(answers).toBe('-----(a|)', { a: 'pong' });
      });
      expect(socket.sent.map(([frame]) => frame)).toEqual([1]);
    });

    it('should be busy while a call awaits its response, and idle once answered or failed', () => {
      const socket = fakeSocket(testScheduler);
      testScheduler.run(({ hot, expectObservable }) => {
        const values = { o: socket.open(), r: socket.result(1, 'a'), d: socket.drop };
        const socket$ = hot<SocketEvent>('-o----r--------d', values);
        const firstCall = '               --^--------------';
        const secondCall = '              ---------^-------';
        const busy = '                    f-t---f--t-----f';

        const rpc = createJsonRpcClient(socket$);
        expectObservable(rpc.busy$).toBe(busy, bool);
        // The first call (id 1) is answered at frame 6; the second is failed by the drop.
        expectObservable(rpc.call('getDoc', ['a']), firstCall).toBe('------(r|)', { r: 'a' });
        expectObservable(rpc.call('getDoc', ['b']), secondCall).toBe('---------------#', undefined, disconnected);
      });
    });

    it('should error with TimeoutError after the timeout and ignore the late response', () => {
      const socket = fakeSocket(testScheduler);
      testScheduler.run(({ hot, expectObservable }) => {
        const values = { o: socket.open(), r: socket.result(1, 'late'), s: socket.result(2, 'ok') };
        const socket$ = hot<SocketEvent>('-o-- 150ms r-s', values);
        const connected = '               ft';
        const firstSub = '                --^';
        const firstExpected = '           -- 100ms #';
        const secondSub = '               -- 149ms ^';
        const secondExpected = '          -- 154ms (s|)';
        const timedOut = new TimeoutError('JSON-RPC call "getDoc" got no response within 100 ms');

        const rpc = createJsonRpcClient(socket$, { timeout: 100, scheduler: testScheduler });
        expectObservable(rpc.connected$).toBe(connected, bool);
        expectObservable(rpc.call('getDoc', ['a']), firstSub).toBe(firstExpected, undefined, timedOut);
        expectObservable(rpc.call('getDoc', ['b']), secondSub).toBe(secondExpected, { s: 'ok' });
      });
      expect(socket.ids()).toEqual([1, 2]);
    });

    it('should error with NetworkError at once when not connected', () => {
      const socket = fakeSocket(testScheduler);
      testScheduler.run(({ hot, expectObservable }) => {
        const socket$ = hot<SocketEvent>('-----o--', { o: socket.open() });
        const connected = '               f----t--';
        const callSub = '                 --^-----';
        const expected = '                --#';

        const rpc = createJsonRpcClient(socket$);
        expectObservable(rpc.connected$).toBe(connected, bool);
        expectObservable(rpc.call('getDoc', ['a']), callSub).toBe(expected, undefined, notConnected);
      });
      expect(socket.sent).toEqual([]);
    });

    it('should subscribe to socket$ once, on creation, and release it on close()', () => {
      const socket = fakeSocket(testScheduler);
      testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
        const socket$ = hot<SocketEvent>('-o-r----', { o: socket.open(), r: socket.result(1, 'x') });
        const socketSubs = '              ^----!';
        const connected = '               ft---(f|)';
        const callSub = '                 --^-----';
        const expected = '                ---(r|)';
        const afterCloseSub = '           ------^';
        const afterClose = '              ------#';

        const rpc = createJsonRpcClient(socket$);
        testScheduler.schedule(() => rpc.close(), 5);
        expectObservable(rpc.connected$).toBe(connected, bool);
        expectObservable(rpc.call('getDoc', ['a']), callSub).toBe(expected, { r: 'x' });
        expectObservable(rpc.call('getDoc', ['a']), afterCloseSub).toBe(afterClose, undefined, notConnected);
        expectSubscriptions(socket$.subscriptions).toBe(socketSubs);
      });
    });

    it('should error in-flight calls with NetworkError on close()', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const socket = fakeSocket(testScheduler);
        const socket$ = hot<SocketEvent>('-o------', { o: socket.open() });
        const callSub = '                 --^-----';
        const expected = '                ----#';

        const rpc = createJsonRpcClient(socket$);
        testScheduler.schedule(() => rpc.close(), 4);
        expectObservable(rpc.call('getDoc', ['a']), callSub).toBe(expected, undefined, disconnected);
      });
    });

    it('should know the connection even when others subscribed to a shared socket$ first', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const socket = fakeSocket(testScheduler);
        const socket$ = hot<SocketEvent>('-o--r', { o: socket.open(), r: socket.result(1, 1) }).pipe(share());
        const callSub = '                 --^';
        const expected = '                ----(r|)';

        socket$.subscribe();
        const rpc = createJsonRpcClient(socket$);
        expectObservable(rpc.call('x'), callSub).toBe(expected, { r: 1 });
      });
    });

    it('should expose the connection state synchronously', () => {
      const events = new Subject<SocketEvent>();
      const rpc = createJsonRpcClient(events);
      expect(rpc.connected).toBe(false);
      events.next({ type: 'open', send: () => undefined });
      expect(rpc.connected).toBe(true);
      events.next({ type: 'close' });
      expect(rpc.connected).toBe(false);
      rpc.close();
      expect(events.observed).toBe(false);
    });

    it('should follow open and close events in connected$', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const socket = fakeSocket(testScheduler);
        const socket$ = hot<SocketEvent>('-o--c--o-c-o-|', { o: socket.open(), c: socket.drop });
        const expected = '                ft--f--t-f-t-(f|)';

        expectObservable(createJsonRpcClient(socket$).connected$).toBe(expected, bool);
      });
    });

    it('should emit false, then the error, when socket$ itself errors', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const socket = fakeSocket(testScheduler);
        const failure = new Error('gave up');
        const socket$ = hot<SocketEvent>('-o---#', { o: socket.open() }, failure);
        const expected = '                ft---(f#)';

        expectObservable(createJsonRpcClient(socket$).connected$).toBe(expected, bool, failure);
      });
    });
  });

  describe('Wire / RPC edge cases (protocol §6)', () => {
    it('request ids are integers from 1 and monotonic across reconnects; params is always an array', () => {
      const socket = fakeSocket(testScheduler);
      testScheduler.run(({ hot, expectObservable }) => {
        const values = {
          o: socket.open(),
          c: socket.drop,
          p: socket.open(),
          a: socket.result(1, 'A'),
          b: socket.result(2, 'B'),
          d: socket.result(3, 'D'),
        };
        const socket$ = hot<SocketEvent>('-o-a-c-p--b-d', values);
        const connected = '               ft---f-t------';
        const firstSub = '                --^-----------';
        const firstExpected = '           ---(a|)-------';
        const secondSub = '               --------^-----';
        const secondExpected = '          ----------(b|)';
        const thirdSub = '                ---------^----';
        const thirdExpected = '           ------------(d|)';

        const rpc = createJsonRpcClient(socket$);
        expectObservable(rpc.connected$).toBe(connected, bool);
        expectObservable(rpc.call('subscribe', [['x', 'y']]), firstSub).toBe(firstExpected, { a: 'A' });
        expectObservable(rpc.call('getChangesSince', ['x', 4]), secondSub).toBe(secondExpected, { b: 'B' });
        expectObservable(rpc.call('commitChanges', ['x', []]), thirdSub).toBe(thirdExpected, { d: 'D' });
      });
      expect(socket.ids()).toEqual([1, 2, 3]);
      expect(socket.sent.map(([, data]) => Array.isArray((JSON.parse(data) as { params: unknown }).params))).toEqual([true, true, true]);
      expect(socket.sent[0][1]).toBe('{"jsonrpc":"2.0","id":1,"method":"subscribe","params":[["x","y"]]}');
    });

    it('trailing undefined params are stripped and params is omitted when nothing remains', () => {
      const socket = fakeSocket(testScheduler);
      testScheduler.run(({ hot, expectObservable }) => {
        const socket$ = hot<SocketEvent>('-o------', { o: socket.open() });
        const connected = '               ft';
        const commitSub = '               --^!';
        const listSub = '                 ---^!';
        const pingSub = '                 ----^!';

        const rpc = createJsonRpcClient(socket$);
        expectObservable(rpc.connected$).toBe(connected, bool);
        expectObservable(rpc.call('commitChanges', ['doc', [], undefined]), commitSub);
        expectObservable(rpc.call('listDocs', [undefined, undefined]), listSub);
        expectObservable(rpc.call('ping'), pingSub);
      });
      expect(socket.sent.map(([, data]) => data)).toEqual([
        '{"jsonrpc":"2.0","id":1,"method":"commitChanges","params":["doc",[]]}',
        '{"jsonrpc":"2.0","id":2,"method":"listDocs"}',
        '{"jsonrpc":"2.0","id":3,"method":"ping"}',
      ]);
    });

    it('a response with id and no result emits undefined, not an error', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const socket = fakeSocket(testScheduler);
        const socket$ = hot<SocketEvent>('-o--r', { o: socket.open(), r: socket.result(1) });
        const connected = '               ft';
        const callSub = '                 --^';
        const expected = '                ----(u|)';

        const rpc = createJsonRpcClient(socket$);
        expectObservable(rpc.connected$).toBe(connected, bool);
        expectObservable(rpc.call('deleteDoc', ['a']), callSub).toBe(expected, { u: undefined });
      });
    });

    it('positive error codes become StatusError with code and data; others JSONRPCError', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const socket = fakeSocket(testScheduler);
        const values = {
          o: socket.open(),
          a: socket.failure(1, 410, 'Document a was deleted', { deletedAt: 5, lastRev: 7 }),
          b: socket.failure(2, -32000, "Unknown method 'nope'.", 'Error: at stack'),
          c: socket.frame({ jsonrpc: '2.0', id: 3, error: { message: 'no code' } }),
        };
        const socket$ = hot<SocketEvent>('-o--abc', values);
        const connected = '               ft';
        const callsSub = '                --^';
        const gone = '                    ----#';
        const unknown = '                 -----#';
        const codeless = '                ------#';

        const rpc = createJsonRpcClient(socket$);
        expectObservable(rpc.connected$).toBe(connected, bool);
        expectObservable(rpc.call('getDoc', ['a']), callsSub).toBe(gone, undefined, new StatusError(410, 'Document a was deleted', { deletedAt: 5, lastRev: 7 }));
        expectObservable(rpc.call('nope'), callsSub).toBe(unknown, undefined, new JSONRPCError(-32000, "Unknown method 'nope'.", 'Error: at stack'));
        expectObservable(rpc.call('other'), callsSub).toBe(codeless, undefined, new JSONRPCError(-32000, 'no code', undefined));
      });
    });

    it('an unparseable inbound frame errors every pending call; later calls work', () => {
      const html = `<html><body>${'502 Bad Gateway '.repeat(20)}</body></html>`;
      const parseError = new JSONRPCParseError(`Failed to parse JSON-RPC frame: ${html.slice(0, 200)}`);
      testScheduler.run(({ hot, expectObservable }) => {
        const socket = fakeSocket(testScheduler);
        const values = { o: socket.open(), x: { type: 'message' as const, data: html }, r: socket.result(3, 'fine') };
        const socket$ = hot<SocketEvent>('-o--x---r', values);
        const connected = '               ft';
        const firstSub = '                --^';
        const firstExpected = '           ----#';
        const secondSub = '               ---^';
        const secondExpected = '          ----#';
        const laterSub = '                ------^';
        const laterExpected = '           --------(r|)';

        const rpc = createJsonRpcClient(socket$);
        expectObservable(rpc.connected$).toBe(connected, bool);
        expectObservable(rpc.call('getDoc', ['a']), firstSub).toBe(firstExpected, undefined, parseError);
        expectObservable(rpc.call('getDoc', ['b']), secondSub).toBe(secondExpected, undefined, parseError);
        expectObservable(rpc.call('getDoc', ['c']), laterSub).toBe(laterExpected, { r: 'fine' });
      });
      expect(parseError.message).toHaveLength('Failed to parse JSON-RPC frame: '.length + 200);
    });

    it('responses for unknown ids are ignored; notifications without a listener are ignored', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const socket = fakeSocket(testScheduler);
        const values = {
          o: socket.open(),
          u: socket.result(99, 'stray'),
          n: socket.frame({ jsonrpc: '2.0', method: 'docDeleted', params: { docId: 'z' } }),
          e: socket.frame({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }),
          j: socket.frame(42),
          r: socket.result(1, 'mine'),
        };
        const socket$ = hot<SocketEvent>('-o-unej-r', values);
        const connected = '               ft';
        const callSub = '                 --^------';
        const expected = '                --------(r|)';

        const rpc = createJsonRpcClient(socket$);
        expectObservable(rpc.connected$).toBe(connected, bool);
        expectObservable(rpc.call('getDoc', ['a']), callSub).toBe(expected, { r: 'mine' });
      });
    });

    it('transport disconnect errors every in-flight call with a NetworkError', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const socket = fakeSocket(testScheduler);
        const socket$ = hot<SocketEvent>('-o---c', { o: socket.open(), c: socket.drop });
        const connected = '               ft---f';
        const firstSub = '                --^';
        const secondSub = '               ---^';
        const expected = '                -----#';

        const rpc = createJsonRpcClient(socket$);
        expectObservable(rpc.connected$).toBe(connected, bool);
        expectObservable(rpc.call('getDoc', ['a']), firstSub).toBe(expected, undefined, disconnected);
        expectObservable(rpc.call('getDoc', ['b']), secondSub).toBe(expected, undefined, disconnected);
      });
    });

    it('a clean close or the end of socket$ also errors in-flight calls with a NetworkError', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const socket = fakeSocket(testScheduler);
        const failure = new Error('gave up');
        const clean = hot<SocketEvent>('  -o---c', { o: socket.open(), c: { type: 'close' } });
        const ended = hot<SocketEvent>('  -o---|', { o: socket.open() });
        const failed = hot<SocketEvent>(' -o---#', { o: socket.open() }, failure);
        const cleanConnected = '          ft---f';
        const endedConnected = '          ft---(f|)';
        const failedConnected = '         ft---(f#)';
        const callSub = '                 --^';
        const expected = '                -----#';

        const viaClean = createJsonRpcClient(clean);
        const viaEnd = createJsonRpcClient(ended);
        const viaFailure = createJsonRpcClient(failed);
        expectObservable(viaClean.connected$).toBe(cleanConnected, bool);
        expectObservable(viaEnd.connected$).toBe(endedConnected, bool);
        expectObservable(viaFailure.connected$).toBe(failedConnected, bool, failure);
        expectObservable(viaClean.call('getDoc', ['a']), callSub).toBe(expected, undefined, disconnected);
        expectObservable(viaEnd.call('getDoc', ['a']), callSub).toBe(expected, undefined, disconnected);
        expectObservable(viaFailure.call('getDoc', ['a']), callSub).toBe(expected, undefined, disconnected);
      });
    });

    it('stale events from a replaced connection do not affect calls on the new one', () => {
      const socket = fakeSocket(testScheduler);
      testScheduler.run(({ hot, expectObservable }) => {
        // The second `open` replaces the first without a close in between; then a late answer to
        // call 1 arrives, followed by the answer to call 2 on the new connection.
        const values = { o: socket.open(), p: socket.open(), s: socket.result(1, 'stale'), r: socket.result(2, 'fresh') };
        const socket$ = hot<SocketEvent>('-o--p--s-r', values);
        const connected = '               ft--------';
        const oldSub = '                  --^';
        const oldExpected = '             ----#';
        const newSub = '                  -----^';
        const newExpected = '             ---------(r|)';

        const rpc = createJsonRpcClient(socket$);
        expectObservable(rpc.connected$).toBe(connected, bool);
        expectObservable(rpc.call('getDoc', ['a']), oldSub).toBe(oldExpected, undefined, disconnected);
        expectObservable(rpc.call('getDoc', ['b']), newSub).toBe(newExpected, { r: 'fresh' });
      });
      expect(socket.ids()).toEqual([1, 2]);
    });

    it('subscribe emits only the granted subset the server returned, verbatim', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const socket = fakeSocket(testScheduler);
        const socket$ = hot<SocketEvent>('-o--r', { o: socket.open(), r: socket.result(1, ['a']) });
        const connected = '               ft';
        const callSub = '                 --^';
        const expected = '                ----(r|)';

        const rpc = createJsonRpcClient(socket$);
        expectObservable(rpc.connected$).toBe(connected, bool);
        expectObservable(rpc.call<string[]>('subscribe', [['a', 'forbidden']]), callSub).toBe(expected, { r: ['a'] });
      });
    });
  });

  describe('streams and call semantics', () => {
    it('should send requests made while a reply is awaited as one batch frame, and route the array reply by id', () => {
      const socket = fakeSocket(testScheduler);
      testScheduler.run(({ hot, expectObservable }) => {
        const batchReply = socket.frame([
          { jsonrpc: '2.0', id: 3, result: 'c' },
          { jsonrpc: '2.0', id: 2, error: { code: 404, message: 'NOT_FOUND' } },
        ]);
        const values = { o: socket.open(), r: socket.result(1, 'a'), b: batchReply };
        const socket$ = hot<SocketEvent>('-o------b-r', values);
        const rpc = createJsonRpcClient(socket$, { scheduler: testScheduler });
        testScheduler.schedule(() => rpc.acceptBatches(10), 2);
        expectObservable(rpc.call('getDoc', ['a']), '---^-------').toBe('----------(r|)', { r: 'a' });
        expectObservable(rpc.call('getDoc', ['b']), '----^------').toBe('--------#', undefined, new StatusError(404, 'NOT_FOUND'));
        expectObservable(rpc.call('getDoc', ['c']), '----^------').toBe('--------(c|)', { c: 'c' });
      });
      expect(socket.sent).toEqual([
        [3, '{"jsonrpc":"2.0","id":1,"method":"getDoc","params":["a"]}'],
        [4, '[{"jsonrpc":"2.0","id":2,"method":"getDoc","params":["b"]},{"jsonrpc":"2.0","id":3,"method":"getDoc","params":["c"]}]'],
      ]);
    });

    it('should never batch before acceptBatches, nor on the next connection', () => {
      const socket = fakeSocket(testScheduler);
      testScheduler.run(({ hot, expectObservable }) => {
        const values = { o: socket.open(), p: socket.open(), d: socket.drop };
        const socket$ = hot<SocketEvent>('-o---d-p---', values);
        const rpc = createJsonRpcClient(socket$, { scheduler: testScheduler, timeout: Infinity });
        // Accepted on the first connection only; the calls at 2 (before) and at 8 (next connection) go one per frame.
        testScheduler.schedule(() => rpc.acceptBatches(10), 3);
        for (const at of [2, 8]) {
          expectObservable(rpc.call('getDoc', ['x']), `${'-'.repeat(at)}^`).toBe(at === 2 ? '-----#' : '', undefined, disconnected);
          expectObservable(rpc.call('getDoc', ['y']), `${'-'.repeat(at)}^`).toBe(at === 2 ? '-----#' : '', undefined, disconnected);
        }
      });
      expect(socket.sent.map(([frame, data]) => [frame, (JSON.parse(data) as { id: number }).id])).toEqual([
        [2, 1],
        [2, 2],
        [8, 3],
        [8, 4],
      ]);
    });

    it('should drop a batch still held when its connection goes (its calls fail, nothing is sent on the next one)', () => {
      const socket = fakeSocket(testScheduler);
      testScheduler.run(({ hot, expectObservable }) => {
        const values = { o: socket.open(), d: socket.drop, p: socket.open() };
        const socket$ = hot<SocketEvent>('-o----(dp)--', values);
        const rpc = createJsonRpcClient(socket$, { scheduler: testScheduler, batchWindow: 5 });
        testScheduler.schedule(() => rpc.acceptBatches(10), 2);
        // b is held for a window that would close at 9: the drop at 6 comes first.
        expectObservable(rpc.call('getDoc', ['a']), '---^').toBe('------#', undefined, disconnected);
        expectObservable(rpc.call('getDoc', ['b']), '----^').toBe('------#', undefined, disconnected);
      });
      expect(socket.sent.map(([frame]) => frame)).toEqual([3]);
    });

    it('should emit notifications with their method and params', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const socket = fakeSocket(testScheduler);
        const commit = { docId: 'a', changes: [{ id: 'c1', rev: 4 }] };
        const values = {
          o: socket.open(),
          n: socket.frame({ jsonrpc: '2.0', method: 'changesCommitted', params: commit }),
          r: socket.result(1, 'x'),
          d: socket.frame({ jsonrpc: '2.0', method: 'docDeleted', params: { docId: 'b' } }),
        };
        const socket$ = hot<SocketEvent>('-o-n-r-d', values);
        const expected = '                ---n---d';

        expectObservable(createJsonRpcClient(socket$).notifications$).toBe(expected, {
          n: { method: 'changesCommitted', params: commit },
          d: { method: 'docDeleted', params: { docId: 'b' } },
        });
      });
    });

    it('should send a new request, with a new id, for every subscription (retry resends)', () => {
      const socket = fakeSocket(testScheduler);
      testScheduler.run(({ hot, expectObservable }) => {
        const values = { o: socket.open(), a: socket.failure(1, 503, 'busy'), b: socket.result(2, 'ok') };
        const socket$ = hot<SocketEvent>('-o--a-b', values);
        const connected = '               ft';
        const callSub = '                 --^';
        const expected = '                ------(b|)';

        const rpc = createJsonRpcClient(socket$);
        expectObservable(rpc.connected$).toBe(connected, bool);
        expectObservable(rpc.call('getDoc', ['a']).pipe(retry(1)), callSub).toBe(expected, { b: 'ok' });
      });
      expect(socket.sent).toEqual([
        [2, '{"jsonrpc":"2.0","id":1,"method":"getDoc","params":["a"]}'],
        [4, '{"jsonrpc":"2.0","id":2,"method":"getDoc","params":["a"]}'],
      ]);
    });

    it('should stop waiting when a call is unsubscribed and ignore its late response', () => {
      const socket = fakeSocket(testScheduler);
      testScheduler.run(({ hot, expectObservable }) => {
        const values = { o: socket.open(), r: socket.result(1, 'late'), s: socket.result(2, 'ok') };
        const socket$ = hot<SocketEvent>('-o---r-s', values);
        const connected = '               ft';
        const cancelledSub = '            --^-!';
        const cancelled = '               -----';
        const nextSub = '                 ----^';
        const nextExpected = '            -------(s|)';

        const rpc = createJsonRpcClient(socket$);
        expectObservable(rpc.connected$).toBe(connected, bool);
        expectObservable(rpc.call('getDoc', ['a']), cancelledSub).toBe(cancelled);
        expectObservable(rpc.call('getDoc', ['b']), nextSub).toBe(nextExpected, { s: 'ok' });
      });
      expect(socket.ids()).toEqual([1, 2]);
    });

    it('should error the call when send throws', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const broken: SocketEvent = {
          type: 'open',
          send: () => {
            throw notConnected;
          },
        };
        const socket$ = hot<SocketEvent>('-o---', { o: broken });
        const connected = '               ft';
        const callSub = '                 --^';
        const expected = '                --#';

        const rpc = createJsonRpcClient(socket$);
        expectObservable(rpc.connected$).toBe(connected, bool);
        expectObservable(rpc.call('getDoc', ['a']), callSub).toBe(expected, undefined, notConnected);
      });
    });

    it('should error the call when its params cannot be serialised', () => {
      testScheduler.run(({ hot, expectObservable }) => {
        const socket = fakeSocket(testScheduler);
        const socket$ = hot<SocketEvent>('-o---', { o: socket.open() });
        const connected = '               ft';
        const callSub = '                 --^';
        const expected = '                --#';

        const rpc = createJsonRpcClient(socket$);
        expectObservable(rpc.connected$).toBe(connected, bool);
        expectObservable(rpc.call('getDoc', [10n]), callSub).toBe(expected, undefined, new TypeError('Do not know how to serialize a BigInt'));
      });
    });
  });

  describe('over a real WebSocket, reconnecting through backoffRetry', () => {
    let server: WebSocketServer;
    let url: string;
    const received: Array<{ id: number; method: string }> = [];
    let sockets: ReplaySubject<ServerSocket>;
    /** Clients a test created: closed after it, pass or fail, so no reconnect loop outlives it. */
    const clients: JsonRpcClient[] = [];

    beforeEach(async () => {
      received.length = 0;
      sockets = new ReplaySubject<ServerSocket>();
      server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
      server.on('connection', (socket) => {
        sockets.next(socket);
        socket.on('message', (data) => {
          const request = JSON.parse(String(data)) as { id: number; method: string; params?: unknown[] };
          received.push({ id: request.id, method: request.method });
          if (request.method === 'hang') return;
          socket.send(JSON.stringify({ jsonrpc: '2.0', id: request.id, result: request.params ?? null }));
        });
      });
      await once(server, 'listening');
      url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterEach(async () => {
      for (const client of clients.splice(0)) client.close();
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('should call, fail in-flight calls on a drop, reconnect and keep counting ids', async () => {
      const socket$ = webSocketEvents({ url, WebSocketCtor: WebSocket }).pipe(
        backoffRetry({ initialDelay: 5, jitter: 0, resetOn: (event) => event.type === 'open' }),
      );
      const rpc = createJsonRpcClient(socket$, { timeout: 5000 });
      clients.push(rpc);
      const states = new ReplaySubject<boolean>();
      const lifeline = rpc.connected$.subscribe(states);
      const connectedCount = (n: number) => firstValueFrom(states.pipe(filter(Boolean), skip(n - 1), take(1)));

      await connectedCount(1);
      expect(await lastValueFrom(rpc.call('echo', ['a', 1]))).toEqual(['a', 1]);

      const hanging = lastValueFrom(rpc.call('hang'));
      await firstValueFrom(sockets.pipe(take(1))).then(async (first) => {
        while (received.length < 2) await once(first, 'message');
        first.terminate();
      });
      await expect(hanging).rejects.toThrow(NetworkError);

      await connectedCount(2);
      expect(await lastValueFrom(rpc.call('echo', ['b']))).toEqual(['b']);
      expect(received).toEqual([
        { id: 1, method: 'echo' },
        { id: 2, method: 'hang' },
        { id: 3, method: 'echo' },
      ]);

      const second = await firstValueFrom(sockets.pipe(skip(1), take(1)));
      const closed = once(second, 'close');
      rpc.close();
      lifeline.unsubscribe();
      await closed;
      await expect(lastValueFrom(rpc.call('echo'))).rejects.toThrow('WebSocket is not connected');
    });

    it('should drop the socket while offline and reconnect at once when back online (composed with online$)', async () => {
      const host = new FakeWindow({ onLine: true });
      const socket$ = online$(host).pipe(
        switchMap((online) =>
          online
            ? webSocketEvents({ url, WebSocketCtor: WebSocket }).pipe(backoffRetry({ initialDelay: 60_000, resetOn: (event) => event.type === 'open' }))
            : of<SocketEvent>({ type: 'close', error: new NetworkError('Offline') }),
        ),
      );
      const rpc = createJsonRpcClient(socket$);
      clients.push(rpc);
      const states = new ReplaySubject<boolean>();
      const lifeline = rpc.connected$.subscribe(states);
      const connectedCount = (n: number) => firstValueFrom(states.pipe(filter(Boolean), skip(n - 1), take(1)));

      await connectedCount(1);
      const first = await firstValueFrom(sockets.pipe(take(1)));
      const hanging = lastValueFrom(rpc.call('hang'));
      await once(first, 'message');
      const closed = once(first, 'close');
      host.fire('offline');

      await expect(hanging).rejects.toThrow('Transport disconnected');
      await closed;
      await expect(lastValueFrom(rpc.call('echo'))).rejects.toThrow('WebSocket is not connected');

      host.fire('online');
      await connectedCount(2);
      expect(await lastValueFrom(rpc.call('echo', ['back']))).toEqual(['back']);
      rpc.close();
      lifeline.unsubscribe();
    });
  });
});
