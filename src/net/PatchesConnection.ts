import {
  BehaviorSubject,
  EMPTY,
  Observable,
  Subject,
  catchError,
  concat,
  combineLatest,
  defer,
  distinctUntilChanged,
  filter,
  first,
  from,
  map,
  merge,
  of,
  share,
  skip,
  startWith,
  switchMap,
  tap,
  throwError,
  firstValueFrom,
  type SchedulerLike,
} from 'rxjs';
import { AuthError, NetworkError, TimeoutError } from '../errors.js';
import { backoffRetry } from '../operators/backoffRetry.js';
import { liveness } from '../operators/liveness.js';
import { createJsonRpcClient, type JsonRpcClient, type JsonRpcNotification } from '../streams/jsonRpcClient.js';
import { webSocketEvents, type SocketEvent, type WebSocketConstructor } from '../streams/webSocketEvents.js';
import { resolveWebSocketCtor } from '../streams/webSocketCtor.js';
import type { ServerCapabilities } from '../types.js';
import { CAPABILITIES_METHOD, readCapabilities } from './serverCapabilities.js';

/** WebSocket options of PatchesSync. */
export interface WebSocketOptions {
  /** Sub-protocol(s) sent with the upgrade (servers often read an auth token from it). */
  protocol?: string | string[] | undefined;
  /**
   * Called before every connection attempt; its result is sent as the sub-protocol(s) instead of
   * `protocol` (so a fresh token goes with each attempt). After an `AuthError`, renew the
   * credentials it reads and call `connect()` again.
   */
  tokenProvider?: (() => Promise<string | string[] | undefined> | string | string[] | undefined) | undefined;
  /** WebSocket constructor (default: the global one, else the `ws` package in Node). */
  WebSocketCtor?: WebSocketConstructor | undefined;
}

/**
 * Dead-connection detection (see `liveness`): a busy socket (a call awaiting its reply) silent
 * for `busySilence` ms, or an idle one silent for `idleSilence` ms, is probed; no frame within
 * `probeTimeout` closes it and reconnects. Defaults: 5 000 / 35 000 / 5 000 (dead within 10 s
 * busy, 40 s idle), and 10 000 for `connectTimeout`. A socket judged dead while busy doubles
 * `busySilence` and `probeTimeout` for the next one, up to `maxPatience` (default 8: 80 s), so
 * a frame that takes longer than 10 s to cross a slow link gets through on a later attempt.
 */
export interface LivenessOptions {
  /** Silence in ms before a busy socket is probed (default 5000). */
  busySilence?: number | undefined;
  /** Silence in ms before an idle socket is probed (default 35 000). */
  idleSilence?: number | undefined;
  /** Ms a probe waits for any frame before the socket is judged dead (default 5000). */
  probeTimeout?: number | undefined;
  /** Ms an attempt may take to open (default 10 000). */
  connectTimeout?: number | undefined;
  /** Largest factor the busy thresholds grow to after sockets judged dead while busy (default 8; 1 keeps them fixed). */
  maxPatience?: number | undefined;
}

/** Options of a `PatchesConnection`. */
export interface PatchesConnectionOptions {
  websocket?: WebSocketOptions | undefined;
  /** Online/offline signal: offline closes the socket, online reconnects at once. */
  online$: Observable<boolean>;
  /** Page-lifecycle wake-ups (see `wakeups$`): probe an open socket now, or reconnect now instead of waiting for the backoff. */
  wake$?: Observable<unknown> | undefined;
  /** Dead-connection detection thresholds, or `false` to turn it off. */
  liveness?: LivenessOptions | false | undefined;
  scheduler?: SchedulerLike | undefined;
  random?: (() => number) | undefined;
  /** First reconnect delay in ms (default 1000). */
  reconnectDelay?: number | undefined;
  /** Reconnect delay cap in ms (default 30 000). */
  maxReconnectDelay?: number | undefined;
  /** Per-call RPC timeout in ms (default 30 000). */
  rpcTimeout?: number | undefined;
}

/** The rejections of `connect()` calls a `disconnect()` or `destroy()` called off: plain `NetworkError`s, known by identity. */
const calledOff = new WeakSet<Error>();

/**
 * Whether `error` is how `PatchesConnection.connect()` rejects when a `disconnect()` or
 * `destroy()` called it off: the caller's doing, not a failure, whatever was wanted since.
 *
 * @example
 * const opened = connection.connect();
 * connection.disconnect();
 * await opened.catch(error => isCalledOff(error)); // true
 */
export function isCalledOff(error: unknown): boolean {
  return error instanceof Error && calledOff.has(error);
}

/**
 * The sub-protocol(s) of one attempt: the token provider's answer, else `protocol`. Synchronous
 * unless the provider returns a promise, so an attempt without one starts in the same turn: a
 * `TestScheduler` (the `scheduler` option) then drives attempts and their backoff in virtual time.
 */
function credentials(websocket: WebSocketOptions | undefined): Observable<string | string[] | undefined> {
  const protocol = websocket?.tokenProvider ? websocket.tokenProvider() : websocket?.protocol;
  return isPromiseLike(protocol) ? from(protocol) : of(protocol);
}

/** Whether a value is a promise (a thenable) rather than the value itself. */
function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/**
 * One reconnecting JSON-RPC connection: while wanted (`connect()`) and online it keeps a socket
 * open, reconnecting with backoff (1 s, ×1.5, up to 30 s, jittered, reset on open); request ids
 * keep counting across reconnects; in-flight calls fail with `NetworkError` when it drops. A
 * socket that goes silent is probed and closed (`liveness`); a call that times out and a page
 * wake-up probe at once. An auth refusal (`AuthError`) stops reconnecting until `connect()`.
 *
 * @example
 * const connection = new PatchesConnection('ws://127.0.0.1:8787', { online$: of(true) });
 * await connection.connect();
 * const ids = await firstValueFrom(connection.call<string[]>('subscribe', [['doc-1']]));
 */
export class PatchesConnection {
  /** 0 while not wanted; each `connect()` that (re)starts the attempts takes a new number. */
  private readonly wanted = new BehaviorSubject(0);
  private readonly urlSubject: BehaviorSubject<string>;
  private readonly events$: Observable<SocketEvent>;
  private readonly rpc: JsonRpcClient;
  private readonly checks = new Subject<void>();
  private readonly authErrors = new Subject<AuthError>();
  /** Set by an auth refusal: the attempts stopped and only `connect()` restarts them. */
  private halted = false;
  /** `destroy()` was called: nothing connects any more. */
  private destroyed = false;
  /** What the current connection's server said it accepts (nothing until `handshake$` hears it). */
  private serverCapabilities: ServerCapabilities = {};

  /** True while a socket is open. */
  readonly connected$: Observable<boolean>;
  /** Notifications pushed by the server. */
  readonly notifications$: Observable<JsonRpcNotification>;
  /** Auth refusals, once each: reconnecting has stopped until `connect()` is called again. */
  readonly authError$: Observable<AuthError> = this.authErrors.asObservable();

  constructor(url: string, private readonly options: PatchesConnectionOptions) {
    this.urlSubject = new BehaviorSubject(url);
    this.events$ = combineLatest([this.wanted, options.online$, this.urlSubject]).pipe(
      // Saying "online" or connect() twice must not replace a working socket.
      distinctUntilChanged((a, b) => a[0] === b[0] && a[1] === b[1] && a[2] === b[2]),
      // Every switch (url changed, offline, disconnect) ends the current connection for the RPC client first.
      // After an auth refusal, only connect() (a new `wanted`) may try again: not an online flip, not a new URL.
      switchMap(([wanted, online, target]) => concat(of<SocketEvent>({ type: 'close' }), wanted > 0 && online && !this.halted ? this.attempts$(target) : EMPTY)),
      share(),
    );
    this.rpc = createJsonRpcClient(this.events$, { timeout: options.rpcTimeout, scheduler: options.scheduler });
    // Subscribed before anyone else: a new or lost connection forgets the old server's word first.
    this.rpc.connected$.subscribe(() => (this.serverCapabilities = {}));
    this.connected$ = this.rpc.connected$;
    this.notifications$ = this.rpc.notifications$;
  }

  /** What the current connection's server accepts beyond the anchor's protocol, once `handshake$` heard it. */
  get capabilities(): ServerCapabilities {
    return this.serverCapabilities;
  }

  /**
   * Asks the server of the current connection what it accepts (`getCapabilities`) and, if it
   * takes batch arrays, lets the RPC client send them. Any failure (the reference server answers
   * -32000 "Unknown method") means none: one request per frame, as the anchor speaks. Emits the
   * capabilities once; never errors.
   */
  handshake$(): Observable<ServerCapabilities> {
    return this.rpc.call<unknown>(CAPABILITIES_METHOD).pipe(
      map(readCapabilities),
      catchError(() => of<ServerCapabilities>({})),
      tap(capabilities => {
        this.serverCapabilities = capabilities;
        if (capabilities.batch) this.rpc.acceptBatches(capabilities.batch.maxLength);
      }),
    );
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
    return this.rpc.call<R>(method, params).pipe(
      // No reply in time on an "open" socket: it may be dead, so check it now.
      tap({ error: error => error instanceof TimeoutError && this.checks.next() }),
    );
  }

  /**
   * Wants a connection from now on; resolves once a socket is open (at once if one is), rejects
   * if the next attempt fails, or with a `NetworkError` if `disconnect()` or `destroy()` comes
   * first (so nothing waits, nor keeps the socket's sources subscribed, for an open that will not
   * come; `PatchesSync` does not report that rejection). Restarts the attempts after an auth refusal.
   */
  connect(): Promise<void> {
    return firstValueFrom(this.connect$());
  }

  /**
   * `connect()` as an observable: wants a connection when subscribed, then emits once and
   * completes as `connect()` resolves, or errors as it rejects. Unsubscribing ends the wait, not
   * the wanting: a tab that follows another's connection has no socket of its own to wait for.
   */
  connect$(): Observable<void> {
    return new Observable<void>(subscriber => {
      // Nothing opens after destroy(): say so at once (it made one attempt, and PatchesSync's connect() never settled).
      if (this.destroyed) {
        const error = new NetworkError('connect() after destroy(): this connection is closed for good; make a new one');
        calledOff.add(error);
        subscriber.error(error);
        return undefined;
      }
      // Already open: waiting for the next open kept every connect() of a connected tab pending until a reconnect.
      const outcome = (this.rpc.connected ? of(undefined) : this.nextOpen$()).subscribe(subscriber);
      if (this.halted || this.wanted.value === 0) {
        this.halted = false;
        this.wanted.next(this.wanted.value + 1);
      }
      return outcome;
    });
  }

  /** Whether a connection is wanted now (`connect()` called, and no `disconnect()` since). */
  get isWanted(): boolean {
    return this.wanted.value > 0;
  }

  /** Stops wanting a connection: closes the socket and cancels reconnects. */
  disconnect(): void {
    this.halted = false;
    if (this.wanted.value !== 0) this.wanted.next(0);
  }

  /** Closes for good: a later `connect()` rejects at once with a `NetworkError` (`isCalledOff`). */
  destroy(): void {
    this.destroyed = true;
    this.disconnect();
    this.rpc.close();
    this.checks.complete();
    this.authErrors.complete();
  }

  /** The next open, or the failure of the attempt before it, or a disconnect (an error `isCalledOff` knows). */
  private nextOpen$(): Observable<void> {
    return merge(
      this.events$.pipe(filter(e => e.type === 'open' || (e.type === 'close' && e.error !== undefined))),
      // Not the current value: only a disconnect from here on.
      this.wanted.pipe(
        skip(1),
        filter(wanted => wanted === 0),
        map((): SocketEvent => {
          const error = new NetworkError('Disconnected before the connection opened');
          calledOff.add(error);
          return { type: 'close', error };
        }),
      ),
    ).pipe(
      first(),
      map(e => {
        if (e.type === 'close') throw e.error instanceof Error ? e.error : new NetworkError('Connection failed');
      }),
    );
  }

  /** Connection attempts to one URL (each ends with a 'close' event), retried with backoff; a wake-up while closed retries at once. */
  private attempts$(url: string): Observable<SocketEvent> {
    const { scheduler, random, reconnectDelay, maxReconnectDelay, wake$ = EMPTY } = this.options;
    const retried$ = this.socket$(url).pipe(
      backoffRetry<SocketEvent>({
        initialDelay: reconnectDelay ?? 1000,
        maxDelay: maxReconnectDelay ?? 30_000,
        resetOn: e => e.type === 'open',
        // Reconnecting with credentials the server refused would only be refused again.
        retryIf: error => !(error instanceof AuthError),
        scheduler,
        random,
      }),
    );
    return wake$.pipe(
      filter(() => !this.rpc.connected),
      startWith(null),
      switchMap(() => retried$),
      catchError(error => {
        if (!(error instanceof AuthError)) return throwError(() => error);
        this.halted = true;
        this.authErrors.next(error);
        return EMPTY;
      }),
    );
  }

  /** One socket: credentials from the token provider, then its events, watched for silence. */
  private socket$(url: string): Observable<SocketEvent> {
    const { websocket, liveness: thresholds, scheduler, wake$ = EMPTY } = this.options;
    const socket$ = resolveWebSocketCtor(websocket?.WebSocketCtor).pipe(
      switchMap(WebSocketCtor =>
        defer(() => credentials(websocket)).pipe(
          map(protocol => ({ protocol })),
          // A token provider that throws or rejects fails this attempt as a refused socket would:
          // a close event with the error (what connect() settles on), then the error (retried
          // with backoff, or an AuthError that stops the attempts).
          catchError((error: unknown) => of({ failed: error instanceof AuthError ? error : new NetworkError('The token provider failed', { cause: error }) })),
          switchMap(token => ('failed' in token ? concat(of<SocketEvent>({ type: 'close', error: token.failed }), throwError(() => token.failed)) : webSocketEvents({ url, protocol: token.protocol, WebSocketCtor }))),
        ),
      ),
    );
    if (thresholds === false) return socket$;
    return socket$.pipe(
      liveness({
        ...thresholds,
        maxPatience: thresholds?.maxPatience ?? 8,
        busy$: defer(() => this.rpc.busy$),
        check$: merge(this.checks, wake$),
        scheduler,
      }),
    );
  }
}
