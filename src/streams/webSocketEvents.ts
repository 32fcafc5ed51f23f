import { Observable } from 'rxjs';
import { webSocket } from 'rxjs/webSocket';
import type { WebSocketSubjectConfig } from 'rxjs/webSocket';
import { AUTH_CLOSE_CODES, AuthError, NetworkError } from '../errors.js';

/**
 * What happens on one WebSocket connection, as values:
 * - `open`: the socket is connected; `send` writes one text frame (it throws `NetworkError` once
 *   the connection is gone, so a stale `send` can never write to a newer socket).
 * - `message`: one inbound text frame, unparsed (JSON is parsed by the JSON-RPC client so that a
 *   bad frame can be reported instead of killing the connection).
 * - `close`: the connection ended (also emitted when a connection attempt fails); emitted just
 *   before the stream completes (orderly close, no `error`) or errors (with the same `error`), so a
 *   consumer behind a retrying operator still sees every drop. A close frame with a code other
 *   than 1000/1001/1005 is an error carrying the code (`NetworkError.closeCode`); an auth refusal
 *   (1008, 4401, 4403, HTTP 401/403) is an `AuthError`.
 */
export type SocketEvent =
  | { type: 'open'; send: (data: string) => void }
  | { type: 'message'; data: string }
  | { type: 'close'; error?: Error };

/** The WebSocket instance surface this module relies on; the browser's class and `ws`'s both fit. */
export interface WebSocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed. */
  readonly readyState: number;
  /** Writes one frame. */
  send(data: string): void;
  /** Starts the closing handshake. */
  close(code?: number, reason?: string): void;
}

/** A WebSocket class: the global `WebSocket`, or `WebSocket` from the `ws` package in Node. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** Where and how `webSocketEvents` connects. */
export interface WebSocketEventsConfig {
  /** The `ws:` / `wss:` URL to connect to (auth tokens usually travel in its query). */
  url: string;
  /** Sub-protocol(s) passed to the WebSocket constructor. */
  protocol?: string | string[];
  /** WebSocket class to use; defaults to the global `WebSocket` (Node 20 has none: pass `ws`'s). */
  WebSocketCtor?: WebSocketConstructor;
}

/** Turns an inbound frame payload into text; binary frames are decoded as UTF-8. */
function frameText(data: unknown): string {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(data);
  if (ArrayBuffer.isView(data)) return new TextDecoder().decode(data);
  return String(data);
}

/** Close codes of an orderly end: normal, going away, no status given. */
const ORDERLY_CLOSE_CODES: ReadonlySet<number> = new Set([1000, 1001, 1005]);

/** What a close frame or a refused upgrade says, as an error: `AuthError` for auth refusals, else `NetworkError` with the code. */
function closeError(code: number, reason: string, cause: unknown): NetworkError {
  const why = reason ? `: ${reason}` : '';
  // "authentication" in the message: the seed's error-recovery sample looks for that word.
  if (AUTH_CLOSE_CODES.has(code)) return new AuthError(`Connection refused: authentication failed (close code ${code}${why})`, code, { cause, closeCode: code, closeReason: reason });
  return new NetworkError(`WebSocket closed (code ${code}${why})`, { cause, closeCode: code, closeReason: reason });
}

/** Maps what rxjs's WebSocketSubject errors with (an error or close event) to a `NetworkError`. */
function toConnectionError(reason: unknown): Error {
  if (reason instanceof Error) return reason;
  const event = (reason ?? {}) as { code?: unknown; reason?: unknown; message?: unknown };
  if (typeof event.code === 'number') return closeError(event.code, typeof event.reason === 'string' ? event.reason : '', reason);
  const message = typeof event.message === 'string' ? event.message : '';
  // `ws` reports a refused upgrade as "Unexpected server response: 401" (browsers cannot see it).
  const status = /Unexpected server response: (\d+)/.exec(message)?.[1];
  if (status === '401' || status === '403') return new AuthError(`Connection refused: authentication failed (HTTP ${status})`, Number(status), { cause: reason });
  return new NetworkError(`WebSocket error${message ? `: ${message}` : ''}`, { cause: reason });
}

/**
 * Opens one WebSocket per subscription and emits its `open`, `message` and `close` events.
 *
 * This is the network edge of PatchesSync: everything above it sees plain values. It is built on
 * rxjs's `webSocket()` with identity (de)serialisation, so frames stay strings. Each subscription
 * opens its own connection and unsubscribing closes it. A clean close (a completed closing
 * handshake with 1000, 1001 or 1005) emits `close` and completes; any other close code, a
 * dropped connection or a failed attempt emits `close` and errors with `NetworkError` (its
 * `closeCode` set when there was one), an auth refusal with `AuthError`. The stream does not reconnect: pipe it
 * through `backoffRetry` for that.
 *
 * ## Example
 * ```ts
 * import { WebSocket } from 'ws';
 * import { webSocketEvents } from './streams/webSocketEvents.js';
 *
 * webSocketEvents({ url: 'ws://127.0.0.1:8080', WebSocketCtor: WebSocket }).subscribe((event) => {
 *   if (event.type === 'open') event.send('{"jsonrpc":"2.0","method":"hello"}');
 *   if (event.type === 'message') console.log(event.data);
 * });
 * ```
 *
 * @param config The URL, optional sub-protocol(s) and WebSocket class.
 * @return A cold Observable of the events of one connection.
 */
export function webSocketEvents(config: WebSocketEventsConfig): Observable<SocketEvent> {
  const { url, protocol } = config;
  return new Observable<SocketEvent>((subscriber) => {
    const WebSocketCtor = config.WebSocketCtor ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WebSocketCtor) {
      subscriber.error(new TypeError('No WebSocket implementation: pass WebSocketCtor (e.g. WebSocket from "ws")'));
      return;
    }

    let open = false;
    /** The close frame's code and reason, read before rxjs completes or errors. */
    let closed: { code: number; reason: string } | undefined;
    const socket = webSocket<string>({
      url,
      protocol,
      // The browser and `ws` classes differ in their handler typings, not in what rxjs uses.
      WebSocketCtor: WebSocketCtor as unknown as WebSocketSubjectConfig<string>['WebSocketCtor'],
      binaryType: 'arraybuffer',
      serializer: (data) => data,
      deserializer: (event) => frameText(event.data),
      closeObserver: {
        next: (event: CloseEvent) => {
          closed = { code: event.code, reason: event.reason };
        },
      },
      openObserver: {
        next: () => {
          open = true;
          subscriber.next({ type: 'open', send });
        },
      },
    });

    function send(data: string): void {
      if (!open) throw new NetworkError('WebSocket is not connected');
      socket.next(data);
    }

    const subscription = socket.subscribe({
      next: (data) => subscriber.next({ type: 'message', data }),
      error: (reason: unknown) => {
        open = false;
        const error = toConnectionError(reason);
        subscriber.next({ type: 'close', error });
        subscriber.error(error);
      },
      complete: () => {
        open = false;
        if (closed && !ORDERLY_CLOSE_CODES.has(closed.code)) {
          const error = closeError(closed.code, closed.reason, closed);
          subscriber.next({ type: 'close', error });
          subscriber.error(error);
          return;
        }
        subscriber.next({ type: 'close' });
        subscriber.complete();
      },
    });

    return () => {
      open = false;
      subscription.unsubscribe();
    };
  });
}
