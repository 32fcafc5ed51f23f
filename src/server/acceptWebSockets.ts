// The `ws` side of the compression settings, apart from wireCompression.ts so that the public
// declarations (startServer's options, the exported settings) import nothing from `ws`.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { PerMessageDeflateOptions } from './wireCompression.js';

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
 * when the settings cap the client's window (Firefox is reported to offer none); such a client is
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
