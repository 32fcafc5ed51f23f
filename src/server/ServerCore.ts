import type { IncomingHttpHeaders } from 'node:http';
import { JSONRPCError, StatusError } from '../errors.js';
import type { Algorithm } from '../types.js';
import { Subscription } from 'rxjs';
import type { Announce, CallOrigin, DocServiceStats } from './docs/DocService.js';
import { notification, RpcErrorCode } from './jsonRpc.js';
import { KeyedQueue } from '../util/KeyedQueue.js';
import { LWWDocService } from './docs/LWWDocService.js';
import { OTDocService, type TransformIncoming } from './docs/OTDocService.js';
import type { ServerStore, StoreEvent } from './stores/ServerStore.js';
import { DEFAULT_CONCURRENT_LOADS } from './stores/ServerStore.js';
import { Subscriptions } from './Subscriptions.js';
import { compactReply, wantsCompactAck, wantsOption } from './compactAck.js';
import { replyWithHistory } from './reloadHistory.js';
import { CATCH_UP_SNAPSHOT_OPTION } from './docs/smallerCatchUp.js';
import { SentBroadcasts } from './SentBroadcasts.js';
import { eachAtMost } from '../util/eachAtMost.js';
import { Slots } from '../util/Slots.js';
import { readChanges, readDocId, readDocIds, readRev, invalid } from './validate.js';

/** A client connection as the authorization hook sees it. */
export interface Connection {
  /** Server-assigned id; stamped on committed OT changes as `clientId`. */
  readonly id: string;
  /** From the `?token=` URL query, else the first `Sec-WebSocket-Protocol` value. */
  readonly token?: string | undefined;
  /** The upgrade request's `Origin` header (browsers always send it): check it when auth is by cookie. */
  readonly origin?: string | undefined;
  /** The peer's IP address (a proxy's, behind one: then the header the proxy sets, `x-real-ip` or the right-most `x-forwarded-for` entry, if every connection comes through it: a client can send these itself). */
  readonly remoteAddress?: string | undefined;
  /** The upgrade request's headers (cookies, `user-agent`…), read-only. */
  readonly headers?: Readonly<IncomingHttpHeaders> | undefined;
}

/**
 * Decides whether a connection may call `method` on `docId`. Only `true` grants: anything else
 * (`false`, `undefined`, a truthy `'no'`) refuses (403 `READ_FORBIDDEN`/`WRITE_FORBIDDEN`;
 * `subscribe` silently leaves the id out). Throw a `StatusError` to answer the call with its code.
 * In `subscribe`, which asks about many ids at once, only a `StatusError(401)` answers the whole
 * call (nothing is subscribed): throw it for what concerns the whole connection (an expired
 * token), and return `false` per doc; another StatusError leaves its id out, as `false` does. Any
 * other throw answers -32000 and is reported (`subscribe` leaves that id out). `commitChanges`
 * also asks `getChangesSince` of the doc: a connection that may not read it is answered with its
 * own changes only.
 */
export type Authorize = (connection: Connection, method: string, docId: string) => boolean | Promise<boolean>;

// Here rather than in ConnectionAdmission.ts: that file's .d.ts imports `ws`, and an app whose
// tsc reached it from startServer.d.ts needed @types/ws.
/**
 * The connect-time verdict on a connection: admit (`true`), refuse with 4401 (`false`), or refuse
 * with this close code (see `StartServerOptions.authorizeConnection`).
 */
export type AuthorizeConnection = (connection: Connection) => boolean | number | Promise<boolean | number>;

/** Picks the algorithm of a document. */
export type AlgorithmFor = (docId: string) => Algorithm;

/** Options of {@link ServerCore}. */
export interface ServerCoreOptions {
  /** Where documents live. */
  store: ServerStore;
  /** Which algorithm each document uses. */
  algorithmFor: AlgorithmFor;
  /** Authorization hook. */
  authorize: Authorize;
  /** Largest accepted change (UTF-8 bytes of its JSON). */
  maxChangeBytes: number;
  /** Snapshot after this many changes (OT) or commits (LWW). */
  snapshotEvery: number;
  /** How many of its latest change ids a loaded OT document remembers (default 50,000; OT documents only; see `StartServerOptions`). */
  rememberedChangeIds?: number | undefined;
  /** The most op pairs one OT commit's transform may cost before it is refused with 409 `{ scope: 'doc' }` (default: no limit; see `StartServerOptions.maxTransformWork`). */
  maxTransformWork?: number | undefined;
  /** Documents kept loaded in memory. */
  cacheSize: number;
  /** Most ids one `subscribe` call may carry, and most documents one connection may follow. */
  maxSubscriptions: number;
  /** The server clock (ms epoch). */
  now: () => number;
  /** Sends an already serialised notification frame to one connection. */
  send: (connectionId: string, frame: string) => void;
  /** Counters to update. */
  stats: DocServiceStats;
  /** Receives faults with no caller to answer. */
  onError: (error: unknown) => void;
  /** The OT transform of incoming batches (default `transformIncomingChanges`; tests only). */
  transformIncoming?: TransformIncoming | undefined;
  /** Whether `commitChanges` honours `{ compactAck: true }` (default true; tests turn it off to act as the anchor). */
  compactAcks?: boolean | undefined;
  /** Whether `getChangesSince` honours `{ orSnapshot: true }` (default true; off to act as the anchor). */
  catchUpSnapshots?: boolean | undefined;
  /** The fewest changes such a catch-up is measured from (default `CATCH_UP_MEASURE_FROM`; a test hook). */
  catchUpSnapshotsFrom?: number | undefined;
}

type Method = (connection: Connection, params: unknown[]) => Promise<unknown>;

/**
 * Most documents a resync reloads at once (see `ServerCore.resync`) with the default load slots
 * ({@link MAX_LOADS}); two fewer than the slots a store sizes (`ServerStore.concurrentLoads`). A
 * reload holds one of the store's connections while it reads; all at once, they queued every
 * commit behind them in the pool, for as long as the whole resync took (`bench/resyncLoad.js`).
 * They take the load slots too; this bounds how many documents' locks a resync holds at once,
 * waiting for those.
 */
export const RESYNC_RELOADS = 4;

/**
 * Most documents the server loads from its store at once, for all its calls together, unless the
 * store says how many it serves well (`ServerStore.concurrentLoads`; PostgreSQL: from its pool).
 * A load holds one of the store's connections (PostgreSQL) or reads files on Node's thread pool
 * (files). A subscribe's loads wait behind every other call's; more than {@link RESYNC_RELOADS},
 * so a resync's reloads leave room for those.
 */
export const MAX_LOADS = DEFAULT_CONCURRENT_LOADS;

/** Methods that need read access; every other document method needs write access. */
const READ_METHODS: ReadonlySet<string> = new Set(['subscribe', 'getDoc', 'getChangesSince']);

/**
 * The transport-independent server: method table, authorization, routing to the OT or LWW
 * service, subscriptions and notification fan-out. `startServer` feeds it decoded requests.
 *
 * Per call the order is: docId check (400) → authorization (403) → tombstone (410) → argument
 * checks (400/413, op paths and depths included: `validate.ts`) → the method (an OT commit also
 * refuses, 400 `INVALID_CHANGE`, a `copy` or `move` that would nest the doc past `MAX_DEPTH` as
 * it applies the changes: the whole call, nothing stored). So a client that may not access a
 * document learns nothing about it, not even whether it was deleted.
 */
export class ServerCore {
  private readonly lock = new KeyedQueue();
  /** Per connection: its subscribes and unsubscribes, one at a time. */
  private readonly inOrder = new KeyedQueue();
  private readonly subscriptions = new Subscriptions();
  private readonly sentBroadcasts = new SentBroadcasts();
  private readonly ot: OTDocService;
  private readonly lww: LWWDocService;
  private readonly methods: ReadonlyMap<string, Method>;
  private readonly unwatch: (() => void) | undefined;
  /** Set by `close`: a resync under way starts no more reloads. */
  private closing = false;
  /** Per connection: its subscribe waiting for its docs' loads, unsubscribed if it disconnects. */
  private readonly subscribing = new Map<string, Subscription>();
  /**
   * Connections that disconnected with calls still queued behind each other (`inOrder`), until
   * those are over: a subscribe of theirs that starts meanwhile loads nothing (see {@link disconnect}).
   */
  private readonly gone = new Set<string>();
  /** Most docs a resync reloads at once ({@link RESYNC_RELOADS} with the default load slots). */
  private readonly resyncReloads: number;

  /** @param options store, hooks, limits and sinks */
  constructor(private readonly options: ServerCoreOptions) {
    const remembered = options.rememberedChangeIds;
    // NaN or 0 would forget every id a commit needs to recognise a resend.
    if (remembered !== undefined && (!Number.isInteger(remembered) || remembered < 1)) {
      throw new RangeError(`ServerCore: rememberedChangeIds must be a positive integer, not ${remembered}`);
    }
    const loads = options.store.concurrentLoads ?? MAX_LOADS;
    if (!Number.isInteger(loads) || loads < 1) throw new RangeError(`ServerCore: the store's concurrentLoads must be a positive integer, not ${loads}`);
    // As many fewer than the loads as by default: a resync's reloads leave a commit's load room.
    this.resyncReloads = Math.max(1, loads - (MAX_LOADS - RESYNC_RELOADS));
    const serviceOptions = {
      store: options.store,
      lock: this.lock,
      loads: new Slots(loads),
      now: options.now,
      snapshotEvery: options.snapshotEvery,
      rememberedChangeIds: options.rememberedChangeIds,
      maxChangeBytes: options.maxChangeBytes,
      maxTransformWork: options.maxTransformWork,
      cacheSize: options.cacheSize,
      announce: this.announce,
      stats: options.stats,
      onError: options.onError,
      // Followed docs stay loaded only where other processes write the store: their news is
      // announced from the loaded doc. A store only this process writes needs none of that, and
      // `cacheSize` bounds the cache there.
      isFollowed: options.store.watch ? (docId: string) => this.subscriptions.subscribers(docId).size > 0 : undefined,
    };
    this.ot = new OTDocService(serviceOptions, options.transformIncoming);
    this.lww = new LWWDocService(serviceOptions);
    // A store shared with other server processes reports their writes: catch up and fan out.
    this.unwatch = options.store.watch?.((event) => this.storeEvent(event));
    this.methods = new Map<string, Method>([
      // One connection's subscribes and unsubscribes take effect in the order they came: a
      // subscribe waits for the authorize hook, and an unsubscribe sent right after it (a client
      // that tracks and untracks at once) must not be overtaken by it.
      ['subscribe', (connection, params) => this.inOrder.run(connection.id, () => this.subscribe(connection, params))],
      ['unsubscribe', (connection, params) =>
        this.inOrder.run(connection.id, () => {
          const docIds = readDocIds(params[0], options.maxSubscriptions);
          this.sentBroadcasts.forget(connection.id, docIds);
          return this.subscriptions.remove(connection.id, docIds);
        }),
      ],
      ['getDoc', async (connection, params) => {
        const docId = await this.admit(connection, 'getDoc', params);
        return this.service(docId).getDoc(docId);
      }],
      ['getChangesSince', async (connection, params) => {
        const docId = await this.admit(connection, 'getChangesSince', params);
        const service = this.service(docId);
        await service.assertLive(docId);
        const rev = readRev(params[1], 'rev');
        // Our client may ask for a snapshot instead of a long history (`smallerCatchUp`).
        return options.catchUpSnapshots !== false && wantsOption(params[2], CATCH_UP_SNAPSHOT_OPTION) ? service.changesOrSnapshot(docId, rev, options.catchUpSnapshotsFrom) : service.getChangesSince(docId, rev);
      }],
      ['commitChanges', async (connection, params) => {
        // The reply's catch-up is what `getChangesSince` would answer: asked beside the write (not
        // after it), a connection that may write but not read is answered with its own changes only.
        const docId = readDocId(params[0]);
        const [, readable] = await Promise.all([
          this.admit(connection, 'commitChanges', params),
          this.mayRead(connection, 'getChangesSince', docId).catch(() => false),
        ]);
        const service = this.service(docId);
        // A deleted document answers 410 before its arguments are looked at.
        await service.assertLive(docId);
        // Of a third param (CommitChangesOptions) only our `compactAck` is honoured; the anchor's
        // (allowRootReplace, forceCommit…) never are from a client (§1.9).
        const changes = readChanges(params[1], options.maxChangeBytes);
        const result = await service.commitChanges(docId, changes, { ...origin(connection), mayRead: readable });
        if (options.compactAcks === false || !wantsCompactAck(params[2])) return result;
        // Our client: a re-based batch's reply carries the history its reload would ask for next,
        // if the connection may read it; a failed read leaves the reply as it was, and the reload
        // then meets the error itself.
        const withHistory = readable && result.docReloadRequired;
        const whole = withHistory ? replyWithHistory(result, await service.getChangesSince(docId, 0).catch(() => [])) : result;
        return compactReply(whole, changes, service.algorithm, (changeId) => this.sentBroadcasts.has(connection.id, docId, changeId));
      }],
      ['deleteDoc', async (connection, params) => {
        const docId = await this.admit(connection, 'deleteDoc', params);
        await this.service(docId).deleteDoc(docId, origin(connection));
        return undefined;
      }],
      ['undeleteDoc', async (connection, params) => {
        const docId = await this.admit(connection, 'undeleteDoc', params);
        return this.service(docId).undeleteDoc(docId);
      }],
    ]);
  }

  /** Whether `method` is one the server answers. */
  hasMethod(method: string): boolean {
    return this.methods.has(method);
  }

  /**
   * Runs one request.
   *
   * @param connection who is calling
   * @param method the method name
   * @param params positional params
   * @return the method's result (`undefined` for void methods)
   * @throws JSONRPCError -32000 `Unknown method '<name>'.` (the anchor's code, not -32601), or a
   *   `StatusError` for refused calls
   */
  call(connection: Connection, method: string, params: unknown[]): Promise<unknown> {
    const run = this.methods.get(method);
    if (!run) return Promise.reject(new JSONRPCError(RpcErrorCode.serverError, `Unknown method '${method}'.`));
    return run(connection, params);
  }

  /** Subscriptions held in all (one per document per connection), closed connections' included until `disconnect`. */
  subscriptionCount(): number {
    return this.subscriptions.size;
  }

  /**
   * Forgets a closed connection's subscriptions, and stops its subscribe waiting for loads (if
   * any); its subscribes queued behind that one (our client sends them in one batch) load nothing.
   */
  disconnect(connectionId: string): void {
    this.subscribing.get(connectionId)?.unsubscribe();
    this.forgetOnceIdle(connectionId);
    this.subscriptions.removeConnection(connectionId);
    this.sentBroadcasts.forget(connectionId);
  }

  /** Notes a closed connection as {@link gone} until the calls of it queued or under way are over. */
  private forgetOnceIdle(connectionId: string): void {
    if (this.gone.has(connectionId) || !this.inOrder.isBusy(connectionId)) return;
    this.gone.add(connectionId);
    void this.inOrder.settled(connectionId).then(() => this.gone.delete(connectionId));
  }

  /** Waits for every queued commit, delete and snapshot, then closes the store. */
  async close(): Promise<void> {
    this.unwatch?.();
    this.closing = true;
    this.ot.close();
    this.lww.close();
    await this.lock.idle();
    await this.options.store.close();
  }

  /** Another process wrote to the shared store: loaded documents read on (or reload) and announce. */
  private storeEvent(event: StoreEvent): void {
    if (event.type === 'resync') return this.resync();
    const service = this.service(event.docId);
    const refresh = event.type === 'commit' ? service.refresh(event.docId, 'read-on', event.lastRev, event.carried) : service.refresh(event.docId, 'reload');
    refresh.catch((error: unknown) => this.options.onError(error));
  }

  /**
   * After a gap in the store's reports: reloads every loaded document, {@link RESYNC_RELOADS} at a
   * time (two fewer than the load slots, if the store sized them: `ServerStore.concurrentLoads`), so commits meanwhile find the store's connections free (a document not reloaded yet is
   * committed to as it is held: a commit that lost a race reads on). Once the server closes it
   * starts no more (those under way hold the doc's lock, which `close` waits for).
   */
  private resync(): void {
    // A doc read after the report (a load still queued now) is not read again.
    const loaded = [this.ot, this.lww].flatMap((service) => service.loadedDocIds().map((docId) => ({ service, docId, reportedAt: service.loadsSoFar() })));
    void eachAtMost(this.resyncReloads, loaded, async ({ service, docId, reportedAt }) => {
      if (!this.closing) await service.refresh(docId, 'reload', 0, undefined, reportedAt).catch((error: unknown) => this.options.onError(error));
    });
  }

  private service(docId: string): OTDocService | LWWDocService {
    return this.options.algorithmFor(docId) === 'lww' ? this.lww : this.ot;
  }

  /** Reads the docId (400) and authorizes the call (403). */
  private async admit(connection: Connection, method: string, params: unknown[]): Promise<string> {
    const docId = readDocId(params[0]);
    if ((await this.options.authorize(connection, method, docId)) !== true) {
      throw new StatusError(403, `${READ_METHODS.has(method) ? 'READ' : 'WRITE'}_FORBIDDEN:${docId}`);
    }
    return docId;
  }

  /**
   * Subscribes to every id the connection may read; refused ids are left out of the result. A
   * StatusError(401) the hook throws for any id answers the whole call (nothing is subscribed).
   * A deleted document is left out too, and the client is sent `docDeleted` for it (§1.5.1).
   * The subscription starts before the tombstone is looked at: a delete that lands meanwhile is
   * then either seen here or announced to this connection (it was announced to nobody when
   * the look came first, and the client followed a deleted doc it was never told of).
   * Its loads wait for the server's load slots behind every other call's ({@link MAX_LOADS}).
   * A doc the store cannot load for now (a 503: the database is unreachable) refuses the call
   * with a retryable 503 and none of its new subscriptions is kept: followed but not loaded, it
   * would hear nothing of other processes. It is refused as soon as one such doc is found, and
   * its other docs' loads still queued are dropped (unless another call waits on them), as they
   * are when its connection closes: under the overload that made the 503, they were work for nobody.
   */
  private async subscribe(connection: Connection, params: unknown[]): Promise<string[]> {
    // One subscribe of a connection at a time (`inOrder`).
    if (this.gone.has(connection.id)) throw connectionClosed();
    const waits = new Subscription();
    this.subscribing.set(connection.id, waits);
    try {
      return await this.subscribeUntil(connection, params, waits);
    } finally {
      this.subscribing.delete(connection.id);
      // Refused (or its connection gone): its loads still queued are work for nobody.
      waits.unsubscribe();
    }
  }

  /** {@link subscribe}, its looks at the docs given up once `waits` is unsubscribed (the connection closed). */
  private async subscribeUntil(connection: Connection, params: unknown[], waits: Subscription): Promise<string[]> {
    const { maxSubscriptions } = this.options;
    const ids = [...new Set(readDocIds(params[0], maxSubscriptions))];
    const allowed = await Promise.all(ids.map((docId) => this.mayRead(connection, 'subscribe', docId)));
    const readable = ids.filter((_id, index) => allowed[index]);
    const added = readable.filter((docId) => !this.subscriptions.subscribers(docId).has(connection.id));
    if (this.subscriptions.countFor(connection.id) + added.length > maxSubscriptions) {
      throw invalid(`a connection may follow at most ${maxSubscriptions} documents`);
    }
    // The connection closed meanwhile: its subscriptions are gone, and nobody reads the answer.
    if (waits.closed) throw connectionClosed();
    this.subscriptions.add(connection.id, readable);
    const looks = await settledUnless(readable.map((docId) => this.isDeleted(docId, waits)), transient, waits);
    if (waits.closed) throw connectionClosed();
    const unloaded = readable.filter((_id, index) => looks[index] && transient(looks[index]));
    if (unloaded.length) {
      // A followed doc must be loaded to hear other processes' commits: refuse, the client asks again.
      this.subscriptions.remove(connection.id, added);
      const more = unloaded.length > 1 ? ` and ${unloaded.length - 1} more` : '';
      throw new StatusError(503, `Could not load ${unloaded[0]}${more} to follow it; retry`, { scope: 'doc', docIds: unloaded });
    }
    // A doc that will not load for good (damaged, of the other algorithm) is reported and followed
    // as before: refusing would stop the client's other docs too, its retries asking for the same list.
    for (const look of looks) if (look?.status === 'rejected' && !(look.reason instanceof StatusError)) this.options.onError(look.reason);
    const deleted = looks.map((look) => look?.status === 'fulfilled' && look.value);
    const gone = readable.filter((_id, index) => deleted[index]);
    this.subscriptions.remove(connection.id, gone);
    for (const docId of gone) this.options.send(connection.id, JSON.stringify(notification('docDeleted', { docId })));
    return readable.filter((_id, index) => !deleted[index]);
  }

  /**
   * The authorization hook's answer for one doc: only `true` grants. Another StatusError refuses
   * that doc, as `false` does (it is the app's answer, not a fault); any other throw is reported
   * and refuses. @throws a 401 the hook threw: an expired token concerns the whole connection and
   * must reach the client, not quietly leave docs unfollowed
   */
  private async mayRead(connection: Connection, method: string, docId: string): Promise<boolean> {
    try {
      return (await this.options.authorize(connection, method, docId)) === true;
    } catch (error) {
      if (error instanceof StatusError && error.code === 401) throw error;
      // One doc's refusal must not fail the call: its client would retry the same ids for good.
      if (!(error instanceof StatusError)) this.options.onError(error);
      return false;
    }
  }

  /** Whether a doc is deleted (a 410 from its service says so too). @throws what loading it threw otherwise */
  private async isDeleted(docId: string, until?: Subscription): Promise<boolean> {
    try {
      return Boolean(await this.service(docId).tombstoneOf(docId, until));
    } catch (error) {
      if (error instanceof StatusError && error.code === 410) return true;
      throw error;
    }
  }

  /** Fan-out: one serialisation, then every subscriber except the origin. */
  private readonly announce: Announce = (docId, method, params, exceptConnectionId) => {
    const subscribers = this.subscriptions.subscribers(docId);
    if (subscribers.size === 0) return;
    const frame = JSON.stringify(notification(method, params));
    // OT changes sent here need not be repeated in a compact commit reply to the same connection.
    const sentIds = method === 'changesCommitted' && params.changes && this.options.algorithmFor(docId) === 'ot' ? params.changes.map((change) => change.id) : undefined;
    for (const connectionId of subscribers) {
      if (connectionId === exceptConnectionId) continue;
      this.options.send(connectionId, frame);
      if (sentIds) this.sentBroadcasts.record(connectionId, docId, sentIds);
    }
  };
}

function origin(connection: Connection): CallOrigin {
  return { connectionId: connection.id };
}

/** What a subscribe of a connection that closed meanwhile throws (nobody reads it). */
function connectionClosed(): StatusError {
  return new StatusError(503, 'The connection closed while it subscribed');
}

/** A look at a doc that failed because the store cannot load it for now (a 503). */
function transient(look: PromiseSettledResult<boolean>): boolean {
  return look.status === 'rejected' && look.reason instanceof StatusError && look.reason.code === 503;
}

/**
 * What `Promise.allSettled` resolves with, or, as soon as one settles as `enough` says or `waits`
 * is unsubscribed, what settled so far (the others' places empty; their failures are handled here).
 */
function settledUnless<T>(promises: Array<Promise<T>>, enough: (settled: PromiseSettledResult<T>) => boolean, waits: Subscription): Promise<Array<PromiseSettledResult<T> | undefined>> {
  const settled: Array<PromiseSettledResult<T> | undefined> = promises.map(() => undefined);
  let left = promises.length;
  return new Promise((resolve) => {
    if (left === 0) resolve(settled);
    waits.add(() => resolve(settled));
    promises.forEach((promise, index) => {
      void promise
        .then((value) => ({ status: 'fulfilled' as const, value }), (reason: unknown) => ({ status: 'rejected' as const, reason }))
        .then((result) => {
          settled[index] = result;
          if (enough(result) || --left === 0) resolve(settled);
        });
    });
  });
}
