import { Subject, type Observable } from 'rxjs';
import { WebSocket, type RawData } from 'ws';
import type { WebSocketConstructor } from '../../src/streams/webSocketEvents.js';
import type { Change } from '../../src/types.js';
import type { ServerErrors } from './serverErrors.js';

/** One `commitChanges` call as it crossed the wire, and the server's answer if one came back. */
export interface CommitExchange {
  /** Which client sent it. */
  client: number;
  /** Which of that client's sockets carried it (counted from 1, across restarts). */
  socket: number;
  docId: string;
  /** The changes exactly as sent. */
  sent: Change[];
  /** The successful reply; `undefined` while unanswered (or when the answer was lost). */
  reply?: { changes: Change[]; docReloadRequired?: true };
  /** The error reply, if the server refused. */
  error?: unknown;
  /** `Date.now()` when it was sent, and when its answer came. */
  sentAt: number;
  answeredAt?: number;
}

/** What happened on a recorded socket (`request` for every request sent, `commit` also for commits). */
export type WireEvent =
  | { type: 'open' | 'close'; client: number; socket: number }
  | { type: 'request'; client: number; socket: number; method: string }
  | { type: 'commit' | 'answer'; client: number; socket: number; exchange: CommitExchange };

/** Diagnostic lines kept per client (the tail is printed when a run gets stuck). */
const KEPT_LINES = 200;

/**
 * Records what a PatchesSync says on the wire by wrapping the `ws` WebSocket it uses: every
 * `commitChanges` request with its reply (the fuzz's change-id oracle reads them to prove that a
 * change the server left out of its reply really was transformed to nothing), socket lifecycle
 * events as an observable (so a spec can act on "the commit was sent" or "the socket closed"),
 * and a short text log per client for diagnosing a stuck run.
 */
export class WireLog {
  /** Every commit call seen, in send order. */
  readonly commits: CommitExchange[] = [];
  /**
   * Ids of every change a server sent as committed, to any client, in any message (a commit's
   * reply, a broadcast, a history read). A client takes a change off its queue as committed only
   * on such evidence, so this also accounts for a change whose own reply was lost.
   */
  readonly seenCommitted = new Set<string>();
  private readonly lines: string[][] = [];
  private readonly sockets: number[] = [];
  private readonly eventSubject = new Subject<WireEvent>();
  /** Socket opens and closes, commits sent, and their answers, as they happen. */
  readonly events$: Observable<WireEvent> = this.eventSubject.asObservable();

  /** @param serverErrors error replies to inject on every socket (`ConvergenceOptions.serverErrors`); the log records what the client got */
  constructor(private readonly serverErrors?: ServerErrors) {}

  /** Appends a line to a client's diagnostic log. */
  note(client: number, line: string): void {
    const lines = (this.lines[client] ??= []);
    lines.push(`${Date.now()} ${line}`);
    if (lines.length > KEPT_LINES) lines.splice(0, lines.length - KEPT_LINES);
  }

  /** The last `count` diagnostic lines of a client. */
  tail(client: number, count: number): string[] {
    return (this.lines[client] ?? []).slice(-count);
  }

  /**
   * A WebSocket class for `PatchesSync({ websocket: { WebSocketCtor } })` that records client `client`.
   *
   * @param client the client's index
   */
  socketFor(client: number): WebSocketConstructor {
    const log = this;
    function RecordingWebSocket(url: string, protocols?: string | string[]): WebSocket {
      const socket = new WebSocket(url, protocols);
      const number = (log.sockets[client] = (log.sockets[client] ?? 0) + 1);
      log.note(client, `socket ${number} created`);
      // First, so the log below records every request the client made and every reply it got.
      log.serverErrors?.install(
        socket,
        line => log.note(client, `socket ${number} ${line}`),
        // The server did the work: what it sent as committed was committed.
        reply => committedIdsIn(reply).forEach(id => log.seenCommitted.add(id)),
      );
      socket.on('open', () => {
        log.note(client, `socket ${number} open`);
        log.eventSubject.next({ type: 'open', client, socket: number });
      });
      socket.on('close', (code: number) => {
        log.note(client, `socket ${number} closed ${code}`);
        log.eventSubject.next({ type: 'close', client, socket: number });
      });
      // Request ids restart with each PatchesSync, so answers are matched per socket.
      const waiting = new Map<unknown, CommitExchange>();
      const send = socket.send.bind(socket) as (data: unknown, ...rest: unknown[]) => void;
      (socket as { send: (data: unknown, ...rest: unknown[]) => void }).send = (data: unknown, ...rest: unknown[]) => {
        send(data, ...rest);
        for (const message of messages(data)) {
          const params = message.params;
          log.note(client, `socket ${number} → #${String(message.id)} ${String(message.method)} ${String(JSON.stringify(params)).slice(0, 200)}`);
          log.eventSubject.next({ type: 'request', client, socket: number, method: String(message.method) });
          if (message.method !== 'commitChanges' || !Array.isArray(params) || typeof params[0] !== 'string' || !Array.isArray(params[1])) continue;
          const exchange: CommitExchange = { client, socket: number, docId: params[0], sent: params[1] as Change[], sentAt: Date.now() };
          log.commits.push(exchange);
          waiting.set(message.id, exchange);
          log.eventSubject.next({ type: 'commit', client, socket: number, exchange });
        }
      };
      socket.on('message', (data: RawData) => {
        for (const message of messages(data)) {
          const what = message.id !== undefined ? `#${String(message.id)}` : String(message.method);
          log.note(client, `socket ${number} ← ${what} ${String(JSON.stringify(message.result ?? message.error ?? message.params)).slice(0, 200)}`);
          for (const id of committedIdsIn(message)) log.seenCommitted.add(id);
          const exchange = waiting.get(message.id);
          if (!exchange) continue;
          waiting.delete(message.id);
          exchange.answeredAt = Date.now();
          if ('error' in message) exchange.error = message.error;
          else exchange.reply = normaliseReply(message.result);
          log.eventSubject.next({ type: 'answer', client, socket: number, exchange });
        }
      });
      return socket;
    }
    return RecordingWebSocket as unknown as WebSocketConstructor;
  }
}

/** One JSON-RPC message (request, notification or reply) as the fuzz reads it. */
export interface RpcMessage {
  id?: unknown;
  method?: unknown;
  params?: unknown;
  result?: unknown;
  error?: unknown;
}

/** The text of a frame as sent or received, if it is one the fuzz can read. */
export function frameText(data: unknown): string | undefined {
  if (typeof data === 'string') return data;
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return undefined;
}

/** The JSON-RPC messages in one frame (a batch array or a single message); unreadable frames yield none. */
export function messages(data: unknown): RpcMessage[] {
  const text = frameText(data);
  if (text === undefined) return [];
  try {
    const value: unknown = JSON.parse(text);
    const list = Array.isArray(value) ? value : [value];
    return list.filter((item): item is RpcMessage => typeof item === 'object' && item !== null);
  } catch {
    return [];
  }
}

/** Ids of the committed changes (an id and a rev) a server message carries: a broadcast's, or a result's (list or `changes`). */
function committedIdsIn(message: RpcMessage): string[] {
  const carrier = message.method === 'changesCommitted' ? message.params : message.result;
  const list: unknown = Array.isArray(carrier) ? carrier : (carrier as { changes?: unknown } | null | undefined)?.changes;
  if (!Array.isArray(list)) return [];
  return list.flatMap(item => {
    const change = item as { id?: unknown; rev?: unknown } | null;
    return change !== null && typeof change === 'object' && typeof change.id === 'string' && typeof change.rev === 'number' ? [change.id] : [];
  });
}

/** The object-shaped reply (a bare array is tolerated, as the client does). */
function normaliseReply(result: unknown): { changes: Change[]; docReloadRequired?: true } {
  if (Array.isArray(result)) return { changes: result as Change[] };
  const value = (result ?? {}) as { changes?: unknown; docReloadRequired?: true };
  const reply: { changes: Change[]; docReloadRequired?: true } = { changes: Array.isArray(value.changes) ? (value.changes as Change[]) : [] };
  if (value.docReloadRequired) reply.docReloadRequired = true;
  return reply;
}
