import type { WebSocket } from 'ws';

/** Ms a closing socket has to finish the close handshake before it is cut. */
export const CLOSE_GRACE_MS = 2000;

/**
 * Closes `socket` with `code`, never throwing (a code `ws` refuses terminates it instead), and
 * reads it again: a socket paused by the server would otherwise never read the peer's closing
 * frame. A peer that does not answer within `CLOSE_GRACE_MS` is cut: one that sent a flood of
 * frames before its close would otherwise have the server read (and inflate) all of them first,
 * and a dead one would hold the socket for `ws`'s 30 s.
 *
 * @param socket the socket to close
 * @param code the close code
 * @param reason the close reason (at most 123 bytes)
 */
export function closeWith(socket: WebSocket, code: number, reason: string): void {
  try {
    socket.close(code, reason);
  } catch {
    socket.terminate();
    return;
  }
  socket.resume();
  const timer = setTimeout(() => socket.terminate(), CLOSE_GRACE_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}
