import type { WebSocket } from 'ws';

/** Why the server stopped reading a socket. */
export type HoldReason = 'verdict' | 'backlog';

/**
 * The reasons the server stops reading sockets, each held and released on its own: a socket is
 * paused while it has any (its frames wait in TCP buffers, and the client's own writes slow
 * down), and resumed when the last is released.
 *
 * ## Example
 * ```ts
 * const holds = new ReadHolds();
 * holds.hold(socket, 'verdict'); // socket.pause()
 * holds.hold(socket, 'backlog');
 * holds.release(socket, 'verdict'); // still paused: the backlog holds it
 * holds.release(socket, 'backlog'); // socket.resume()
 * ```
 */
export class ReadHolds {
  private readonly reasons = new WeakMap<WebSocket, Set<HoldReason>>();

  /** @param released told when a socket is read again (its frames that waited can be handled) */
  constructor(private readonly released: (socket: WebSocket) => void = () => {}) {}

  /** Stops reading `socket` for `reason` (again: no effect). */
  hold(socket: WebSocket, reason: HoldReason): void {
    const reasons = this.reasons.get(socket) ?? new Set<HoldReason>();
    this.reasons.set(socket, reasons);
    reasons.add(reason);
    if (reasons.size === 1) socket.pause();
  }

  /** Lets go of `reason`; `socket` is read again once nothing holds it. */
  release(socket: WebSocket, reason: HoldReason): void {
    const reasons = this.reasons.get(socket);
    if (!reasons?.delete(reason) || reasons.size > 0) return;
    socket.resume();
    this.released(socket);
  }

  /** Whether `socket` is held for `reason`, or for anything when no reason is given. */
  held(socket: WebSocket, reason?: HoldReason): boolean {
    const reasons = this.reasons.get(socket);
    return reason === undefined ? (reasons?.size ?? 0) > 0 : (reasons?.has(reason) ?? false);
  }
}
