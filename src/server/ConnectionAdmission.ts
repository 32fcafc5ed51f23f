import type { WebSocket } from 'ws';
import { refusalOf } from './closeCodes.js';
import { closeWith } from './closeWith.js';
import type { HeldFrames } from './HeldFrames.js';
import type { ReadHolds } from './ReadHolds.js';
import type { AuthorizeConnection, Connection } from './ServerCore.js';

/** Options of {@link ConnectionAdmission}. */
export interface ConnectionAdmissionOptions {
  /** The connect-time check; without one every connection is admitted at once. */
  authorizeConnection?: AuthorizeConnection;
  /** Most ms the check may take: past it the socket is closed with 1013 and that is reported. */
  timeoutMs: number;
  /** The read holds: a socket is held (`'verdict'`) until its verdict. */
  holds: ReadHolds;
  /** Whether the connection's socket is still open: a verdict for a gone one closes nothing. */
  isOpen: (connection: Connection) => boolean;
  /** Told of each connection refused, or closed for want of a verdict or for sending too much before it. */
  refused: () => void;
  /** Receives odd verdicts, hook faults and timeouts. */
  onError: (error: unknown) => void;
}

/**
 * Admission of new connections: runs `authorizeConnection`, not reading the socket meanwhile, and
 * closes a refused one (never throwing: an odd verdict is reported, not a crash), one without a
 * verdict in time (1013), and one that sent more than a few frames before its verdict (1008).
 *
 * ## Example
 * ```ts
 * const admission = new ConnectionAdmission({ authorizeConnection, timeoutMs: 10_000, holds, isOpen, refused, onError });
 * const verdict = admission.admit(connection, socket); // true at once, or the verdict to come
 * socket.on('message', () => admission.limitEarlyFrames(socket, held)); // while not admitted
 * admission.close(); // on shutdown: no verdict timer keeps the process alive
 * ```
 */
export class ConnectionAdmission {
  /** Timers of the verdicts still awaited: `close` clears them. */
  private readonly timers = new Set<NodeJS.Timeout>();

  /** @param options the hook, its time limit, and where to report */
  constructor(private readonly options: ConnectionAdmissionOptions) {}

  /**
   * Runs the connect-time check: `true` at once when there is none, else the verdict to come
   * (`true` admitted, `false` closed). The socket is not read until then.
   *
   * @param connection the new connection, as the hook sees it
   * @param socket its socket
   * @return `true`, or a promise of whether the connection was admitted
   */
  admit(connection: Connection, socket: WebSocket): true | Promise<boolean> {
    const { authorizeConnection: hook, holds, timeoutMs, onError } = this.options;
    if (!hook) return true;
    holds.hold(socket, 'verdict');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<typeof NO_VERDICT>((resolve) => {
      timer = setTimeout(resolve, timeoutMs, NO_VERDICT);
      // A hook that never answers must not keep the process alive after close().
      timer.unref();
      this.timers.add(timer);
    });
    const refuse = (code: number, reason: string): false => {
      this.options.refused();
      closeWith(socket, code, reason);
      return false;
    };
    return Promise.race([Promise.resolve().then(() => hook(connection)), timedOut])
      .then(
        (verdict) => {
          if (verdict === true) {
            holds.release(socket, 'verdict');
            return true;
          }
          if (!this.options.isOpen(connection)) return false;
          if (verdict === NO_VERDICT) {
            onError(new Error(`authorizeConnection gave no verdict in ${timeoutMs} ms: the connection was closed with 1013`));
            return refuse(1013, 'Try again later');
          }
          const refusal = refusalOf(verdict);
          if (refusal.misconfigured) onError(new TypeError(`authorizeConnection answered ${describeVerdict(verdict)}: expected true, false or a close code (1008, 3000-4999); refused with 4401`));
          return refuse(refusal.code, refusal.reason);
        },
        (error: unknown) => {
          onError(error);
          return refuse(1011, 'Server error');
        },
      )
      .catch((error: unknown) => {
        // Nothing above should throw; if it does, the connection goes, not the process.
        onError(error);
        socket.terminate();
        return false;
      })
      .finally(() => {
        clearTimeout(timer);
        if (timer) this.timers.delete(timer);
      });
  }

  /**
   * Closes with 1008 a socket not yet admitted that holds more than `MAX_EARLY_FRAMES` frames or
   * `MAX_EARLY_BYTES` bytes, dropping them. Unread until its verdict, a socket has frames only if
   * `ws` had read them already: a few. A client sending more is not playing fair.
   *
   * @param socket the socket, not yet admitted
   * @param held the frames it sent so far
   */
  limitEarlyFrames(socket: WebSocket, held: HeldFrames): void {
    if (held.count <= MAX_EARLY_FRAMES && held.bytes <= MAX_EARLY_BYTES) return;
    held.clear();
    this.options.refused();
    closeWith(socket, 1008, 'Too much sent before admission');
  }

  /** Clears the timers of the verdicts still awaited (shutdown): they judge nothing any more. */
  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}

/** What an `authorizeConnection` that has not answered in time stands for. */
const NO_VERDICT = Symbol('no verdict');

/** Most frames held for a connection's verdict: the socket is paused, so only those `ws` had already read. */
export const MAX_EARLY_FRAMES = 100;
/** Most bytes of frames held for a connection's verdict (inflated): one TCP chunk's worth is far less. */
export const MAX_EARLY_BYTES = 1024 * 1024;

/** An odd verdict, named for the report without printing whatever object it is. */
function describeVerdict(verdict: unknown): string {
  return typeof verdict === 'number' || typeof verdict === 'string' ? JSON.stringify(verdict) : String(typeof verdict);
}
