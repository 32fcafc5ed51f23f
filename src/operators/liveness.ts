import { asyncScheduler, distinctUntilChanged, NEVER, Observable, Subscription } from 'rxjs';
import type { MonoTypeOperatorFunction, SchedulerLike } from 'rxjs';
import { NetworkError } from '../errors.js';
import type { SocketEvent } from '../streams/webSocketEvents.js';

/** When `liveness` probes a socket and when it gives up on it. */
export interface LivenessConfig {
  /** Silence (no inbound frame) in ms after which a busy socket is probed. Default 5000. */
  busySilence?: number | undefined;
  /** Silence in ms after which an idle socket is probed. Default 35 000. */
  idleSilence?: number | undefined;
  /** Ms a probe waits for any inbound frame before the socket is judged dead. Default 5000. */
  probeTimeout?: number | undefined;
  /** Ms an attempt may take to open before it is abandoned. Default 10 000. */
  connectTimeout?: number | undefined;
  /**
   * Largest factor `busySilence` and `probeTimeout` grow to. Each socket judged dead while busy
   * doubles them for the next socket this operator watches, up to this factor, and a socket that
   * stays open four times as long as it takes to judge a busy socket dead (its grown
   * `busySilence` + `probeTimeout`) brings them back: a frame slower to cross than
   * the silence allowed (a big document on a slow link, which holds the probe's answer behind it)
   * gets through on a later attempt instead of being cut off on every one. Default 1 (fixed).
   */
  maxPatience?: number | undefined;
  /** True while requests await their replies (the socket is "busy"). Default: never busy. */
  busy$?: Observable<boolean> | undefined;
  /** Each value asks for a probe now (a request timed out, the page woke up). */
  check$?: Observable<unknown> | undefined;
  /** The probe frame to send; `n` counts probes on this socket. Default: a JSON-RPC `ping` request with id `"ping-n"`. */
  probeFrame?: ((n: number) => string) | undefined;
  /** Scheduler for every timer. Default `asyncScheduler`. */
  scheduler?: SchedulerLike | undefined;
}

/** The default probe: a request any JSON-RPC server answers, with a result or with an error for an unknown method. */
export function pingFrame(n: number): string {
  return JSON.stringify({ jsonrpc: '2.0', id: `ping-${n}`, method: 'ping' });
}

/**
 * Judges one socket dead when it stays silent, instead of waiting for a close that never comes.
 *
 * A laptop that sleeps, a NAT entry that expires or a proxy that drops a connection leave the
 * socket "open" with no bytes moving. After `busySilence` ms without an inbound frame while a
 * request is outstanding (or `idleSilence` ms while idle), it sends a probe (any reply, even an
 * error for an unknown method, proves the peer is there; servers without a ping method answer
 * too); if no frame at all arrives within `probeTimeout`, it emits `close` with a `NetworkError`
 * and errors with it, which unsubscribes (closes) the socket, so a retrying operator downstream
 * reconnects. `check$` probes at once. An attempt that does not open within `connectTimeout`
 * fails the same way. Apply it to the events of ONE socket (before `backoffRetry`); the operator
 * it returns remembers its patience (`maxPatience`) from one socket to the next, the sockets a
 * retry subscribes it to one after another.
 *
 * ## Example
 * ```ts
 * import { liveness } from './operators/liveness.js';
 * import { backoffRetry } from './operators/backoffRetry.js';
 * import { webSocketEvents } from './streams/webSocketEvents.js';
 *
 * const events$ = webSocketEvents({ url: 'ws://127.0.0.1:8080' }).pipe(
 *   liveness({ busySilence: 5000, idleSilence: 35_000, probeTimeout: 5000 }),
 *   backoffRetry({ resetOn: (event) => event.type === 'open' }),
 * );
 * ```
 *
 * @param config Thresholds, the busy signal, the check trigger and the scheduler; every field is optional.
 * @return A function that returns the socket's events, ending in `close` + error when it goes silent.
 */
export function liveness(config: LivenessConfig = {}): MonoTypeOperatorFunction<SocketEvent> {
  const {
    busySilence = 5000,
    idleSilence = 35_000,
    probeTimeout = 5000,
    connectTimeout = 10_000,
    busy$ = NEVER,
    check$ = NEVER,
    probeFrame = pingFrame,
    scheduler = asyncScheduler,
    maxPatience = 1,
  } = config;
  // Shared by the sockets this operator watches, one after another (see `maxPatience`).
  let patience = 1;

  return (source) =>
    new Observable<SocketEvent>((subscriber) => {
      const busyWindow = busySilence * patience;
      const probeWindow = probeTimeout * patience;
      let send: ((data: string) => void) | null = null;
      let busy = false;
      let probing = false;
      let probes = 0;
      // One timer serves many waits: every frame and every busy change moves the deadline, and a
      // timer due before the new deadline is kept (when it fires early it waits for the rest), so
      // a busy socket does not clear and set a timer per frame.
      let deadline = 0;
      let onDeadline = () => {};
      let timer: Subscription | undefined;
      let timerAt = Infinity;
      const subscription = new Subscription(() => timer?.unsubscribe());
      const calmDown = () => {
        if (patience === 1) return;
        subscription.add(scheduler.schedule(() => (patience = 1), 4 * (busyWindow + probeWindow)));
      };

      const stopTimer = () => {
        timer?.unsubscribe();
        timer = undefined;
        timerAt = Infinity;
      };
      const startTimer = (delay: number) => {
        stopTimer();
        timerAt = scheduler.now() + delay;
        timer = scheduler.schedule(() => {
          timer = undefined;
          timerAt = Infinity;
          const left = deadline - scheduler.now();
          if (left > 0) startTimer(left);
          else onDeadline();
        }, delay);
      };
      const arm = (delay: number, fire: () => void) => {
        deadline = scheduler.now() + delay;
        onDeadline = fire;
        if (timerAt > deadline) startTimer(delay);
      };
      const dead = (error: NetworkError) => {
        send = null;
        subscriber.next({ type: 'close', error });
        subscriber.error(error);
      };
      /** Something arrived (or the busy state changed): wait for the next silence. */
      const listen = () => {
        probing = false;
        arm(busy ? busyWindow : idleSilence, probe);
      };
      const probe = () => {
        if (!send) return;
        probing = true;
        try {
          send(probeFrame(++probes));
        } catch {
          // The socket is already gone; its close event is on its way.
        }
        arm(probeWindow, () => {
          if (busy) patience = Math.min(patience * 2, maxPatience);
          dead(new NetworkError(`No frame within ${probeWindow} ms of a liveness probe: connection presumed dead`));
        });
      };

      arm(connectTimeout, () => dead(new NetworkError(`Connection not open within ${connectTimeout} ms`)));
      subscription.add(
        source.subscribe({
          next: (event) => {
            if (event.type === 'close') {
              send = null;
              stopTimer();
            } else {
              // Any inbound frame proves the peer is there: a reply, a notification, a heartbeat.
              if (event.type === 'open') {
                send = event.send;
                calmDown();
              }
              listen();
            }
            subscriber.next(event);
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => subscriber.complete(),
        }),
      );
      subscription.add(
        busy$.pipe(distinctUntilChanged()).subscribe((value) => {
          busy = value;
          if (send && !probing) listen();
        }),
      );
      subscription.add(
        check$.subscribe(() => {
          if (send && !probing) probe();
        }),
      );
      return subscription;
    });
}
