import { createServer } from 'node:http';
import type { IncomingMessage, RequestListener } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import type { RawData } from 'ws';
import { createId } from '../algorithms/createId.js';
import type { Algorithm } from '../types.js';
import type { DocServiceStats } from './docs/DocService.js';
import { FileServerStore } from './stores/FileServerStore.js';
import { MemoryServerStore } from './stores/MemoryServerStore.js';
import { FrameAnswers } from './FrameAnswers.js';
import { ServerCore } from './ServerCore.js';
import type { AuthorizeConnection } from './ServerCore.js';
import { acceptWebSockets } from './acceptWebSockets.js';
import { isSendableCloseCode, refusalReason } from './closeCodes.js';
import { ConnectionAdmission } from './ConnectionAdmission.js';
import { closeWith } from './closeWith.js';
import { HeldFrames } from './HeldFrames.js';
import { OutgoingMessages } from './OutgoingMessages.js';
import { ReadHolds } from './ReadHolds.js';
import { ReplyBacklog } from './ReplyBacklog.js';
import { SERVER_PER_MESSAGE_DEFLATE } from './wireCompression.js';
import { upgradeRequired } from './upgradeRequired.js';
import type { PerMessageDeflateOptions } from './wireCompression.js';
import type { AlgorithmFor, Authorize, Connection } from './ServerCore.js';
import type { ServerStore } from './stores/ServerStore.js';
import { MAX_TRANSFORM_WORK, type TransformIncoming } from './docs/OTDocService.js';

/** Options of {@link startServer}. Every field is optional. */
export interface StartServerOptions {
  /** TCP port; `0` (the default) picks a free one — read it from `RunningServer.port`. */
  port?: number | undefined;
  /** Interface to listen on (default `'127.0.0.1'`: loopback only). */
  host?: string | undefined;
  /** Document storage, opened (its `open`, if any) before listening and closed by `close()`. Default: a `FileServerStore` in `dataDir` if given, else a `MemoryServerStore`. */
  store?: ServerStore | undefined;
  /** Keep documents durably in this directory (a `FileServerStore`); ignored when `store` is given. */
  dataDir?: string | undefined;
  /** Which algorithm a document uses (default: ids starting with `lww` are LWW, all others OT). */
  algorithmFor?: AlgorithmFor | undefined;
  /** Authorization hook (default: allow everything). */
  authorize?: Authorize | undefined;
  /**
   * Connect-time check of a connection's token and request (default: admit all). Return `true`
   * to admit, `false` to refuse with close code 4401, or a close code to refuse with it: 4401
   * (unauthenticated), 4403 (forbidden) or 1008 (policy) make the client report an `AuthError`
   * and stop reconnecting; another of 3000–4999 makes it reconnect with backoff. 401 and 403
   * mean 4401 and 4403; any other value refuses with 4401 and is reported to `onError`. The
   * socket is not read until the verdict: its frames are then handled in order.
   */
  authorizeConnection?: AuthorizeConnection | undefined;
  /** Most ms `authorizeConnection` may take (default 10 000): past it the socket is closed with 1013 "try again later" (the client reconnects with backoff), reported to `onError`. */
  authorizeTimeoutMs?: number | undefined;
  /**
   * Every `pingIntervalMs` (default 15 000; 0 turns it off) each socket gets a WebSocket ping; one
   * that has not answered the previous ping is terminated (its subscriptions end with it). Bytes
   * read from it, a reply written out, and the ping's own write completing behind bytes the
   * kernel had not taken yet (a slow link) count as an answer. A tick
   * that comes more than half an interval late (the process was blocked or paused) terminates
   * nobody: the answers may still be on their way. Connections that called `ping` also get a
   * `heartbeat` notification on each tick.
   */
  pingIntervalMs?: number | undefined;
  /** Largest accepted change, UTF-8 bytes of its JSON (default 1 MB), and the most one OT change's `copy` ops may add to the document; past either, 413 `{ scope: 'change' }`. */
  maxChangeBytes?: number | undefined;
  /** Snapshot a document after this many changes (OT) or commits (LWW) (default 200). */
  snapshotEvery?: number | undefined;
  /**
   * How many of its latest change ids a loaded OT document remembers (default 50,000), so a resend
   * is committed once even when its committed copy is at or before the resend's `baseRev` (a
   * client that took its own change for another's). A resend committed after its `baseRev` is
   * recognised whatever its age. Bounds a hot document's memory (~70 bytes an id) and what a
   * reload reads (the last this many changes, once). PostgreSQL's unique key covers all history.
   * Applies to OT documents only: an LWW document always remembers its latest 50,000. A positive
   * integer (anything else rejects the start with a `RangeError`).
   */
  rememberedChangeIds?: number | undefined;
  /**
   * The most work one OT commit's transform may cost, in op pairs (default `MAX_TRANSFORM_WORK`,
   * 1,000,000: ~0.5–1.4 s of CPU on a 2-core VM; `Infinity` turns the bound off). A commit is
   * transformed over every change others committed since its `baseRev`, each committed change's
   * ops against each queued change's ops (an `@txt` op weighs ~3, more with a long delta: Quill's
   * transform costs more), and a committed change that meets no queued op passes at one per op;
   * own changes already committed cost nothing. A commit whose walk passes the bound
   * is stopped there and refused with 409 `{ scope: 'doc', headRev }`, nothing stored or broadcast.
   * Its client (ours or @dabble/patches') then catches up, rebases its queue on its own CPU and
   * resends on the head, where the walk meets only what was committed in that round trip. A resend
   * of changes all committed already is answered with their copies, never refused. Bounds the
   * transform only: applying the commit (moves, copies, `@txt`), parsing its frame and LWW commits
   * are not counted. A positive number (anything else rejects the start with a `RangeError`).
   */
  maxTransformWork?: number | undefined;
  /** Largest frame the server reads (default 8 MiB); larger ones answer 413 `{ scope: 'frame' }` and the socket stays open. */
  maxFrameBytes?: number | undefined;
  /** Hard frame limit enforced by `ws` (default 32 MiB): a larger frame closes the socket (1009). */
  maxPayloadBytes?: number | undefined;
  /** Most requests in one JSON-RPC batch array (default 1000: a resync of that many docs in one frame); told to clients by `getCapabilities`. */
  maxBatchLength?: number | undefined;
  /** Most ids per subscribe call and documents per connection (default 10 000). */
  maxSubscriptions?: number | undefined;
  /** Bytes of broadcasts and heartbeats queued to a socket (uncompressed) beyond which the client is too slow and is disconnected (default 32 MiB); replies to its own requests do not count. */
  maxBufferedBytes?: number | undefined;
  /**
   * Bytes of replies queued to one socket, not yet written out, at which the server stops reading
   * that socket until they are below half (default 64 MiB; a positive integer). A single larger reply is still sent.
   */
  maxQueuedReplyBytes?: number | undefined;
  /** Requests of one socket read and not yet answered at which the server stops reading it until they are below half (default 2 × `maxBatchLength`; a positive integer). */
  maxCallsInFlight?: number | undefined;
  /**
   * Bytes of one socket's frames (inflated) whose requests are read and not yet answered at which
   * the server stops reading it until they are below half (default 64 MiB; a positive integer):
   * `maxCallsInFlight` alone let a client hold that many frames of up to `maxFrameBytes` each. A
   * single larger frame is still answered.
   */
  maxRequestBytesInFlight?: number | undefined;
  /** Documents kept loaded in memory (default 1000). */
  cacheSize?: number | undefined;
  /** The server clock (default `Date.now`); tests pass their own. */
  now?: (() => number) | undefined;
  /** Receives unexpected faults (default: `console.error`). Refused requests are not faults. */
  onError?: ((error: unknown) => void) | undefined;
  /**
   * Test hook: the OT transform of incoming batches (default `transformIncomingChanges`). A spec
   * passes a deliberately different rule to prove clients show what the server commits. Leave it
   * unset in production: @dabble/patches clients rebase with the default rule.
   */
  transformIncoming?: TransformIncoming | undefined;
  /**
   * Test hook: speak only the @dabble/patches wire, as its server does: `getCapabilities` is an
   * unknown method (-32000), a batch array answers -32600, and `commitChanges` ignores the
   * `compactAck` option. Specs prove with it that our client keeps to the anchor's wire there.
   */
  anchorWire?: boolean | undefined;
  /**
   * Test hook: the fewest changes an OT catch-up asked with `{ orSnapshot: true }` is measured
   * against the doc's state from (default 64, `CATCH_UP_MEASURE_FROM`). The convergence fuzz
   * lowers it so that clients take snapshot catch-ups often.
   */
  catchUpSnapshotsFrom?: number | undefined;
  /**
   * `permessage-deflate` settings negotiated with clients that offer it (default
   * `SERVER_PER_MESSAGE_DEFLATE`: frames of 4 KB or more; `ALL_FRAMES_PER_MESSAGE_DEFLATE`
   * compresses every frame, at a CPU and memory cost: see `wireCompression.ts`); `false` sends every frame plain.
   */
  compression?: PerMessageDeflateOptions | false | undefined;
  /** Answers plain HTTP requests on the same port, e.g. to serve a web app (default: 426 "connect with a WebSocket"). */
  onHttpRequest?: RequestListener | undefined;
}

/** Counters of a running server: oracles for tests and dashboards. */
export interface ServerStats extends DocServiceStats {
  /** Open connections. */
  connections: number;
  /** Connections accepted since start. */
  connectionsTotal: number;
  /** Frames received. */
  frames: number;
  /** Requests answered (batch elements count one each). */
  requests: number;
  /** Error responses sent. */
  errors: number;
  /** Client → server notifications (no id), which are ignored. */
  ignoredNotifications: number;
  /** Notification frames sent to subscribers. */
  notificationsSent: number;
  /** Connections dropped because they did not read the broadcasts sent to them. */
  slowConsumersDropped: number;
  /** Connections terminated because they stopped answering pings. */
  pingTimeouts: number;
  /** Connections refused by `authorizeConnection`, or closed because it gave no verdict in time. */
  connectionsRefused: number;
  /** Times the server stopped reading a socket because its unread replies or unanswered requests reached their limit. */
  backpressurePauses: number;
  /** Subscriptions held (one per document per connection); a closed connection's are freed. */
  subscriptions: number;
  /**
   * Set when the store takes no more writes until the process restarts (`FileServerStore` after a
   * failed sync): why. `healthCheck` then answers 503.
   */
  storeStopped?: string | undefined;
}

/** Alias of {@link StartServerOptions}. */
export type ServerOptions = StartServerOptions;

/** A listening server. */
export interface RunningServer {
  /** The port it listens on. */
  readonly port: number;
  /** `ws://host:port`, ready for a client. */
  readonly url: string;
  /** A copy of the counters. */
  readonly stats: ServerStats;
  /**
   * Graceful shutdown: stops accepting connections, answers requests that arrive meanwhile with
   * 503, waits for in-flight requests (commits finish and are acknowledged), closes every
   * socket (1001), then closes the store. Calling it again returns the same promise.
   */
  close(): Promise<void>;
  /**
   * Closes every open connection `where` picks, with `code` (default 4403) and `reason`: the way
   * to act on a revoked access, as `authorize` is asked at each call and `authorizeConnection`
   * once. With 4401, 4403 or 1008 the client reports one `AuthError` and waits for `connect()`
   * (the user signs in again); with another code, such as 4000 or 1012, it reconnects by itself
   * and subscribes again, and `authorize` then leaves out the docs it may no longer read: the way
   * to revoke one doc.
   *
   * @param where picks the connections to close
   * @param code the close code: 1000–1003, 1007–1014 or 3000–4999
   * @param reason the close reason (at most 123 bytes)
   * @return how many connections were closed
   * @throws RangeError for a close code `ws` cannot send, or a reason over 123 UTF-8 bytes (nothing is closed)
   */
  closeConnections(where: (connection: Connection) => boolean, code?: number, reason?: string): number;
}

/**
 * Starts the reference server: JSON-RPC 2.0 over WebSocket (protocol §1), OT and LWW
 * documents on one endpoint, wire-compatible with @dabble/patches clients.
 *
 * Wire decisions beyond the anchor:
 * - JSON-RPC batch arrays are accepted (the anchor answers -32600): the reply is an array of
 *   the responses, in request order, without entries for notifications; an empty batch or one
 *   longer than `maxBatchLength` answers a single -32600. Anchor clients never send arrays.
 * - `getCapabilities` (no params; the anchor answers -32000 "Unknown method") answers
 *   `{ batch: { maxLength }, compactAck: true, catchUpSnapshot: true }`: patches-rx clients send
 *   batches, ask for compact acknowledgements (`compactAck.ts`) and catch up by snapshot only after
 *   reading it.
 * - Unknown methods answer -32000 `Unknown method '<name>'.` like the anchor (JSON-RPC says -32601).
 * - Wrong argument types answer 400 `INVALID_REQUEST: …`, not -32602 (see `validate.ts`), and
 *   so do doc and change ids holding a NUL or an unpaired surrogate.
 * - An op `path` or `from` holding a NUL or an unpaired surrogate, or deeper than `MAX_DEPTH`
 *   (256), answers 400 `INVALID_CHANGE` naming the change and the op; so does an OT `copy` or
 *   `move` that would nest the doc past 256 levels, checked as the commit applies, which
 *   refuses the whole call, nothing stored.
 * - -32600 echoes the request's id when it has a readable one (the anchor answers `id: null`).
 * - Unexpected faults answer -32000 `Server error` without a stack.
 *
 * ## Example
 * ```ts
 * const server = await startServer({ port: 0, store: new MemoryServerStore() });
 * const socket = new WebSocket(server.url);
 * // …
 * await server.close();
 * ```
 *
 * @param options port, store, hooks and limits
 * @return the running server, once it listens
 * @throws RangeError naming `maxQueuedReplyBytes`, `maxCallsInFlight`, `maxRequestBytesInFlight` or `rememberedChangeIds` when it is not a positive integer, or `maxTransformWork` when it is not a positive number
 * @throws the error of the store's `open` (e.g. a `StoreError` naming a data directory that cannot be used), or of `listen` (EADDRINUSE…)
 */
export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const maxBufferedBytes = options.maxBufferedBytes ?? 32 * 1024 * 1024;
  const onError = options.onError ?? ((error: unknown) => console.error('[patches-rx server]', error));
  const stats: ServerStats = {
    connections: 0,
    connectionsTotal: 0,
    frames: 0,
    requests: 0,
    errors: 0,
    ignoredNotifications: 0,
    notificationsSent: 0,
    slowConsumersDropped: 0,
    pingTimeouts: 0,
    connectionsRefused: 0,
    backpressurePauses: 0,
    subscriptions: 0,
    commits: 0,
    changesCommitted: 0,
    duplicateChanges: 0,
    changesDropped: 0,
    commitsTooFarBehind: 0,
    snapshots: 0,
  };
  /** Open connections by id, with their sockets (the WebSocket, and the TCP socket under it). */
  const open = new Map<string, { socket: WebSocket; connection: Connection; tcp: Socket }>();
  const pingIntervalMs = options.pingIntervalMs ?? 15_000;
  /** Sockets that answered the last ping (or were just opened). */
  const alive = new WeakSet<WebSocket>();
  /** Connections that called `ping`: they get a `heartbeat` notification on every tick. */
  const heartbeats = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  let closing = false;
  let closed: Promise<void> | undefined;

  const maxBatchLength = options.maxBatchLength ?? 1000;
  const rememberedChangeIds = options.rememberedChangeIds === undefined ? undefined : positiveInteger('rememberedChangeIds', options.rememberedChangeIds);
  const maxTransformWork = options.maxTransformWork ?? MAX_TRANSFORM_WORK;
  if (!(maxTransformWork > 0)) throw new RangeError(`startServer: maxTransformWork must be a positive number, not ${maxTransformWork}`);
  /** Per socket: its outgoing messages, in order (a long reply goes fragment by fragment). */
  const outgoing = new WeakMap<WebSocket, OutgoingMessages>();
  /** Per socket: the frames `ws` handed over while it could not be answered, in order. */
  const heldFrames = new WeakMap<WebSocket, HeldFrames>();
  /** Why each socket is not being read (waiting for its verdict, or its own requests backed up). */
  const holds = new ReadHolds((socket) => queueMicrotask(() => heldFrames.get(socket)?.drain()));
  /** Per socket: bytes of replies handed to it and not yet written out, and requests not yet answered (and their bytes). */
  const backlog = new ReplyBacklog(
    {
      maxReplyBytes: positiveInteger('maxQueuedReplyBytes', options.maxQueuedReplyBytes ?? 64 * 1024 * 1024),
      maxCallsInFlight: positiveInteger('maxCallsInFlight', options.maxCallsInFlight ?? 2 * maxBatchLength),
      maxRequestBytes: positiveInteger('maxRequestBytesInFlight', options.maxRequestBytesInFlight ?? 64 * 1024 * 1024),
    },
    holds,
    () => stats.backpressurePauses++,
  );
  /**
   * Sends a reply to the client's own request, however much is queued: its size is bounded by
   * what the client asked for, and a client reading a large reply (a catch-up of 100 MB of
   * history) is busy, not slow. A client that leaves its replies unread is not dropped: past
   * `maxQueuedReplyBytes` its socket is no longer read (`ReplyBacklog`), so it only slows itself.
   */
  const sendReply = (socket: WebSocket, text: string): void => {
    if (socket.readyState !== WebSocket.OPEN) return;
    // As UTF-8 bytes: strings queued behind a slow socket are written together, copied into one
    // buffer sized for 3 bytes a character, and past 2 GiB of that the write fails with ENOBUFS and
    // the socket dies (found in review: a batch of 1,000 replies of 1 MB, sent one frame each).
    const bytes = Buffer.from(text, 'utf8');
    backlog.add(socket, { bytes: bytes.length });
    // Told as each part is written out (or the socket is gone). Written out, it proves the client
    // is reading as a pong would: a ping queued behind a long run of replies (compressed one by
    // one), or behind one reply that takes longer than a ping interval to cross (`OutgoingMessages`
    // writes it fragment by fragment), reaches it late, and its socket would be terminated while busy.
    outgoing.get(socket)?.send(bytes, (written, error) => {
      backlog.add(socket, { bytes: -written });
      if (!error) alive.add(socket);
    });
  };
  /**
   * Sends a frame the client did not ask for (a broadcast, a heartbeat), as UTF-8 bytes, shared
   * by the sockets it goes to. A socket with more than `maxBufferedBytes` of
   * them queued is not reading and is dropped; its queued replies do not count (compressed, they
   * may count for less than they are, which only lets their reader be a little slower).
   */
  const sendNotification = (socket: WebSocket, bytes: Buffer): void => {
    const out = outgoing.get(socket);
    if (socket.readyState !== WebSocket.OPEN || !out) return;
    // What waits behind a long reply is not in `bufferedAmount` yet; the reply's part is in the backlog.
    if (socket.bufferedAmount + out.unsent - backlog.bytes(socket) > maxBufferedBytes) {
      stats.slowConsumersDropped++;
      socket.terminate();
      return;
    }
    out.send(bytes);
  };
  // A notification goes to every subscriber as the same string: encode it to UTF-8 once for all
  // of them (`ws` would encode a string again for each socket). The last one is held until the next.
  let lastFrame: string | undefined;
  let lastFrameBytes: Buffer | undefined;
  const encoded = (frame: string): Buffer => {
    if (frame !== lastFrame) {
      lastFrame = frame;
      lastFrameBytes = Buffer.from(frame, 'utf8');
    }
    return lastFrameBytes as Buffer;
  };

  const store: ServerStore = options.store ?? (options.dataDir !== undefined ? new FileServerStore({ directory: options.dataDir }) : new MemoryServerStore());
  // A store that cannot work (a data directory it may not write) fails the start, not every commit after it.
  try {
    await store.open?.();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  const core = new ServerCore({
    store,
    algorithmFor: options.algorithmFor ?? byIdPrefix('lww'),
    authorize: options.authorize ?? (() => true),
    maxChangeBytes: options.maxChangeBytes ?? 1_000_000,
    snapshotEvery: options.snapshotEvery ?? 200,
    rememberedChangeIds,
    maxTransformWork,
    cacheSize: options.cacheSize ?? 1000,
    maxSubscriptions: options.maxSubscriptions ?? 10_000,
    now: options.now ?? Date.now,
    stats,
    onError,
    transformIncoming: options.transformIncoming,
    compactAcks: !options.anchorWire,
    catchUpSnapshots: !options.anchorWire,
    catchUpSnapshotsFrom: options.catchUpSnapshotsFrom,
    send: (connectionId, frame) => {
      const socket = open.get(connectionId)?.socket;
      if (socket?.readyState !== WebSocket.OPEN) return;
      stats.notificationsSent++;
      sendNotification(socket, encoded(frame));
    },
  });

  const answers = new FrameAnswers({
    call: (connection, method, params) => core.call(connection, method, params),
    stats,
    maxFrameBytes: options.maxFrameBytes ?? 8 * 1024 * 1024,
    maxBatchLength,
    anchorWire: options.anchorWire === true,
    heartbeatMs: pingIntervalMs,
    heartbeat: (connectionId) => heartbeats.add(connectionId),
    closing: () => closing,
    onError,
  });

  const onFrame = (connection: Connection, socket: WebSocket, frame: Buffer): void => {
    // Its requests count as in flight, with the frame's bytes (their params live as long), until
    // their replies are queued (and then count as reply bytes).
    let calls = 0;
    let requestBytes = 0;
    const task = answers
      .reply(connection, frame, (requests) => backlog.add(socket, { calls: (calls = requests), requestBytes: (requestBytes = frame.length) }))
      .then((reply) => {
        if (typeof reply === 'string') sendReply(socket, reply);
        else for (const text of reply ?? []) sendReply(socket, text);
      })
      .catch(onError)
      .finally(() => backlog.add(socket, { calls: -calls, requestBytes: -requestBytes }));
    inFlight.add(task);
    void task.finally(() => {
      inFlight.delete(task);
      // A call that was still awaiting (an async authorize hook) when its socket closed may have
      // subscribed it after the close let go of its subscriptions: let go of them again.
      if (!open.has(connection.id)) core.disconnect(connection.id);
    });
  };

  const admission = new ConnectionAdmission({
    authorizeConnection: options.authorizeConnection,
    timeoutMs: options.authorizeTimeoutMs ?? 10_000,
    holds,
    isOpen: (connection) => open.has(connection.id),
    refused: () => stats.connectionsRefused++,
    onError,
  });

  /** When the last tick came, or the pinger started (`performance.now()`). */
  let lastTick = 0;
  /**
   * One tick: terminate sockets that missed the last ping, ping the others, send heartbeats.
   * Sockets are judged once the loop has read them (timers run before it does): a pong that came
   * while the loop was blocked up to the tick waits unread in its socket until then. A tick that
   * comes more than half an interval late judges nobody, and pings every socket again: after a
   * pause of the whole machine (a VM's) a pong may still be on its way (resent by its client's
   * TCP, seconds later); the next tick judges.
   */
  const pingAll = (): void => {
    const now = performance.now();
    const late = now - lastTick > pingIntervalMs * 1.5;
    lastTick = now;
    setImmediate(() => (closing ? undefined : judgeAndPing(late)));
  };
  const judgeAndPing = (late: boolean): void => {
    for (const [id, { socket, tcp }] of open) {
      // A socket the server stopped reading cannot read its pongs: unless it has replies queued
      // (whose writing proves it alive, see sendReply), the wait is the server's, not the client's.
      if (holds.held(socket) && backlog.bytes(socket) === 0) alive.add(socket);
      if (!alive.has(socket) && !late) {
        stats.pingTimeouts++;
        socket.terminate();
        continue;
      }
      if (socket.readyState !== WebSocket.OPEN) continue;
      alive.delete(socket);
      // Bytes the kernel has not taken yet (its send buffer full) go out before the ping: its
      // write completes once the client's acknowledgements make room for them, which proves it
      // alive as a pong would (on a slow link its pong may come after the next tick, behind
      // them). Written with room in the kernel (a dead peer's too), it proves nothing.
      const waiting = tcp.writableLength > 0;
      socket.ping(undefined, undefined, (error) => {
        if (!error && waiting) alive.add(socket);
      });
      if (heartbeats.has(id)) sendNotification(socket, HEARTBEAT_FRAME);
    }
  };

  const http = createServer(options.onHttpRequest ?? upgradeRequired);
  let listening = false;
  // A failed listen is reported by the rejection below.
  http.on('error', (error) => {
    if (listening) onError(error);
  });
  const wss = acceptWebSockets(http, { maxPayload: options.maxPayloadBytes ?? 32 * 1024 * 1024, compression: options.compression ?? SERVER_PER_MESSAGE_DEFLATE }, (socket, request) => {
    if (closing) {
      socket.close(1001, 'Server shutting down');
      return;
    }
    const connection = connectionOf(request);
    open.set(connection.id, { socket, connection, tcp: request.socket });
    outgoing.set(socket, new OutgoingMessages(socket, REPLY_FRAGMENT_BYTES, AHEAD_BYTES));
    alive.add(socket);
    socket.on('pong', () => alive.add(socket));
    // Bytes read prove the client alive as a pong would: its pong waits behind a request it is
    // still sending (a 30 MB commit at 1 MB/s), and `ws` tells of a message only once it is whole.
    request.socket.on('data', () => alive.add(socket));
    stats.connections++;
    stats.connectionsTotal++;
    const verdict = admission.admit(connection, socket);
    let admitted = verdict === true;
    const held = new HeldFrames(
      (frame) => onFrame(connection, socket, frame),
      () => admitted && !holds.held(socket) && socket.readyState === WebSocket.OPEN,
    );
    heldFrames.set(socket, held);
    socket.on('message', (data) => {
      // A closing socket's frames are not answered (a refused one's are read only to finish the close).
      if (socket.readyState !== WebSocket.OPEN) return;
      held.push(toBuffer(data));
      // Before its verdict the admission bounds what is held; behind a backlog, what ws reads
      // ahead does (one TCP chunk and its receive buffer, inflated).
      if (!admitted) admission.limitEarlyFrames(socket, held);
    });
    if (verdict !== true) {
      void verdict.then((ok) => {
        admitted = ok;
        // Frames held for the verdict are dropped if it refused or their socket closed meanwhile.
        if (ok && open.has(connection.id)) held.drain();
        else held.clear();
      });
    }
    // Protocol violations (an over-limit frame, bad UTF-8) make `ws` close the socket; the
    // error itself needs no more handling than that.
    socket.on('error', () => {});
    socket.on('close', () => {
      open.delete(connection.id);
      heartbeats.delete(connection.id);
      stats.connections--;
      core.disconnect(connection.id);
    });
  });

  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 0, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    wss.close();
    await core.close();
    throw error;
  }
  listening = true;
  lastTick = performance.now();
  const pinger = pingIntervalMs > 0 ? setInterval(pingAll, pingIntervalMs) : undefined;
  pinger?.unref();
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
  const url = `ws://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const shutdown = async (): Promise<void> => {
    closing = true;
    clearInterval(pinger);
    admission.close();
    const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
    while (inFlight.size > 0) await Promise.all(inFlight);
    await Promise.all([...open.values()].map(({ socket }) => (outgoing.get(socket)?.flush(), closeSocket(socket))));
    wss.close();
    await core.close();
    http.closeAllConnections();
    await httpClosed;
  };

  return {
    port,
    url,
    get stats() {
      const stopped = store.writesStopped;
      return { ...stats, subscriptions: core.subscriptionCount(), ...(stopped ? { storeStopped: stopped.message } : {}) };
    },
    close: () => (closed ??= shutdown()),
    closeConnections: (where, code = 4403, reason = refusalReason(code, '')) => {
      if (!isSendableCloseCode(code)) throw new RangeError(`closeConnections: ${code} is not a close code a server may send (1000-1003, 1007-1014, 3000-4999)`);
      // ws throws on a longer one, and the socket would be cut (1006): its client would reconnect, not report an AuthError.
      const reasonBytes = Buffer.byteLength(reason, 'utf8');
      if (reasonBytes > MAX_CLOSE_REASON_BYTES) throw new RangeError(`closeConnections: the reason is ${reasonBytes} UTF-8 bytes, more than a close frame holds (${MAX_CLOSE_REASON_BYTES})`);
      let count = 0;
      for (const { socket, connection } of open.values()) {
        if (socket.readyState !== WebSocket.OPEN || !where(connection)) continue;
        // What was queued to it goes first, as `ws` sends its close frame after what it was handed.
        outgoing.get(socket)?.flush();
        closeWith(socket, code, reason);
        count++;
      }
      return count;
    },
  };
}

/**
 * Most bytes of one frame: a longer message goes as fragments of it, each proving its reader
 * alive once written out (`OutgoingMessages`).
 */
const REPLY_FRAGMENT_BYTES = 256 * 1024;

/**
 * Bytes a socket may hold unwritten before the next message waits in `OutgoingMessages`: a ping
 * waits behind at most this and a fragment before the kernel takes it (see `judgeAndPing`), not
 * behind every broadcast queued to a slow client.
 */
const AHEAD_BYTES = 64 * 1024;

/** Most UTF-8 bytes of a close reason: a control frame's 125-byte payload less the 2-byte code (RFC 6455 §5.5). */
const MAX_CLOSE_REASON_BYTES = 123;

/**
 * A limit checked before the server starts. Reading resumes below half a backlog limit, which 0
 * (or a fraction under 1) never goes: the socket would be held for good; NaN ids to remember
 * would forget every one.
 *
 * @throws RangeError naming the option when `value` is not a positive integer
 */
function positiveInteger(option: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`startServer: ${option} must be a positive integer, not ${value}`);
  return value;
}

/** The application heartbeat: a notification clients that asked for it (by calling `ping`) get on every tick. */
const HEARTBEAT_FRAME = Buffer.from(JSON.stringify({ jsonrpc: '2.0', method: 'heartbeat' }), 'utf8');

/**
 * The CLI's routing rule: ids starting with `prefix` are LWW documents, all others OT.
 *
 * ## Example
 * ```ts
 * startServer({ algorithmFor: byIdPrefix('lww') }); // 'lww-settings' → LWW, 'notes' → OT
 * ```
 */
export function byIdPrefix(prefix: string): AlgorithmFor {
  return (docId: string): Algorithm => (prefix !== '' && docId.startsWith(prefix) ? 'lww' : 'ot');
}

/**
 * A new connection: its id, its token, and the facts of its upgrade request the hooks may check.
 * A plain object, the same one given to every hook: an app may remember facts on it (the user its
 * `authorizeConnection` found, for `authorize` to read). Only the headers are frozen.
 */
function connectionOf(request: IncomingMessage): Connection {
  const origin = request.headers.origin;
  return {
    id: createId(),
    token: tokenOf(request),
    origin: typeof origin === 'string' ? origin : undefined,
    remoteAddress: request.socket.remoteAddress,
    headers: Object.freeze({ ...request.headers }),
  };
}

/** The token of a connection: `?token=` in the URL, else the first offered sub-protocol. */
function tokenOf(request: IncomingMessage): string | undefined {
  const query = new URL(request.url ?? '/', 'http://localhost').searchParams.get('token');
  if (query) return query;
  const header = request.headers['sec-websocket-protocol'];
  const first = typeof header === 'string' ? header.split(',')[0].trim() : '';
  return first || undefined;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Closes a socket with 1001 and waits for it; a peer that never answers is cut after 2 s. */
function closeSocket(socket: WebSocket): Promise<void> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    closeWith(socket, 1001, 'Server shutting down');
  });
}
