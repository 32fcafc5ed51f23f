import {
  BehaviorSubject,
  EMPTY,
  concat,
  combineLatest,
  distinctUntilChanged,
  filter,
  first,
  map,
  of,
  share,
  switchMap,
  firstValueFrom,
  type Observable,
  type SchedulerLike,
} from 'rxjs';
import { NetworkError } from '../errors.js';
import { backoffRetry } from '../operators/backoffRetry.js';
import { createJsonRpcClient, type JsonRpcClient, type JsonRpcNotification } from '../streams/jsonRpcClient.js';
import { webSocketEvents, type SocketEvent, type WebSocketConstructor } from '../streams/webSocketEvents.js';
import { resolveWebSocketCtor } from '../streams/webSocketCtor.js';

/** WebSocket options of PatchesSync. */
export interface WebSocketOptions {
  /** Sub-protocol(s) sent with the upgrade (servers often read an auth token from it). */
  protocol?: string | string[];
  /** WebSocket constructor (default: the global one, else the `ws` package in Node). */
  WebSocketCtor?: WebSocketConstructor;
}

/** Options of a `PatchesConnection`. */
export interface PatchesConnectionOptions {
  websocket?: WebSocketOptions;
  /** Online/offline signal: offline closes the socket, online reconnects at once. */
  online$: Observable<boolean>;
  scheduler?: SchedulerLike;
  random?: () => number;
  /** First reconnect delay in ms (default 1000). */
  reconnectDelay?: number;
  /** Reconnect delay cap in ms (default 30 000). */
  maxReconnectDelay?: number;
  /** Per-call RPC timeout in ms (default 30 000). */
  rpcTimeout?: number;
}

/**
 * One reconnecting JSON-RPC connection: while wanted (`connect()`) and online it keeps a socket
 * open, reconnecting with backoff (1 s, ×1.5, up to 30 s, jittered, reset on open); request ids
 * keep counting across reconnects; in-flight calls fail with `NetworkError` when it drops.
 *
 * @example
 * const connection = new PatchesConnection('ws://127.0.0.1:8787', { online$: of(true) });
 * await connection.connect();
 * const ids = await firstValueFrom(connection.call<string[]>('subscribe', [['doc-1']]));
 */
export class PatchesConnection {
  private readonly wanted = new BehaviorSubject(false);
  private readonly urlSubject: BehaviorSubject<string>;
  private readonly events$: Observable<SocketEvent>;
  private readonly rpc: JsonRpcClient;

  /** True while a socket is open. */
  readonly connected$: Observable<boolean>;
  /** Notifications pushed by the server. */
  readonly notifications$: Observable<JsonRpcNotification>;

  constructor(url: string, private readonly options: PatchesConnectionOptions) {
    this.urlSubject = new BehaviorSubject(url);
    this.events$ = combineLatest([this.wanted, options.online$, this.urlSubject]).pipe(
      // Saying "online" or connect() twice must not replace a working socket.
      distinctUntilChanged((a, b) => a[0] === b[0] && a[1] === b[1] && a[2] === b[2]),
      // Every switch (url changed, offline, disconnect) ends the current connection for the RPC client first.
      switchMap(([wanted, online, target]) => concat(of<SocketEvent>({ type: 'close' }), wanted && online ? this.attempts$(target) : EMPTY)),
      share(),
    );
    this.rpc = createJsonRpcClient(this.events$, { timeout: options.rpcTimeout, scheduler: options.scheduler });
    this.connected$ = this.rpc.connected$;
    this.notifications$ = this.rpc.notifications$;
  }

  /** The server URL; changing it reconnects to the new one. */
  get url(): string {
    return this.urlSubject.value;
  }

  set url(url: string) {
    this.urlSubject.next(url);
  }

  /** Calls a method; emits the result once. Fails with `NetworkError` when not connected. */
  call<R>(method: string, params: unknown[] = []): Observable<R> {
    return this.rpc.call<R>(method, params);
  }

  /** Wants a connection from now on; resolves on the next open, rejects if that attempt fails. */
  connect(): Promise<void> {
    const outcome = firstValueFrom(
      this.events$.pipe(
        filter(e => e.type === 'open' || (e.type === 'close' && e.error !== undefined)),
        first(),
        map(e => {
          if (e.type === 'close') throw e.error instanceof Error ? e.error : new NetworkError('Connection failed');
        }),
      ),
    );
    this.wanted.next(true);
    return outcome;
  }

  /** Stops wanting a connection: closes the socket and cancels reconnects. */
  disconnect(): void {
    this.wanted.next(false);
  }

  /** Closes for good. */
  destroy(): void {
    this.disconnect();
    this.rpc.close();
  }

  /** Connection attempts to one URL (each ends with a 'close' event), retried with backoff. */
  private attempts$(url: string): Observable<SocketEvent> {
    const { websocket, scheduler, random, reconnectDelay, maxReconnectDelay } = this.options;
    return resolveWebSocketCtor(websocket?.WebSocketCtor).pipe(
      switchMap(WebSocketCtor => webSocketEvents({ url, protocol: websocket?.protocol, WebSocketCtor })),
      backoffRetry<SocketEvent>({
        initialDelay: reconnectDelay ?? 1000,
        maxDelay: maxReconnectDelay ?? 30_000,
        resetOn: e => e.type === 'open',
        scheduler,
        random,
      }),
    );
  }
}
