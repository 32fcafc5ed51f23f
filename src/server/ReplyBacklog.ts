import type { WebSocket } from 'ws';
import type { ReadHolds } from './ReadHolds.js';

/** When a connection's own requests back up far enough that the server stops reading it. */
export interface ReplyBacklogLimits {
  /** UTF-8 bytes of replies handed to the socket and not yet written out. */
  maxReplyBytes: number;
  /** Requests read and not yet answered (a batch counts each of its requests). */
  maxCallsInFlight: number;
  /** Bytes of the frames (inflated) whose requests are read and not yet answered. */
  maxRequestBytes: number;
}

/** What one socket has backed up. */
interface Load {
  bytes: number;
  calls: number;
  requestBytes: number;
}

/**
 * Backpressure on a connection's requests: once the replies it has not read yet, or the requests
 * it sent that are not yet answered (counted and by their frames' bytes), reach their limit, the
 * server stops reading the socket (a `'backlog'` hold) and reads it again once all are below half.
 * A client that reads slowly, or pipelines more than the server answers, only slows itself;
 * nothing is dropped, and a single reply larger than the limit (a catch-up of 100 MB) is still
 * sent whole, as a single frame larger than its limit is still answered.
 *
 * ## Example
 * ```ts
 * const backlog = new ReplyBacklog({ maxReplyBytes: 64 << 20, maxCallsInFlight: 2000, maxRequestBytes: 64 << 20 }, holds, () => stats.backpressurePauses++);
 * backlog.add(socket, { calls: 1000, requestBytes: 90_000 }); // a batch frame of 1,000 requests read
 * backlog.add(socket, { calls: -1000, requestBytes: -90_000, bytes: 200e6 }); // answered: 200 MB of replies queued, socket paused
 * backlog.add(socket, { bytes: -200e6 }); // written out: read again
 * ```
 */
export class ReplyBacklog {
  private readonly loads = new WeakMap<WebSocket, Load>();

  /**
   * @param limits where reading stops
   * @param holds the holds the `'backlog'` one is taken in
   * @param paused told each time a socket is paused for its backlog
   */
  constructor(
    private readonly limits: ReplyBacklogLimits,
    private readonly holds: ReadHolds,
    private readonly paused: () => void = () => {},
  ) {}

  /** Bytes of replies queued to `socket` and not yet written out. */
  bytes(socket: WebSocket): number {
    return this.loads.get(socket)?.bytes ?? 0;
  }

  /**
   * Adds to (or, negative, takes from) what `socket` has backed up, and holds or releases its
   * reading: `bytes` of replies, `calls` in flight and the `requestBytes` of their frames.
   */
  add(socket: WebSocket, change: { bytes?: number; calls?: number; requestBytes?: number }): void {
    const load = this.loads.get(socket) ?? { bytes: 0, calls: 0, requestBytes: 0 };
    this.loads.set(socket, load);
    load.bytes += change.bytes ?? 0;
    load.calls += change.calls ?? 0;
    load.requestBytes += change.requestBytes ?? 0;
    const { maxReplyBytes, maxCallsInFlight, maxRequestBytes } = this.limits;
    const backedUp = this.holds.held(socket, 'backlog');
    if (!backedUp && (load.bytes >= maxReplyBytes || load.calls >= maxCallsInFlight || load.requestBytes >= maxRequestBytes)) {
      this.holds.hold(socket, 'backlog');
      this.paused();
    } else if (backedUp && load.bytes < maxReplyBytes / 2 && load.calls < maxCallsInFlight / 2 && load.requestBytes < maxRequestBytes / 2) {
      this.holds.release(socket, 'backlog');
    }
  }
}
