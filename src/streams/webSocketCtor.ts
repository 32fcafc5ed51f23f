import { defer, from, map, of } from 'rxjs';
import type { Observable } from 'rxjs';
import type { WebSocketConstructor } from './webSocketEvents.js';

/**
 * Finds the WebSocket class to connect with: the given one, else the global `WebSocket`, else
 * the `ws` package (loaded lazily, so browser bundles never need it).
 *
 * Node 20 has no global `WebSocket`; this lets PatchesSync connect there without the caller
 * passing `ws` by hand. The lookup runs on subscription, once per connection attempt.
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
 * @return An Observable that emits the class once and completes (errors if `ws` cannot be loaded).
 */
export function resolveWebSocketCtor(preferred?: WebSocketConstructor): Observable<WebSocketConstructor> {
  return defer(() => {
    if (preferred) return of(preferred);
    const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (global) return of(global);
    return from(import('ws')).pipe(
      map((module) => (module.WebSocket ?? module.default) as unknown as WebSocketConstructor),
    );
  });
}
