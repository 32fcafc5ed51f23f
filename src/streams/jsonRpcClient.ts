import {
  asyncScheduler,
  BehaviorSubject,
  distinctUntilChanged,
  filter,
  map,
  Observable,
  Subject,
} from 'rxjs';
import type { SchedulerLike, Subscription } from 'rxjs';
import { JSONRPCError, JSONRPCParseError, NetworkError, StatusError, TimeoutError } from '../errors.js';
import type { SocketEvent } from './webSocketEvents.js';
import { batchRequests } from '../operators/batchRequests.js';

/** Options of `createJsonRpcClient`. */
export interface JsonRpcClientOptions {
  /** Milliseconds a call waits for its response before erroring with `TimeoutError`. Default 30 000; `Infinity` disables. */
  timeout?: number;
  /** Scheduler for the timeouts and the batch window. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
  /** Ms a batch stays open for more requests once batches are accepted (default 0: the scheduler's next turn). */
  batchWindow?: number;
}

/** A server → client notification: a frame with a `method` and no `id`. */
export interface JsonRpcNotification {
  /** The notification name, e.g. `changesCommitted` or `docDeleted`. */
  method: string;
  /** Its params exactly as sent (the Patches servers send one object). */
  params: unknown;
}

/** JSON-RPC 2.0 over a stream of socket events: calls as cold observables, notifications and connection state as streams. */
export interface JsonRpcClient {
  /**
   * A cold request: each subscription sends one request with a fresh id and emits its result once,
   * then completes. Errors: `NetworkError` (not connected, or the connection dropped while
   * waiting), `TimeoutError`, `StatusError` (code > 0), `JSONRPCError`, `JSONRPCParseError`.
   * Unsubscribing stops waiting; the server still runs the request and its response is ignored.
   */
  call<R>(method: string, params?: readonly unknown[]): Observable<R>;
  /** Every notification of every connection, from the moment of subscription. Errors if `socket$` errors. */
  readonly notifications$: Observable<JsonRpcNotification>;
  /** Whether a connection is open, now and on every change. Emits `false` then completes (or errors) when `socket$` ends or on `close()`. */
  readonly connected$: Observable<boolean>;
  /** Whether a connection is open right now. */
  readonly connected: boolean;
  /** True while at least one call awaits its response (what a liveness check calls "busy"), on every change. */
  readonly busy$: Observable<boolean>;
  /**
   * The server of the current connection accepts JSON-RPC batch arrays of up to `maxLength`
   * requests: from now until the connection closes, requests made while a reply is awaited are
   * grouped into one frame (see `batchRequests`). Never call it for a server that has not said so.
   */
  acceptBatches(maxLength: number): void;
  /** Stops listening to `socket$` (releasing it); calls in flight error with `NetworkError`. */
  close(): void;
}

/** What ends every call in flight: a new or lost connection (with its error, if any), an unreadable frame, the end of `socket$`. */
type Interruption = { kind: 'open' | 'close' | 'ended'; error?: unknown } | { kind: 'unparseable'; error: JSONRPCParseError };

/** What one socket event means to the client. */
type Inbound =
  | { kind: 'open'; send: (data: string) => void }
  | { kind: 'close'; error?: Error }
  | { kind: 'response'; id: unknown; result: unknown; error: unknown }
  | { kind: 'notification'; method: string; params: unknown }
  | { kind: 'unparseable'; error: JSONRPCParseError }
  | { kind: 'ignored' };

/** Classifies one socket event; a frame is parsed exactly once, however many calls are waiting. A batch reply is one event per response. */
function toInbound(event: SocketEvent): Inbound[] {
  if (event.type === 'open') return [{ kind: 'open', send: event.send }];
  if (event.type === 'close') return [{ kind: 'close', error: event.error }];
  let message: unknown;
  try {
    message = JSON.parse(event.data);
  } catch (cause) {
    return [{ kind: 'unparseable', error: new JSONRPCParseError(`Failed to parse JSON-RPC frame: ${event.data.slice(0, 200)}`, { cause }) }];
  }
  return Array.isArray(message) ? message.map(toMessage) : [toMessage(message)];
}

/** Classifies one decoded message: a response, a notification, or something ignored. */
function toMessage(message: unknown): Inbound {
  // Valid JSON of another shape (no object, a server → client request) is ignored, like the anchor does.
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return { kind: 'ignored' };
  const frame = message as Record<string, unknown>;
  const hasId = frame.id !== undefined;
  if (typeof frame.method === 'string') return hasId ? { kind: 'ignored' } : { kind: 'notification', method: frame.method, params: frame.params };
  if (!hasId) return { kind: 'ignored' };
  return { kind: 'response', id: frame.id, result: frame.result, error: frame.error };
}

/** Rehydrates a response's `error` member: HTTP-style codes (> 0) become `StatusError`. */
function toRpcError(error: unknown): StatusError | JSONRPCError {
  if (typeof error !== 'object' || error === null) return new JSONRPCError(-32000, String(error));
  const { code, message, data } = error as { code?: unknown; message?: unknown; data?: unknown };
  const text = typeof message === 'string' ? message : 'Server error';
  if (typeof code === 'number' && code > 0) return new StatusError(code, text, data);
  return new JSONRPCError(typeof code === 'number' ? code : -32000, text, data);
}

/** Serialises a request; trailing `undefined` params are stripped and empty params omitted. */
function requestFrame(id: number, method: string, params: readonly unknown[]): string {
  let length = params.length;
  while (length > 0 && params[length - 1] === undefined) length--;
  return JSON.stringify(length > 0 ? { jsonrpc: '2.0', id, method, params: params.slice(0, length) } : { jsonrpc: '2.0', id, method });
}

/**
 * Speaks JSON-RPC 2.0 over a stream of socket events, as observables instead of callbacks.
 *
 * PatchesSync calls the server through it and reads `changesCommitted` / `docDeleted` from it.
 * `socket$` is the event stream of the CURRENT connection — typically `webSocketEvents` behind
 * `backoffRetry`, so one stream spans every reconnect; its `open` / `close` events mark the
 * connections. The client subscribes to `socket$` once, right away, and holds that subscription
 * until `close()` (a cold `socket$` therefore starts connecting on creation), so it always knows
 * the current connection whoever else observes the stream.
 *
 * Ids are integers from 1, counted per client, so they keep increasing across reconnects. When
 * the connection goes (a `close` event, a new `open` replacing it, or `socket$` ending) every call
 * in flight errors with `NetworkError('Transport disconnected')`; an unparseable inbound frame
 * errors every call in flight with `JSONRPCParseError` and later calls work; a response whose id
 * matches no call in flight is ignored.
 *
 * ## Example
 * ```ts
 * import { WebSocket } from 'ws';
 * import { webSocketEvents } from './streams/webSocketEvents.js';
 * import { backoffRetry } from './operators/backoffRetry.js';
 * import { createJsonRpcClient } from './streams/jsonRpcClient.js';
 *
 * const socket$ = webSocketEvents({ url: 'ws://127.0.0.1:8080', WebSocketCtor: WebSocket })
 *   .pipe(backoffRetry({ resetOn: (event) => event.type === 'open' }));
 * const rpc = createJsonRpcClient(socket$);
 * rpc.connected$.subscribe((connected) => {
 *   if (connected) rpc.call<string[]>('subscribe', [['doc1']]).subscribe(console.log);
 * });
 * // later: rpc.close();
 * ```
 *
 * @param socket$ The events of the current connection, across reconnects.
 * @param options Call timeout and the scheduler that measures it.
 * @return The client: `call`, `notifications$`, `connected$`, `connected` and `close`.
 */
export function createJsonRpcClient(socket$: Observable<SocketEvent>, options: JsonRpcClientOptions = {}): JsonRpcClient {
  const { timeout = 30_000, scheduler = asyncScheduler, batchWindow = 0 } = options;
  let nextId = 1;
  /** The current connection's `send`, or null. */
  let current: ((data: string) => void) | null = null;
  const connection = new BehaviorSubject<boolean>(false);
  const waiting = new BehaviorSubject<number>(0);
  const inbound = new Subject<Inbound>();
  /** The calls in flight by request id: a response goes to its own call alone, however many are waiting. */
  const responders = new Map<unknown, (response: Extract<Inbound, { kind: 'response' }>) => void>();
  /**
   * How each call in flight fails when something ends every call: a new or lost connection, an
   * unreadable frame, the end of `socket$` (a set, not a Subject: hundreds of calls may be waiting,
   * and each one's end removes it).
   */
  const interrupts = new Set<(reason: Interruption) => void>();
  /**
   * Fails the calls in flight (`calls`: those of a moment before, by default now) that are still
   * waiting; a call made by one of them meanwhile (a retry) is not among them.
   */
  const interrupt = (reason: Interruption, calls = [...interrupts]) => {
    for (const fail of calls) if (interrupts.has(fail)) fail(reason);
  };
  /** While the current connection accepts batches: where its requests queue, and the `send` they are for. */
  let batcher: { send: (data: string) => void; queue: Subject<string>; flow: Subscription } | null = null;

  const stopBatching = () => {
    batcher?.flow.unsubscribe();
    batcher = null;
  };

  const setCurrent = (send: ((data: string) => void) | null) => {
    // A new or lost connection has said nothing about batches yet; requests still queued went with the old one.
    if (send !== current) stopBatching();
    current = send;
    connection.next(send !== null);
  };

  const acceptBatches = (maxLength: number) => {
    const send = current;
    if (!send || batcher?.send === send) return;
    const queue = new Subject<string>();
    const flow = queue.pipe(batchRequests({ maxLength, hold: () => waiting.value > 0, window: batchWindow, scheduler })).subscribe((texts) => {
      // The connection went while the group was open: its calls have failed with NetworkError already.
      if (current !== send) return;
      try {
        send(texts.length === 1 ? texts[0] : `[${texts.join(',')}]`);
      } catch {
        // A socket closing under us: its close event fails the calls.
      }
    });
    batcher = { send, queue, flow };
  };

  /** Sends one request frame, or queues it for a batch when the connection accepts them. */
  const transmit = (send: (data: string) => void, text: string) => {
    if (batcher?.send === send) batcher.queue.next(text);
    else send(text);
  };

  // State first, then listeners: a call retried from an error handler must see the new state.
  const subscription = socket$.subscribe({
    next: (socketEvent) => {
      for (const event of toInbound(socketEvent)) {
        // The calls an open, a close or garbage ends are those in flight before it: one a listener
        // of the new state makes (a call on connected) goes out on the new connection and stays.
        const ends = event.kind === 'open' || event.kind === 'close' || event.kind === 'unparseable';
        const ending = ends ? [...interrupts] : [];
        if (event.kind === 'open') setCurrent(event.send);
        else if (event.kind === 'close') setCurrent(null);
        if (event.kind === 'response') responders.get(event.id)?.(event);
        else if (ends) interrupt(event, ending);
        inbound.next(event);
      }
    },
    error: (error: unknown) => {
      setCurrent(null);
      connection.error(error);
      interrupt({ kind: 'ended', error });
      inbound.error(error);
    },
    complete: () => {
      setCurrent(null);
      connection.complete();
      interrupt({ kind: 'ended' });
      inbound.complete();
    },
  });

  // `asObservable()` first: a piped Subject is an AnonymousSubject whose `next` reaches the subject.
  const connected$ = connection.asObservable().pipe(distinctUntilChanged());

  const notifications$ = inbound.asObservable().pipe(
    filter((event): event is Extract<Inbound, { kind: 'notification' }> => event.kind === 'notification'),
    map(({ method, params }) => ({ method, params })),
  );

  /**
   * A cold call: each subscription sends one request on the connection of that moment and waits
   * for its response, for what ends every call in flight, or for its timeout. (One Observable
   * with its own bookkeeping, not a chain of operators: every doc's sync makes calls.)
   */
  const call = <R>(method: string, params: readonly unknown[] = []): Observable<R> =>
    new Observable<R>((subscriber) => {
      const send = current;
      if (!send) {
        subscriber.error(new NetworkError('WebSocket is not connected'));
        return;
      }
      const id = nextId++;
      // Listen before sending: a response may arrive synchronously.
      responders.set(id, (response) => {
        if (response.error !== undefined && response.error !== null) {
          subscriber.error(toRpcError(response.error));
          return;
        }
        subscriber.next(response.result as R);
        subscriber.complete();
      });
      const fail = (reason: Interruption) => {
        if (reason.kind === 'unparseable') subscriber.error(reason.error);
        else subscriber.error(new NetworkError('Transport disconnected', reason.error ? { cause: reason.error } : undefined));
      };
      interrupts.add(fail);
      const timer = Number.isFinite(timeout)
        ? scheduler.schedule(() => subscriber.error(new TimeoutError(`JSON-RPC call "${method}" got no response within ${timeout} ms`)), timeout)
        : undefined;
      const stop = () => {
        responders.delete(id);
        interrupts.delete(fail);
        timer?.unsubscribe();
      };
      if (!subscriber.closed) {
        try {
          transmit(send, requestFrame(id, method, params));
        } catch (error) {
          subscriber.error(error);
        }
      }
      if (subscriber.closed) return stop;
      waiting.next(waiting.value + 1);
      return () => {
        stop();
        waiting.next(waiting.value - 1);
      };
    });

  const close = () => {
    stopBatching();
    subscription.unsubscribe();
    setCurrent(null);
    connection.complete();
    interrupt({ kind: 'ended' });
    inbound.complete();
    waiting.complete();
  };

  return {
    call,
    notifications$,
    connected$,
    get connected() {
      return current !== null;
    },
    busy$: waiting.asObservable().pipe(
      map((count) => count > 0),
      distinctUntilChanged(),
    ),
    acceptBatches,
    close,
  };
}
