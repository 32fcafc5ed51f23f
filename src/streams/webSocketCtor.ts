import { catchError, defer, from, map, of, throwError } from 'rxjs';
import type { Observable } from 'rxjs';
import type { WebSocketConstructor } from './webSocketEvents.js';

/** The `ws` class as its constructor takes options (a third argument no browser class has). */
type WsClass = new (url: string, protocols: string | string[] | undefined, options: { maxPayload: number }) => object;

/** The `ws` class made to accept messages of any size, once per class loaded. */
const unlimited = new WeakMap<WsClass, WebSocketConstructor>();

/**
 * The longest string V8 makes (Node's `buffer.constants.MAX_STRING_LENGTH` on 64-bit, written
 * out so that browser bundles need no Node module): a text frame is handed on as a string, and
 * `ws` turning a longer one into a string would throw inside its receiver, not close the socket.
 * A UTF-8 payload of this many bytes never decodes to more characters.
 */
const MAX_STRING_LENGTH = 0x1fffffe8;

/**
 * `ws` with its cap on a message's size lifted to what a string can hold, as in a browser: its
 * default, 100 MiB, closed the socket (1009) on any larger reply, so a client away from a busy
 * doc whose catch-up (`getChangesSince`, or a commit's reply) was past it reconnected and asked
 * again for good.
 */
function withoutSizeCap(ws: WsClass): WebSocketConstructor {
  let ctor = unlimited.get(ws);
  if (!ctor) {
    ctor = class extends ws {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { maxPayload: MAX_STRING_LENGTH });
      }
    } as unknown as WebSocketConstructor;
    unlimited.set(ws, ctor);
  }
  return ctor;
}

/** True under Node (and runtimes that pass for it), where the `ws` package can be loaded. */
function runsInNode(): boolean {
  return typeof (globalThis as { process?: { versions?: { node?: unknown } } }).process?.versions?.node === 'string';
}

/**
 * Finds the WebSocket class to connect with: the given one; else, in Node, the `ws` package
 * (loaded lazily, so browser bundles never need it; taking messages as large as a string can
 * be, as a browser does), the global `WebSocket` only if `ws` cannot be loaded; else (browsers) the global
 * `WebSocket`.
 *
 * Node 20 has no global `WebSocket`; Node 22's (undici's) offers `permessage-deflate` but only
 * decompresses, so every request would go out uncompressed. `ws` compresses what it sends, which
 * is about half of the bytes of a typed change (see `src/server/wireCompression.ts`). Browsers
 * negotiate compression themselves. The lookup runs on subscription, once per connection attempt.
 *
 * ## Example
 * ```ts
 * import { switchMap } from 'rxjs';
 * import { resolveWebSocketCtor } from './streams/webSocketCtor.js';
 * import { webSocketEvents } from './streams/webSocketEvents.js';
 *
 * const events$ = resolveWebSocketCtor().pipe(
 *   switchMap((WebSocketCtor) => webSocketEvents({ url: 'ws://127.0.0.1:8080', WebSocketCtor })),
 * );
 * ```
 *
 * @param preferred A class chosen by the caller; returned as is when given.
 * @param inNode Whether this runs in Node (default: detected); specs pass `false` to play a browser.
 * @return An Observable that emits the class once and completes (errors if there is none).
 */
export function resolveWebSocketCtor(preferred?: WebSocketConstructor, inNode: boolean = runsInNode()): Observable<WebSocketConstructor> {
  return defer(() => {
    if (preferred) return of(preferred);
    const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!inNode && global) return of(global);
    return from(import('ws')).pipe(
      map((module) => withoutSizeCap((module.WebSocket ?? module.default) as unknown as WsClass)),
      catchError((error: unknown) => (global ? of(global) : throwError(() => error))),
    );
  });
}
