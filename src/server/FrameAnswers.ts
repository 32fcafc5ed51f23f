import { CAPABILITIES_METHOD, serverCapabilities } from './capabilities.js';
import { classifyMessage, errorResponse, isExpectedError, isStoreFault, RpcErrorCode, sniffId, successResponse, toErrorObject } from './jsonRpc.js';
import type { JsonRpcResponse } from './jsonRpc.js';
import type { Connection } from './ServerCore.js';
import type { ServerCapabilities } from '../types.js';
import { RecentKeys } from '../util/RecentKeys.js';

/** The counters `FrameAnswers` keeps (part of the server's `stats`). */
export interface FrameStats {
  frames: number;
  requests: number;
  errors: number;
  ignoredNotifications: number;
}

/** What `FrameAnswers` needs of the server around it. */
export interface FrameAnswersDeps {
  /** Runs one request's method (documents, subscriptions…): its result, or a throw the reply carries as an error. */
  call: (connection: Connection, method: string, params: unknown[]) => Promise<unknown>;
  /** Counters to count frames, requests, errors and ignored notifications in. */
  stats: FrameStats;
  /** Frames over this many bytes are refused unread, with a 413 for the id found at their start. */
  maxFrameBytes: number;
  /** Most requests in one batch array. */
  maxBatchLength: number;
  /** Only the anchor's wire: batch arrays and `getCapabilities` are refused as @dabble/patches servers refuse them. */
  anchorWire: boolean;
  /** Ms between heartbeats (0: none): a `ping` is answered here with it, and `heartbeat` marks the caller. */
  heartbeatMs: number;
  /** The connection called `ping`: it gets a heartbeat on every tick from now on. */
  heartbeat: (connectionId: string) => void;
  /** True once the server shuts down: requests are answered with a retryable 503. */
  closing: () => boolean;
  /**
   * Told of every unexpected failure of a method (expected ones, like a 404, only reach the
   * caller), and of a store fault once per doc (a busy doc would repeat it on every call).
   */
  onError: (error: unknown) => void;
  /** Most UTF-16 units in a batch's reply array (default `BATCH_REPLY_CHARS`); past it each reply is a frame of its own. */
  batchReplyChars?: number;
}

/**
 * Default most UTF-16 units (about bytes, for JSON) in a batch's one reply frame: 64 Mi. The
 * replies of a larger batch (a resync of 1,000 docs of 1 MB, past what one string can hold) are
 * sent one frame each, as the client matches replies by id.
 */
export const BATCH_REPLY_CHARS = 64 * 1024 * 1024;

/** How many docs (or messages) whose store fault was reported are remembered, so not reported again. */
const REPORTED_FAULTS = 1024;

/**
 * JSON-RPC 2.0 over frames, the server's side: what reply a frame gets.
 *
 * A frame is parsed (a parse error is answered with -32700 and id `null`), then each request in
 * it (one, or a batch array of up to `maxBatchLength`) is checked and answered: `ping`,
 * `getCapabilities` and the shutdown's 503 here, everything else through `call`. Notifications get
 * no reply; a batch gets one array of the replies its requests earned, in their order, or no
 * frame at all if it held only notifications. A batch whose replies add up to more than
 * `batchReplyChars` gets them as frames of their own instead, in the same order. A reply that
 * cannot be serialised (a result past the longest string V8 makes) is answered 500
 * `{ scope: 'reply' }` and reported to `onError`: no request goes unanswered. A store fault (a
 * corrupt data directory) is answered 500 and reported to `onError` the first time for each doc
 * (of the last 1,024 reported: an older one is reported again, once). Everything is counted in `stats`.
 *
 * @example
 * const answers = new FrameAnswers({ call: core.call.bind(core), stats, maxFrameBytes: 8 << 20, maxBatchLength: 1000, anchorWire: false, heartbeatMs: 15_000, heartbeat: id => beating.add(id), closing: () => false, onError: console.error });
 * const reply = await answers.reply(connection, Buffer.from('{"jsonrpc":"2.0","id":1,"method":"getDoc","params":["a"]}'));
 */
export class FrameAnswers {
  /** What `getCapabilities` answers. */
  private readonly capabilities: ServerCapabilities;
  /** Docs (or, for a fault naming none, messages) whose store fault was reported already: the last {@link REPORTED_FAULTS}. */
  private readonly storeFaultsReported = new RecentKeys(REPORTED_FAULTS);

  constructor(private readonly deps: FrameAnswersDeps) {
    this.capabilities = serverCapabilities(deps.maxBatchLength);
  }

  /**
   * The reply frame to `frame` from `connection`, the frames of a batch's replies too large for
   * one, or `undefined` when it earns none. `started`, if given, is told before anything is awaited
   * how many requests the frame holds (1, or a batch's length; not called for a frame refused whole), so the
   * caller can count them as in flight until the reply is out.
   */
  async reply(connection: Connection, frame: Buffer, started?: (requests: number) => void): Promise<string | string[] | undefined> {
    const { stats, maxFrameBytes, maxBatchLength } = this.deps;
    stats.frames++;
    if (frame.length > maxFrameBytes) {
      stats.requests++;
      stats.errors++;
      const id = sniffId(frame.subarray(0, 512).toString('utf8'));
      return JSON.stringify(errorResponse(id, { code: 413, message: `Frame of ${frame.length} bytes is over the ${maxFrameBytes}-byte limit`, data: { scope: 'frame', limit: maxFrameBytes } }));
    }
    let value: unknown;
    try {
      value = JSON.parse(frame.toString('utf8'));
    } catch {
      stats.errors++;
      return JSON.stringify(errorResponse(null, { code: RpcErrorCode.parseError, message: 'Parse error' }));
    }
    if (!Array.isArray(value)) {
      started?.(1);
      const reply = await this.answer(connection, value);
      return reply && this.serialise(reply);
    }
    if (this.deps.anchorWire || value.length === 0 || value.length > maxBatchLength) {
      stats.errors++;
      const reason = this.deps.anchorWire ? undefined : value.length === 0 ? 'empty batch' : `a batch holds at most ${maxBatchLength} requests`;
      return JSON.stringify(errorResponse(null, reason === undefined ? { code: RpcErrorCode.invalidRequest, message: 'Invalid Request' } : { code: RpcErrorCode.invalidRequest, message: 'Invalid Request', data: reason }));
    }
    started?.(value.length);
    const replies = (await Promise.all(value.map((item) => this.answer(connection, item)))).filter((reply): reply is JsonRpcResponse => reply !== undefined);
    if (replies.length === 0) return undefined;
    // Serialised one by one: the whole array in one JSON.stringify threw past V8's longest string
    // (a RangeError, and no reply at all: found in review with 1,000 getDoc of 1 MB docs).
    const texts = replies.map((reply) => this.serialise(reply));
    const chars = texts.reduce((sum, text) => sum + text.length + 1, 1);
    return chars <= (this.deps.batchReplyChars ?? BATCH_REPLY_CHARS) ? `[${texts.join(',')}]` : texts;
  }

  /** `reply` as JSON, or a 500 under its id when it cannot be serialised (reported to `onError`). */
  private serialise(reply: JsonRpcResponse): string {
    try {
      return JSON.stringify(reply);
    } catch (error) {
      this.deps.onError(error);
      this.deps.stats.errors++;
      return JSON.stringify(errorResponse(reply.id, { code: 500, message: 'The reply could not be serialised (too large?)', data: { scope: 'reply' } }));
    }
  }

  /** Tells `onError` of an unexpected failure; of a store fault only the first time for its doc. */
  private report(error: unknown): void {
    if (isStoreFault(error)) {
      const key = error.docId === undefined ? `message:${error.message}` : `doc:${error.docId}`;
      if (!this.storeFaultsReported.add(key)) return;
    }
    this.deps.onError(error);
  }

  /** The response one message earns, or `undefined` for a notification. */
  private async answer(connection: Connection, value: unknown): Promise<JsonRpcResponse | undefined> {
    const { stats, heartbeatMs, anchorWire } = this.deps;
    const message = classifyMessage(value);
    if (message.kind === 'notification') {
      stats.ignoredNotifications++;
      return undefined;
    }
    stats.requests++;
    if (message.kind === 'invalid') {
      stats.errors++;
      return errorResponse(message.id, { code: RpcErrorCode.invalidRequest, message: 'Invalid Request', data: message.reason });
    }
    if (this.deps.closing()) {
      stats.errors++;
      return errorResponse(message.id, { code: 503, message: 'SERVER_CLOSING: the server is shutting down; retry', data: { scope: 'server' } });
    }
    // A liveness probe: answered here, and the caller is told it will hear a heartbeat instead.
    if (message.method === 'ping' && heartbeatMs > 0) {
      this.deps.heartbeat(connection.id);
      return successResponse(message.id, { heartbeatMs });
    }
    if (message.method === CAPABILITIES_METHOD && !anchorWire) return successResponse(message.id, this.capabilities);
    try {
      return successResponse(message.id, await this.deps.call(connection, message.method, message.params));
    } catch (error) {
      if (!isExpectedError(error)) this.report(error);
      stats.errors++;
      return errorResponse(message.id, toErrorObject(error));
    }
  }
}
