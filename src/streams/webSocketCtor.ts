import { catchError, defer, from, map, of, throwError } from 'rxjs';
import type { Observable } from 'rxjs';
import type { WebSocketConstructor } from './webSocketEvents.js';

/** True under Node (and runtimes that pass for it), where the `ws` package can be loaded. */
function runsInNode(): boolean {
  return typeof (globalThis as { process?: { versions?: { node?: unknown } } }).process?.versions?.node === 'string';
}

/**
 * Finds the WebSocket class to connect with: the given one; else, in Node, the `ws` package
 * (loaded lazily, so browser bundles never need it), the global `WebSocket` only if `ws` cannot
 * be loaded; else (browsers) the global `WebSocket`.
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
      map((module) => (module.WebSocket ?? module.default) as unknown as WebSocketConstructor),
      catchError((error: unknown) => (global ? of(global) : throwError(() => error))),
    );
  });
}
