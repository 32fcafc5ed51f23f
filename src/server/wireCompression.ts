import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { PerMessageDeflateOptions, WebSocket } from 'ws';

/**
 * The reference server's `permessage-deflate` settings (RFC 7692), negotiated with every client
 * that offers it (browsers and `ws` in Node do; others get plain frames, nothing else changes).
 *
 * Every frame is compressed, each side keeping its window between messages (context takeover):
 * a typed change is one small request, reply and broadcast, which compress well only against the
 * frames before them. Measured on loopback (`node bench/compression.js`, `bench/sync.js`):
 * paced changes ~0.16–0.18× of the bytes of bench/baseline.json (1 KB threshold, no takeover:
 * ~0.83×). The windows are small (4 KB; 1 KB windows cost large frames, 512 B leave zlib too
 * little to match, ~0.56×) and so is `memLevel`: a connection keeps its contexts until it
 * closes, ~41 KB of zlib memory (the 1 KB threshold's setting kept ~200 KB, reset but never
 * freed, once a connection had a large frame). `ws` creates them on a connection's first
 * compressed frame, so a connection that never exchanged a message costs nothing more.
 * Output chunks of 1 KB instead of zlib's 16 KB each save ~30 KB per connection.
 */
export const SERVER_PER_MESSAGE_DEFLATE: PerMessageDeflateOptions = {
  serverMaxWindowBits: 12,
  // Asked only of clients that offer `client_max_window_bits` (see acceptWebSockets).
  clientMaxWindowBits: 12,
  zlibDeflateOptions: { level: 6, memLevel: 4, chunkSize: 1024 },
  zlibInflateOptions: { chunkSize: 1024 },
  // At most this many compressions run at once in zlib's thread pool (ws's default).
  concurrencyLimit: 10,
};

/**
 * Whether a `Sec-WebSocket-Extensions` request header offers `permessage-deflate` with
 * `client_max_window_bits`, i.e. lets the server cap the window the client compresses with.
 *
 * @param header the request's header (a string, or several joined), or `undefined`
 * @return true when some permessage-deflate offer carries the parameter
 */
export function offersClientWindowBits(header: string | undefined): boolean {
  return (header ?? '').split(',').some((offer) => {
    const [name, ...params] = offer.split(';').map((part) => part.trim().toLowerCase());
    return name === 'permessage-deflate' && params.some((param) => param.split('=')[0]?.trim() === 'client_max_window_bits');
  });
}

/** The WebSocket side of an HTTP server, as `acceptWebSockets` sets it up. */
export interface WebSocketAcceptor {
  /** Stops accepting upgrades (open sockets are closed by their owner). */
  close(): void;
}

/**
 * Accepts WebSocket upgrades on `http` with `permessage-deflate` as `compression` says.
 *
 * `ws` refuses the whole handshake (400) of a client that offers no `client_max_window_bits`
 * when the settings cap the client's window, and Firefox offers none; such a client is
 * answered by a second `ws` server with the same settings minus that cap (its window stays
 * zlib's 32 KB).
 *
 * @param http the HTTP server whose upgrades to accept
 * @param options `maxPayload` as `ws` takes it, and the compression settings (`false`: none)
 * @param onConnection called with each open socket and its upgrade request
 * @return what stops accepting
 */
export function acceptWebSockets(
  http: Server,
  options: { maxPayload: number; compression: PerMessageDeflateOptions | false },
  onConnection: (socket: WebSocket, request: IncomingMessage) => void,
): WebSocketAcceptor {
  const { maxPayload, compression } = options;
  const capped = new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate: compression });
  const uncapped =
    compression && typeof compression.clientMaxWindowBits === 'number'
      ? new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate: { ...compression, clientMaxWindowBits: undefined } })
      : capped;
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const server = offersClientWindowBits(request.headers['sec-websocket-extensions']) ? capped : uncapped;
    server.handleUpgrade(request, socket, head, (webSocket) => onConnection(webSocket, request));
  };
  http.on('upgrade', onUpgrade);
  return {
    close() {
      http.off('upgrade', onUpgrade);
      capped.close();
      uncapped.close();
    },
  };
}
