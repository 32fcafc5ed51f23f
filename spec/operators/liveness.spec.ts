import { defer, NEVER, retry, shareReplay, takeUntil, tap, timer } from 'rxjs';
import type { Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { NetworkError } from '../../src/errors.js';
import { liveness, pingFrame } from '../../src/operators/liveness.js';
import type { SocketEvent } from '../../src/streams/webSocketEvents.js';
import { createTestScheduler } from '../helpers/marbles.js';

describe('liveness', () => {
  let testScheduler: TestScheduler;
  /** Probe frames sent, with the virtual time they were sent at. */
  let sent: Array<[number, string]>;
  let open: SocketEvent;
  const message: SocketEvent = { type: 'message', data: '{"jsonrpc":"2.0","id":1,"result":null}' };
  const probeDead = new NetworkError('No frame within 5000 ms of a liveness probe: connection presumed dead');

  beforeEach(() => {
    testScheduler = createTestScheduler();
    sent = [];
    open = { type: 'open', send: (data) => sent.push([testScheduler.now(), data]) };
  });

  it('should probe an idle socket after 35 s of silence and judge it dead 5 s later (40 s in all)', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('  o', { o: open });
      const subs = '        ^ 39999ms !';
      const expected = '    o 39999ms (c#)';

      expectObservable(source.pipe(liveness())).toBe(expected, { o: open, c: { type: 'close', error: probeDead } }, probeDead);
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
    expect(sent).toEqual([[35_000, pingFrame(1)]]);
  });

  it('should judge a busy socket dead 10 s after the last frame', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const busy$ = hot('   f 999ms t', { f: false, t: true });
      const source = hot('  o 1999ms m', { o: open, m: message });
      const expected = '    o 1999ms m 9999ms (c#)';

      expectObservable(source.pipe(liveness({ busy$ }))).toBe(expected, { o: open, m: message, c: { type: 'close', error: probeDead } }, probeDead);
    });
    expect(sent).toEqual([[7000, pingFrame(1)]]);
  });

  it('should keep a socket whose probe is answered, and wait a full silence again', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const source = hot('  o 35999ms m', { o: open, m: message });
      const expected = '    o 35999ms m';

      expectObservable(source.pipe(liveness()), '^ 75000ms !').toBe(expected, { o: open, m: message });
    });
    expect(sent).toEqual([
      [35_000, pingFrame(1)],
      [71_000, pingFrame(2)],
    ]);
  });

  it('should probe at once when asked (a request timed out, the page woke up)', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const check$ = hot('  - 999ms x 999ms x');
      const source = hot('  o', { o: open });
      const expected = '    o 5999ms (c#)';

      expectObservable(source.pipe(liveness({ check$ }))).toBe(expected, { o: open, c: { type: 'close', error: probeDead } }, probeDead);
    });
    // The second check comes while the first probe is out: one probe only.
    expect(sent).toEqual([[1000, pingFrame(1)]]);
  });

  it('should give up on an attempt that does not open within 10 s', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const source = hot<SocketEvent>('-');
      const error = new NetworkError('Connection not open within 10000 ms');
      const expected = '    10000ms (c#)';

      expectObservable(source.pipe(liveness())).toBe(expected, { c: { type: 'close', error } }, error);
    });
  });

  it('should pass a close through and stop watching the socket', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const closed: SocketEvent = { type: 'close' };
      const source = hot('  o 999ms (c|)', { o: open, c: closed });
      const expected = '    o 999ms (c|)';

      expectObservable(source.pipe(liveness())).toBe(expected, { o: open, c: closed });
    });
    expect(sent).toEqual([]);
  });

  it('should take its thresholds as options', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const error = new NetworkError('No frame within 50 ms of a liveness probe: connection presumed dead');
      const source = hot('  o', { o: open });
      const expected = '    o 149ms (c#)';

      expectObservable(source.pipe(liveness({ idleSilence: 100, probeTimeout: 50 }))).toBe(expected, { o: open, c: { type: 'close', error } }, error);
    });
    expect(sent).toEqual([[100, pingFrame(1)]]);
  });

  describe('patience (a frame slower than the silence allowed)', () => {
    /** Watches the sockets `sockets` makes one after another with one operator, as a retry does, until `until` ms; returns the times sockets were judged dead. */
    const watchRetried = (sockets: (n: number) => Observable<SocketEvent>, config: Parameters<typeof liveness>[0], until: number) => {
      const deaths: number[] = [];
      let n = 0;
      defer(() => sockets(n++))
        .pipe(
          liveness(config),
          tap(event => event.type === 'close' && event.error && deaths.push(testScheduler.now())),
          retry(),
          takeUntil(timer(until)),
        )
        .subscribe();
      return deaths;
    };

    it('should double the busy thresholds for the next socket after one judged dead while busy, up to maxPatience', () => {
      let deaths: number[] = [];
      testScheduler.run(({ cold }) => {
        // Busy from each socket's start (the RPC client's busy$ replays its current value).
        const busy$ = cold('t', { t: true });
        deaths = watchRetried(() => cold('o', { o: open }), { busy$, maxPatience: 4, idleSilence: 1e9 }, 150_001);
      });
      // 5 + 5 s, then 10 + 10, then 20 + 20 (the cap) from each open.
      expect(sent.map(([at]) => at)).toEqual([5_000, 20_000, 50_000, 90_000, 130_000]);
      expect(deaths).toEqual([10_000, 30_000, 70_000, 110_000, 150_000]);
    });

    it('should keep the thresholds after a socket judged dead while idle (a dead link, not a slow frame)', () => {
      let deaths: number[] = [];
      testScheduler.run(({ cold }) => {
        deaths = watchRetried(() => cold('o', { o: open }), { idleSilence: 35_000, maxPatience: 8 }, 80_001);
      });
      expect(deaths).toEqual([40_000, 80_000]);
    });

    it('should bring the thresholds back once a socket has stayed open for four of its busy windows', () => {
      let deaths: number[] = [];
      testScheduler.run(({ cold, hot }) => {
        // Busy until 11 s (the first socket dies at 10 s), idle, busy again from 111 s.
        const busy$ = hot('t 10999ms f 99999ms t', { t: true, f: false }).pipe(shareReplay(1));
        const gone = new NetworkError('closed');
        // The second socket (10 + 10 s windows, from 10 s) is closed by the network at 110 s, after the 80 s that bring them back.
        const sockets = [cold('o', { o: open }), cold('o 99999ms #', { o: open }, gone), cold('o', { o: open })];
        deaths = watchRetried(n => sockets[n] ?? NEVER, { busy$, maxPatience: 8, idleSilence: 1e9 }, 125_000);
      });
      // Third socket: opened at 110 s, busy from 111 s, dead 10 s later (it would be 20 s without the reset at 10 + 4 × 20 s).
      expect(deaths).toEqual([10_000, 121_000]);
    });
  });
});
