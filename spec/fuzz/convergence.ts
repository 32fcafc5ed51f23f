import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { inspect } from 'node:util';
import { BehaviorSubject, Subscription, combineLatest, concatMap, filter, firstValueFrom, merge, of, skip, timer, type Observable } from 'rxjs';
import { applyPatch } from '../../src/algorithms/applyPatch.js';
import { rebaseChanges } from '../../src/algorithms/rebaseChanges.js';
import { transformIncomingChanges } from '../../src/algorithms/transformIncomingChanges.js';
import { Patches } from '../../src/client/Patches.js';
import type { PatchesDoc } from '../../src/client/PatchesDoc.js';
import { DocNotTrackedError, NetworkError, StoreError, TimeoutError } from '../../src/errors.js';
import { PatchesSync } from '../../src/net/PatchesSync.js';
import { docRetryDelay } from '../../src/net/errorPolicy.js';
import { InMemoryStore } from '../../src/stores/InMemoryStore.js';
import { IndexedDBStore } from '../../src/stores/IndexedDBStore.js';
import type { Algorithm, Change, JSONPatchOp, PatchesSnapshot } from '../../src/types.js';
import { startChaosProxy, type ChaosProxy } from '../helpers/chaosProxy.js';
import { connectClient } from '../helpers/wsClient.js';
import { BOARD_LISTS, bigEdit, cardEdit, type CardEdit, extendedLwwEdit, extendedOtEdit, isCard, lwwEdit, otEdit, otRawEdit, witnessEdit, type Edit, type FuzzDoc, type Json } from './edits.js';
import { fileServerFleet, type FuzzFleet } from './fleet.js';
import { forkRng, mulberry32, type Rng } from './random.js';
import { RecordingStore } from './recordingStore.js';
import { ServerErrors } from './serverErrors.js';
import { StoreFaults } from './storeFaults.js';
import { WireLog, type CommitExchange } from './wireLog.js';
import { cardCensus, cardIds, cardTrail, cardsIn, valueAt, type CardIntent } from './cardCensus.js';
import { enableRichText } from '../../src/txt/enableRichText.js';

/** Options of {@link runConvergence}. */
export interface ConvergenceOptions {
  /** Fixes the script of actions and every fault parameter. */
  seed: number;
  /** Number of clients (default 5). */
  clients?: number;
  /** Number of random actions. */
  steps: number;
  /** Shared document ids; ids starting with `lww` are LWW docs, the others OT (default two of each). */
  docs?: readonly string[];
  /**
   * Liveness bound in ms for every wait on a real event (default 20 000): exceeding it is a
   * failure. With `storeFaults` or `serverErrors`, 31 s more (a doc's retries back off).
   */
  stuckAfter?: number;
  /** fsync the server's file store (default `true`, as the server runs by default). */
  fsync?: boolean;
  /** The server processes (default: one in-process server on a file store, made and closed by the run). */
  fleet?: FuzzFleet;
  /**
   * The clients' stores: `memory` (default) an `InMemoryStore` each; `idb` an `IndexedDBStore`
   * each (fake-indexeddb); `shared-idb` clients in groups of up to three share one database, each
   * with its own store object and connection, like tabs of one app that opted out of sharing the
   * connection; `tabs` the same groups electing one leader per database through the lease fallback
   * of `leadership$` (Node has no Web Locks): only the leader connects, the script takes a
   * database's clients offline together (as tabs of one browser go), and at the end each database
   * has exactly one leader and no follower holds a connection.
   */
  stores?: FuzzStores;
  /**
   * Every store call first waits 0–3 ms on a real timer (a store whose calls take a while, as
   * IndexedDB's do on a busy machine), so edits, server frames and other tabs' writes land while
   * a call is on its way; and now and then the user edits the doc whose server changes are being
   * written, in that very window.
   */
  slowStore?: boolean;
  /**
   * `basic` (default): the edits of `otEdit` and `lwwEdit`. `extended`: four edits in ten are
   * drawn instead from `extendedOtEdit`/`extendedLwwEdit` (keys needing JSON Pointer escapes,
   * numeric-string keys, arrays of arrays, deep paths, several mutations in one `change()`,
   * `reverse`/`unshift`, LWW parents switching between object, array and number), half the
   * witnesses use such keys, and the card edits (every mode: see `cardEdit`) also drag cards into
   * and out of the fuzz's `list`, where those edits race on them, and now and then make two
   * drags in one `change()`.
   */
  edits?: FuzzEdits;
  /**
   * One edit in eight is a big one (300–4,000 bytes, `bigEdit`) while the clients' budgets are
   * small (`maxStorageBytes` 800, `maxPayloadBytes` 5,000: on `Patches` for odd clients, so
   * changes are cut as they are made, on `PatchesSync` for even ones, so they are cut as they are
   * sent), so changes are split into pieces and batches. A piece the library adds is minted by it:
   * the oracle checks it as any other id.
   */
  big?: boolean;
  /**
   * Rate (0–1) of server error replies on a socket that stays open: that share of the clients'
   * commit, read, subscribe and delete calls gets 503, 500 or -32000, before the server sees the
   * request or instead of its real reply (`ServerErrors`). An injected 500 or -32000 may reach
   * `onError` (reported once, retried), an injected 503 never (retried quietly).
   */
  serverErrors?: number;
  /**
   * Rate (0–1) of store faults: that share of the sync engine's own store calls throws an
   * `AbortError` without running (`StoreFaults`, `FAULTABLE_STORE_METHODS`). Such an error may
   * reach `onError` (reported, retried), whatever wraps it. An edit's save that meets another
   * instance's write reads the doc again, so faults there (three in a row: `retryOnConflict`) fail
   * the save: the edit is rolled back and reported (`rolledBack`), and a witness so named is
   * excused (it must then be absent).
   */
  storeFaults?: number;
  /**
   * The server's `maxTransformWork`, set low (e.g. 20 op pairs), so commits written a few revs
   * behind the head are refused with 409 `TOO_FAR_BEHIND` and their clients catch up, rebase and
   * resend, under every fault of the run. The raw writer (a client of its own) drops an edit so
   * refused, as if never made. Default: the server's.
   */
  maxTransformWork?: number;
}

/** How the fuzz clients store their data (see `ConvergenceOptions.stores`). */
export type FuzzStores = 'memory' | 'idb' | 'shared-idb' | 'tabs';

/** Which edits the script makes (see `ConvergenceOptions.edits`). */
export type FuzzEdits = 'basic' | 'extended';

/** The modes of a run: where the clients store, which edits they make, which faults are injected. */
export type FuzzMode = Pick<ConvergenceOptions, 'stores' | 'slowStore' | 'edits' | 'big' | 'serverErrors' | 'storeFaults' | 'maxTransformWork'>;

/** The `big` mode's budgets, far below its edits. */
const SMALL_BUDGETS = { maxStorageBytes: 800, maxPayloadBytes: 5000 } as const;

/**
 * The share of OT edits followed by a card edit (`cardEdit`: a drag, a new card, a retitle…), a
 * `change()` of its own right after, drawn from a generator of its own: the script's draws, and
 * what the basic edits read of the doc, stay as they were.
 */
const CARD_EDIT_CHANCE = 0.5;

/** The share of card edits (other than adds) that another client races on the same card in the same tick. */
const CARD_RACE_CHANCE = 0.4;

/** Clients per database in the `shared-idb` and `tabs` modes. */
const TABS_PER_DATABASE = 3;
let fuzzRuns = 0;


/** A change id that never reached the server history, and why that is fine. */
export interface RebasedAway {
  client: number;
  docId: string;
  id: string;
  /** `server`: the server's transform emptied it, or its transformed ops did not apply and it was dropped; `client`: the client's rebase emptied it before it was sent. */
  by: 'server' | 'client';
}

/** What one run did and found. */
export interface ConvergenceReport {
  seed: number;
  /** The modes it ran in. */
  mode: FuzzMode;
  clients: number;
  steps: number;
  /** Everything that went wrong; empty means the run converged. */
  failures: string[];
  /** Minted OT changes that were provably transformed to nothing. */
  rebasedAway: RebasedAway[];
  /** The script that ran, one line per action (the tail is printed on failure). */
  trace: string[];
  /** Counters: what the run really exercised. */
  stats: Record<string, number>;
  /** Wall time in ms. */
  ms: number;
}

const DEFAULT_DOCS = ['notes-0', 'notes-1', 'lww-0', 'lww-1'] as const;

/** The liveness bound was exceeded: something that should happen never did. */
class Stuck extends Error {}

/** The ops of one LWW edit as its client stored them (`changes$`), each known by path and timestamp. */
interface LwwMinted {
  client: number;
  docId: string;
  ops: readonly JSONPatchOp[];
}

interface Minted {
  client: number;
  docId: string;
  id: string;
}

/** A witness edit (`witnessEdit`): `key` must read `value` in the final doc. */
interface Witness {
  client: number;
  docId: string;
  key: string;
  value: number;
  /** The id `change()` recorded it under (`rolledBack` names it if its save fails). */
  changeId?: string;
}

interface FuzzClient {
  index: number;
  /** Survives restarts, as IndexedDB survives a page reload. */
  store: RecordingStore;
  online$: BehaviorSubject<boolean>;
  proxy: ChaosProxy;
  jitter: Rng;
  patches: Patches;
  sync: PatchesSync;
  docs: Map<string, PatchesDoc<FuzzDoc>>;
  subscriptions: Subscription;
  restarts: number;
  /** Whether its app wants a connection (`connect()` until `disconnect()`; the tabs mode toggles it). */
  wantsConnection: boolean;
}

/** Whether a client leads right now (`leading$` replays its current value). */
function leadingNow(sync: PatchesSync): boolean {
  let leading = false;
  sync.leading$.subscribe(value => (leading = value)).unsubscribe();
  return leading;
}

/** Only these may reach `onError` under network faults; the other excuses are in the `error$` handler of `runConvergence`; anything else is a failure. */
function isNetworkClass(error: Error): boolean {
  return error instanceof NetworkError || error instanceof TimeoutError || error.name === 'NetworkError' || error.name === 'TimeoutError';
}

/** A commit the server refused as unappliable (400, scope 'change'). */
function refused(exchange: CommitExchange): boolean {
  const error = exchange.error as { code?: unknown; data?: { scope?: unknown } } | undefined;
  return error?.code === 400 && error.data?.scope === 'change';
}

/** A commit the server refused as too far behind its head for its transform (409 `TOO_FAR_BEHIND`, `maxTransformWork`). */
function tooFarBehind(exchange: CommitExchange): boolean {
  const error = exchange.error as { code?: unknown; message?: unknown } | undefined;
  return error?.code === 409 && typeof error.message === 'string' && error.message.startsWith('TOO_FAR_BEHIND');
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}${value.cause ? ` (cause: ${describe(value.cause)})` : ''}`;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A value as a failure shows it: util.inspect, so `undefined` members and holes are visible (JSON would hide them). */
function show(value: unknown): string {
  return inspect(value, { depth: null, breakLength: Infinity });
}

/**
 * Where two JSON documents first differ, as a JSON pointer with both sides; '' when equal.
 * Realm-agnostic on purpose (jest runs specs in a vm context, so an array built by the outer
 * realm's `structuredClone` has another `Array.prototype` than one parsed in the spec), but strict
 * about what JSON cannot hold: a member set to `undefined` differs from a missing one.
 */
function difference(a: unknown, b: unknown, path = ''): string {
  if (a === b) return '';
  const bothArrays = Array.isArray(a) && Array.isArray(b);
  const bothObjects = typeof a === 'object' && typeof b === 'object' && a !== null && b !== null && !Array.isArray(a) && !Array.isArray(b);
  if (!bothArrays && !bothObjects) return `at "${path}": ${show(a)} vs ${show(b)}`;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  if (bothArrays && (a as unknown[]).length !== (b as unknown[]).length) return `at "${path}": length ${(a as unknown[]).length} vs ${(b as unknown[]).length}`;
  for (const key of new Set([...Object.keys(left), ...Object.keys(right)])) {
    const inLeft = Object.prototype.hasOwnProperty.call(left, key);
    if (inLeft !== Object.prototype.hasOwnProperty.call(right, key)) return `at "${path}/${key}": only on the ${inLeft ? 'left' : 'right'} (${show(inLeft ? left[key] : right[key])})`;
    const d = difference(left[key], right[key], `${path}/${key}`);
    if (d) return d;
  }
  return '';
}

/** True when two JSON documents are equal (see {@link difference}). */
function sameJson(a: unknown, b: unknown): boolean {
  return difference(a, b) === '';
}

/** The CLI flags of a mode (the default ones left out). */
export function modeFlags(mode: FuzzMode): string {
  return [
    mode.stores && mode.stores !== 'memory' ? `--stores ${mode.stores}` : '',
    mode.slowStore ? '--slow-store' : '',
    mode.edits === 'extended' ? '--edits extended' : '',
    mode.big ? '--big' : '',
    mode.serverErrors ? `--server-errors ${mode.serverErrors}` : '',
    mode.storeFaults ? `--store-faults ${mode.storeFaults}` : '',
    mode.maxTransformWork ? `--max-transform-work ${mode.maxTransformWork}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** The replay command for a seed. */
export function replayCommand(seed: number, steps?: number, clients?: number, mode: FuzzMode = {}): string {
  const flags = modeFlags(mode);
  return `npm run fuzz -- --seed ${seed}${steps !== undefined ? ` --steps ${steps}` : ''}${clients !== undefined ? ` --clients ${clients}` : ''}${flags ? ` ${flags}` : ''}`;
}

/** A failed report as text: the seed, how to replay it, what failed, and the tail of the script. */
export function formatFailure(report: ConvergenceReport): string {
  const flags = modeFlags({ ...report.mode, stores: undefined });
  return [
    `convergence fuzz failed: seed ${report.seed} (${report.clients} clients, ${report.steps} steps, ${report.mode.stores ?? 'memory'} stores${flags ? `, ${flags}` : ''})`,
    `replay: ${replayCommand(report.seed, report.steps, report.clients, report.mode)}`,
    ...report.failures.map(f => `  ✗ ${f}`),
    'last actions:',
    ...report.trace.slice(-40).map(line => `  ${line}`),
  ].join('\n');
}

/**
 * The convergence fuzz: N real clients (Patches + an in-memory store + PatchesSync), each behind
 * its own chaos proxy, edit shared OT and LWW documents on the real reference server (file
 * store in a temp dir) while a seeded script drops, cuts and delays their connections, takes
 * them offline, restarts them on their surviving stores, and restarts the server. Then every
 * fault stops and, once everything is synced (awaited through `synced$`, never slept for), it
 * checks protocol §6 "Convergence":
 *
 * - every client's view and stored committed state equal the server head, with nothing pending;
 * - every OT change id a client minted is in the server log exactly once, or was provably
 *   transformed to nothing (the transform is recomputed from the recorded wire exchange or
 *   store write; see {@link RebasedAway}); no id in the log is unknown;
 * - every witness edit (a key of its own, see `witnessEdit`) of a live doc is in the final doc,
 *   so an edit lost before it was ever minted shows too;
 * - the OT log is dense 1..N and replays to the served state;
 * - no unhandled rejection, no server fault, no non-network error on `onError` (except the
 *   injected faults of `serverErrors` and `storeFaults` the error policy reports, each known as
 *   injected: see those options).
 *
 * A seed fixes the script and every fault parameter, not the OS's timing: a failing seed usually,
 * not always, fails again on replay.
 *
 * ## Example
 * ```ts
 * const report = await runConvergence({ seed: 7, steps: 80 });
 * if (report.failures.length) throw new Error(formatFailure(report));
 * ```
 *
 * @param options seed, size and bounds
 * @return the report (never throws for a convergence failure: read `failures`)
 */
/** The first five steps of a doc's retry ladder (1 + 2 + 4 + 8 + 16 s). */
const FAULT_LADDER_MS = [0, 1, 2, 3, 4].reduce((sum, attempt) => sum + (docRetryDelay(attempt) ?? 0), 0);

export async function runConvergence(options: ConvergenceOptions): Promise<ConvergenceReport> {
  const started = Date.now();
  // The raw writer edits rich text (`@txt`), as an editor bound to a field does.
  enableRichText();
  const { seed, steps } = options;
  const clientCount = options.clients ?? 5;
  /** The live docs: a deleted one is replaced by a new id of the same algorithm (`notes-0~1`). */
  const docIds = [...(options.docs ?? DEFAULT_DOCS)];
  const deletedDocs: string[] = [];
  // With faults on, a doc whose sync failed waits out the error policy's retry ladder, and each
  // retry may meet another injected fault: a wait also allows the ladder's first five steps (31 s).
  const faulty = Boolean(options.storeFaults || options.serverErrors);
  const stuckAfter = (options.stuckAfter ?? 20_000) + (faulty ? FAULT_LADDER_MS : 0);
  const rng = mulberry32(seed);
  const failures: string[] = [];
  const trace: string[] = [];
  const minted: Minted[] = [];
  /** OT change ids handed to `onRemoteDocDeleted` (the unsent work of a doc deleted elsewhere). */
  const handedOver = new Set<string>();
  /** OT change ids a client's own local delete discarded (its database's unsent work on the doc, by the user's choice). */
  const discardedByDelete = new Set<string>();
  /** LWW edits, and those a local delete or an untrack of their database discarded (as `discardedByDelete` and `discardable`). */
  const lwwMinted: LwwMinted[] = [];
  const lwwDiscarded = new Set<LwwMinted>();
  /** `docId path@ts` of every LWW op handed to `onRemoteDocDeleted`. */
  const lwwHandedOver = new Set<string>();
  const rebasedAway: RebasedAway[] = [];
  const witnesses: Witness[] = [];
  /** Edits whose save an injected store fault failed: rolled back from the view and reported (`rolledBack`). */
  const rolledBackByFaults = new Set<string>();
  /** Witnesses an untrack of their database discarded (as `discardable`). */
  const witnessesDiscarded = new Set<Witness>();
  // Each fault source draws from a generator of its own, so the script stays as it was.
  const serverErrors = options.serverErrors ? new ServerErrors(options.serverErrors, forkRng(seed, 'server-errors')) : undefined;
  const storeFaults = options.storeFaults ? new StoreFaults(options.storeFaults) : undefined;
  const wire = new WireLog(serverErrors);
  const stats: Record<string, number> = {
    edits: 0,
    editsDuringWrites: 0,
    witnesses: 0,
    witnessesDuringWrites: 0,
    witnessesChecked: 0,
    witnessesRolledBack: 0,
    drops: 0,
    kills: 0,
    delayBursts: 0,
    offline: 0,
    disconnects: 0,
    clientRestarts: 0,
    serverRestarts: 0,
    settles: 0,
    closes: 0,
    onlineAgain: 0,
    networkErrors: 0,
    rawEdits: 0,
    rawTooFarBehind: 0,
    leaderships: 0,
    untracks: 0,
    untrackDiscarded: 0,
    deletes: 0,
    revives: 0,
    mintedOnDeleted: 0,
    handedOver: 0,
    lwwOpsOnDeleted: 0,
    lwwOpsHandedOver: 0,
    richTextEdits: 0,
    textEdits: 0,
    revivedEditsRefused: 0,
    revivedOpensRefused: 0,
    untrackedEditsRefused: 0,
    deletesUndone: 0,
    extendedEdits: 0,
    bigEdits: 0,
    splitPieces: 0,
    serverErrorsReported: 0,
    storeFaultsReported: 0,
    cardEdits: 0,
    cardsAdded: 0,
    drags: 0,
    dragsAcross: 0,
    dragMoves: 0,
    twoDragChanges: 0,
    dragsRecordedAsNeighbour: 0,
    twoDragsWrittenByValue: 0,
    dragsOfCopies: 0,
    dragsPastPrimitives: 0,
    cardTitles: 0,
    cardTexts: 0,
    cardRemoves: 0,
    movesMinted: 0,
    cardsChecked: 0,
    cardsReplacedWhole: 0,
    cardsCopied: 0,
    cardsReAdded: 0,
    cardEditsStrayedAdds: 0,
    cardEditsStrayedWhole: 0,
    cardsTakenByListEdits: 0,
    cardEditsStrayedDrags: 0,
    cardTitlesChecked: 0,
    cardEditsChecked: 0,
    cardsTakenByTwoDrags: 0,
    cardsWrittenByTwoDrags: 0,
    cardRaces: 0,
  };
  /** `client docId` of each client whose database untracked the doc, until that client has opened it again. */
  const untrackedFor = new Set<string>();
  const algorithmOf = (docId: string): Algorithm => (docId.startsWith('lww') ? 'lww' : 'ot');
  const fail = (message: string) => failures.push(message);

  const onUnhandled = (reason: unknown) => fail(`unhandled rejection: ${describe(reason)}`);
  process.on('unhandledRejection', onUnhandled);

  // Every other seed, a catch-up of a few changes already comes as a snapshot when that is smaller.
  const serverOptions = { ...(seed % 2 === 1 ? { catchUpSnapshotsFrom: 2 } : {}), ...(options.maxTransformWork ? { maxTransformWork: options.maxTransformWork } : {}) };
  const fleet = options.fleet ?? (await fileServerFleet(clientCount, error => fail(`server fault: ${describe(error)}`), options.fsync ?? true, serverOptions));
  const proxies = await Promise.all(Array.from({ length: clientCount }, (_, i) => startChaosProxy(fleet.portOf(i), { random: forkRng(seed, `proxy-${i}`), ownPath: true })));

  /** Resolves with the first value satisfying `predicate`, or fails the run as stuck after `stuckAfter` ms. */
  const within = <T>(source$: Observable<T>, predicate: (value: T) => boolean, what: () => string, ms = stuckAfter): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Stuck(`stuck for ${ms} ms: ${what()}`)), ms);
    });
    return Promise.race([firstValueFrom(source$.pipe(filter(predicate))), bound]).finally(() => clearTimeout(timer));
  };

  const build = async (c: Omit<FuzzClient, 'patches' | 'sync' | 'docs' | 'subscriptions'> & Partial<FuzzClient>): Promise<FuzzClient> => {
    // `big`: odd clients cut changes as they are made, even ones as they are sent.
    const patches = new Patches({ store: c.store, docOptions: options.big && c.index % 2 === 1 ? SMALL_BUDGETS : undefined });
    const sync = new PatchesSync(patches, c.proxy.url, {
      ...(options.big && c.index % 2 === 0 ? SMALL_BUDGETS : {}),
      online$: c.online$,
      reconnectDelay: 10,
      maxReconnectDelay: 100,
      random: c.jitter,
      websocket: { WebSocketCtor: wire.socketFor(c.index) },
      // `tabs`: the clients on one database elect one leader (the lease fallback of leadership$,
      // Node has no Web Locks) and only it connects; the others follow its state.
      tabs: storesMode === 'tabs' ? { enabled: true, name: databaseOf(c.index) } : undefined,
    });
    const subscriptions = new Subscription();
    subscriptions.add(
      sync.error$.subscribe(({ error, docId, rolledBack }) => {
        wire.note(c.index, `onError ${docId ?? ''} ${describe(error)}`);
        if (isNetworkClass(error)) stats.networkErrors++;
        // An injected 500 or -32000 (the policy's 'retry': reported once, retried); never a 503.
        else if (serverErrors?.reportable(error)) stats.serverErrorsReported++;
        // An injected store fault (the policy's 'retry'), however the library wrapped it. Also an
        // edit's save that met another instance's write: it reads the doc again (a conflict), and a
        // fault in that read fails the save, the edit rolled back and named in `rolledBack`.
        else if (storeFaults?.caused(error)) {
          stats.storeFaultsReported++;
          for (const id of rolledBack ?? []) rolledBackByFaults.add(id);
        }
        // An edit of a doc opened again after its delete, made as the doc is dropped again (the server keeps its tombstone).
        else if (docId && deletedDocs.includes(docId) && error instanceof StoreError && error.cause instanceof DocNotTrackedError) stats.revivedEditsRefused++;
        // An edit made before its database untracked the doc, saved after (its save queued behind
        // another step): refused and reported, discarded with the doc's data as the untrack says.
        else if (docId && untrackedFor.has(`${c.index} ${docId}`) && error instanceof StoreError && error.cause instanceof DocNotTrackedError) stats.untrackedEditsRefused++;
        else fail(`client ${c.index} onError${docId ? ` (${docId})` : ''}: ${describe(error)}`);
      }),
    );
    subscriptions.add(c.online$.subscribe(online => wire.note(c.index, `online$ ${online}`)));
    subscriptions.add(
      sync.leading$.pipe(skip(1)).subscribe(leading => {
        wire.note(c.index, `leading ${leading}`);
        if (leading) stats.leaderships++;
      }),
    );
    subscriptions.add(sync.state$.subscribe(state => wire.note(c.index, `state ${JSON.stringify({ ...state, syncing: describe(state.syncing) })}`)));
    subscriptions.add(
      sync.remoteDocDeleted$.subscribe(({ docId, pendingChanges }) => {
        wire.note(c.index, `remote delete of ${docId}: ${pendingChanges.length} handed over ${pendingChanges.map(change => change.id).join(' ')}`);
        if (algorithmOf(docId) === 'ot') for (const change of pendingChanges) handedOver.add(change.id);
        else for (const change of pendingChanges) for (const op of change.ops) lwwHandedOver.add(lwwKey(docId, op));
      }),
    );
    subscriptions.add(
      patches.changes$.subscribe(({ docId, changes }) => {
        if (algorithmOf(docId) === 'ot') {
          for (const change of changes) {
            minted.push({ client: c.index, docId, id: change.id });
            stats.movesMinted += change.ops.filter(op => op.op === 'move').length;
          }
        }
        else for (const change of changes) lwwMinted.push({ client: c.index, docId, ops: change.ops });
      }),
    );
    // A failed first attempt is also emitted on error$ (checked above); reconnecting goes on.
    sync.connect().catch(() => undefined);
    c.wantsConnection = true;
    const docs = new Map<string, PatchesDoc<FuzzDoc>>();
    for (const id of docIds) docs.set(id, await patches.openDoc<FuzzDoc>(id, { algorithm: algorithmOf(id) }));
    return Object.assign(c, { patches, sync, docs, subscriptions }) as FuzzClient;
  };

  const storesMode = options.stores ?? 'memory';
  const run = ++fuzzRuns;
  const indexedDB = new IDBFactory();
  const databaseOf = (i: number) => `fuzz-${run}-${storesMode === 'idb' ? i : Math.floor(i / TABS_PER_DATABASE)}`;
  // A short state tail, so a run crosses many whole-state writes and its reads replay tails.
  // Set once the script's helpers exist (stores are made, and may write, before they do); edits
  // while server changes are written happen only while the script runs, as a user's do.
  let editWhileWriting: ((index: number, docId: string, r: Rng) => void) | undefined;
  let scripting = false;
  const pauseFor = (i: number): ((serverChangesOf?: string) => Promise<void>) | undefined => {
    if (!options.slowStore) return undefined;
    const timing = forkRng(seed, `store-${i}`);
    const edits = forkRng(seed, `edit-during-write-${i}`);
    return serverChangesOf => {
      if (serverChangesOf !== undefined && scripting && editWhileWriting && edits.chance(0.05)) editWhileWriting(i, serverChangesOf, edits);
      return new Promise(resolve => setTimeout(resolve, timing.int(0, 3)));
    };
  };
  const storeFor = (i: number) =>
    new RecordingStore(i, storesMode === 'memory' ? new InMemoryStore() : new IndexedDBStore(databaseOf(i), { indexedDB, snapshotEvery: 3 }), {
      pause: pauseFor(i),
      fault: storeFaults?.source(forkRng(seed, `store-faults-${i}`), line => wire.note(i, line)),
      // A piece the library cut off a change is an OT change it minted (a change keeps its id on its first piece).
      split: (docId, ids) => {
        stats.splitPieces += ids.length;
        if (algorithmOf(docId) === 'ot') for (const id of ids) if (!minted.some(m => m.id === id)) minted.push({ client: i, docId, id });
      },
    });
  const clients: FuzzClient[] = [];
  for (let i = 0; i < clientCount; i++) {
    clients.push(await build({ index: i, store: storeFor(i), online$: new BehaviorSubject(true), proxy: proxies[i], jitter: forkRng(seed, `jitter-${i}`), restarts: 0, wantsConnection: true }));
  }

  /** Everything of one client synced: connected, a pass finished, every doc synced with nothing pending. */
  const quiet$ = (c: FuzzClient) => combineLatest([c.sync.state$, c.sync.synced$]);
  // A doc the client's database untracked (the `untrack` action) has no entry until it is tracked
  // again. A deleted doc it still tracks counts too: it has not heard of the delete yet, or the
  // delete never reached the server (opened again over its tombstone: `revive`), and a change of
  // its own on it may wait for a retry (fuzz memory seed 82116: a 503 on the catch-up after a
  // TOO_FAR_BEHIND refusal; the checks ran before the retry, and found the change neither
  // committed nor handed over). A remote delete takes the doc's entry out as it drops the doc
  // (memory seed 98 waited here for good while the entry went first: 3f51ec9 then let it pass).
  const isQuiet = (c: FuzzClient) => ([state, synced]: [{ connected: boolean; online: boolean; syncing: unknown }, Readonly<Record<string, { status: string; hasPending: boolean }>>]) =>
    state.connected &&
    state.online &&
    state.syncing === null &&
    [...docIds, ...deletedDocs].every(id => !c.patches.trackedDocs.has(id) || (synced[id]?.status === 'synced' && !synced[id].hasPending));
  const snapshot = (c: FuzzClient) =>
    `client ${c.index} ${storesMode === 'tabs' ? `(${leadingNow(c.sync) ? 'leading' : 'following'}; leaders ${clients.filter(x => leadingNow(x.sync)).map(x => x.index).join(',')}) ` : ''}state ${JSON.stringify({ ...c.sync.state, syncing: describe(c.sync.state.syncing) })} synced ${JSON.stringify(c.sync.synced)} views at ${JSON.stringify(Object.fromEntries([...c.docs].map(([id, doc]) => [id, c.patches.getOpenDoc(id) === doc ? doc.committedRev : `${doc.committedRev} (closed)`])))}`;

  /** LWW docs whose ops wait in the store while the client says it is done: no pass will send them. */
  const stranded = async (c: FuzzClient): Promise<string[]> => {
    const out: string[] = [];
    if (!c.sync.state.connected || c.sync.state.syncing !== null) return out;
    for (const docId of docIds) {
      const entry = c.sync.synced[docId];
      if (algorithmOf(docId) !== 'lww' || entry?.status !== 'synced' || !entry.hasPending) continue;
      const stored = await c.store.getDoc(docId);
      if (stored && stored.sending === null && stored.pendingOps.length > 0) out.push(docId);
    }
    return out;
  };

  /** Waits until a client is quiet (connected, a pass finished, every doc synced, nothing pending). */
  const awaitQuiet = (c: FuzzClient, doing: string): Promise<unknown> => within(quiet$(c), isQuiet(c), () => `${doing} ${snapshot(c)}`);

  /**
   * Docs a client closed for a while (a page that navigated away from them): server changes
   * still reach them through the store, and the next edit or the final checks open them again.
   */
  const closedDocs = new WeakMap<FuzzClient, Set<string>>();
  /** Pages closing for a restart: from their sync's end until they are built again. */
  const closing = new WeakSet<FuzzClient>();
  /** The `Patches` of pages closed for a restart: they still follow the store they share, and are closed at the end (a retry of a failed read would outlive the run). */
  const retired: Patches[] = [];
  const closedOf = (c: FuzzClient): Set<string> => {
    const closed = closedDocs.get(c) ?? new Set<string>();
    closedDocs.set(c, closed);
    return closed;
  };
  const closeDoc = async (c: FuzzClient, docId: string): Promise<void> => {
    const closed = closedOf(c);
    if (closed.has(docId)) return;
    trace.push(`c${c.index} ${docId}: close`);
    stats.closes++;
    closed.add(docId);
    await c.patches.closeDoc(docId);
  };
  /** Opens in progress, so a burst's second edit of a doc waits for the first one's open. */
  const reopening = new WeakMap<FuzzClient, Map<string, Promise<void>>>();
  const reopen = (c: FuzzClient, docId: string): Promise<void> => {
    const opening = reopening.get(c) ?? new Map<string, Promise<void>>();
    reopening.set(c, opening);
    if (opening.has(docId)) return opening.get(docId)!;
    if (!closedDocs.get(c)?.delete(docId)) return Promise.resolve();
    trace.push(`c${c.index} ${docId}: open again`);
    const done = c.patches.openDoc<FuzzDoc>(docId, { algorithm: algorithmOf(docId) }).then(doc => {
      c.docs.set(docId, doc);
      untrackedFor.delete(`${c.index} ${docId}`);
    });
    opening.set(docId, done);
    return done.finally(() => opening.delete(docId));
  };

  /**
   * A client stops tracking a doc (a page that removed it from its list: its local data is purged,
   * unsent edits included). Every client on the same database follows (its `untracked$` names the
   * doc; one that had not yet followed its track has nothing to follow); their handles count as
   * closed, so the next edit or the final checks track and open the doc again. Half the time a
   * client of the database opens it again as soon as it has followed, before the others may have:
   * they must then take it as a new doc. The group's OT changes minted until every client followed
   * may be discarded with the data, never committed twice.
   */
  const discardable = new Set<string>();
  /** The clients sharing c's database (c alone with a store of its own). */
  const groupOf = (c: FuzzClient): FuzzClient[] =>
    storesMode === 'memory' || storesMode === 'idb' ? [c] : clients.filter(x => databaseOf(x.index) === databaseOf(c.index));
  const untrack = async (c: FuzzClient, docId: string): Promise<void> => {
    if (!c.patches.trackedDocs.has(docId)) return;
    const group = groupOf(c);
    const again = rng.chance(0.5) ? rng.pick(group) : undefined;
    trace.push(`c${c.index} ${docId}: untrack${again ? ` (c${again.index} opens it again at once)` : ''}`);
    stats.untracks++;
    // Those holding a handle owe it a closeDoc once their handle is dropped, as an app's view does.
    const holders = group.filter(x => x.docs.has(docId) && !closedOf(x).has(docId));
    for (const x of group) {
      closedOf(x).add(docId);
      untrackedFor.add(`${x.index} ${docId}`);
    }
    // A client whose follow of the doc's track is still queued does not track it yet: it never
    // holds this incarnation (its follow reads the list after the untrack), so it has none to drop.
    const tracking = group.filter(x => x === c || x.patches.trackedDocs.has(docId));
    const followed = new Map(
      tracking.map(x => [x, within(x.patches.untracked$, ids => ids.includes(docId), () => `client ${x.index} following the untrack of ${docId}: ${snapshot(x)}`)]),
    );
    await c.patches.untrackDocs([docId]);
    // (A handle the client still shows until it follows is closed when it does: it opens the doc
    // once it has followed, while the others may not have yet.)
    if (again) await (followed.get(again) ?? Promise.resolve()).then(() => reopen(again, docId));
    await Promise.all(followed.values());
    // Paid, so a later "close for a while" closes the doc instead of paying this debt.
    await Promise.all(holders.map(x => x.patches.closeDoc(docId)));
    const members = new Set(group.map(x => x.index));
    for (const m of minted) if (m.docId === docId && members.has(m.client)) discardable.add(m.id);
    for (const m of lwwMinted) if (m.docId === docId && members.has(m.client)) lwwDiscarded.add(m);
    for (const w of witnesses) if (w.docId === docId && members.has(w.client)) witnessesDiscarded.add(w);
  };

  /**
   * A client deletes a doc (a local tombstone at once, the server delete now or on its next
   * connection); the others hear of it (`docDeleted`, or a 410 on their next call) and drop it,
   * their unsent changes handed to onRemoteDocDeleted. The script goes on with a new doc of the
   * same algorithm in its place (opened by each client on its first edit). At the end no trace of
   * a deleted doc may be left: tracked nowhere, nothing in any store (tombstones confirmed), 410
   * from the server.
   */
  let generation = 0;
  const deleteDoc = async (c: FuzzClient, docId: string): Promise<void> => {
    if (!c.patches.trackedDocs.has(docId)) return;
    const fresh = `${docId.split('~')[0]}~${++generation}`;
    trace.push(`c${c.index} ${docId}: delete (${fresh} in its place)`);
    stats.deletes++;
    docIds.splice(docIds.indexOf(docId), 1, fresh);
    deletedDocs.push(docId);
    for (const x of clients) closedOf(x).add(fresh);
    await c.patches.deleteDoc(docId);
    // (Marked once the tombstone is written: a change persisted just before it is announced after.)
    const members = new Set(groupOf(c).map(x => x.index));
    for (const m of minted) if (m.docId === docId && members.has(m.client)) discardedByDelete.add(m.id);
    for (const m of lwwMinted) if (m.docId === docId && members.has(m.client)) lwwDiscarded.add(m);
    // Now and then the same client opens it again at once, while the delete may still be on its way.
    if (reviveRng.chance(0.3)) await revive(c, docId);
  };

  /**
   * A client opens a deleted doc again and edits it (a page that still links to it). The server
   * keeps the tombstone, so the client must be told and drop the doc again, its new edits
   * committed or handed to onRemoteDocDeleted, never dropped unseen (checked in `checkChangeIds`).
   * Drawn from a random stream of its own, so the rest of a seed's script stays as it was.
   */
  const reviveRng = forkRng(seed, 'revive');
  /** Deleted docs opened again where their tombstone still was: the delete may never reach the server. */
  const mayLiveOn = new Set<string>();
  const revive = async (c: FuzzClient, docId: string): Promise<void> => {
    // Its database may still hold the tombstone, the delete not yet on the server (offline, or
    // the request lost with a dropped socket): tracking the id again makes it a live doc there
    // and nothing sends that delete any more (as with @dabble/patches' stores), so the doc may
    // live on, the server's copy and the new edits merged.
    const tombstoned = (await c.store.listDocs(true)).some(d => d.docId === docId && d.deleted);
    if (tombstoned) mayLiveOn.add(docId);
    trace.push(`c${c.index} ${docId}: open the deleted doc again and edit it${tombstoned ? ' (its tombstone still here)' : ''}`);
    stats.revives++;
    // Another tab of its database (or the server's tombstone, heard meanwhile) may drop the doc
    // again before the open resolves: the open then rejects, as documented, and nothing was edited.
    const doc = await c.patches.openDoc<FuzzDoc>(docId, { algorithm: algorithmOf(docId) }).catch((error: unknown) => {
      if (error instanceof DocNotTrackedError && error.deleted) return undefined;
      throw error;
    });
    if (!doc) {
      trace.push(`c${c.index} ${docId}: its open was refused, the doc deleted again meanwhile`);
      stats.revivedOpensRefused++;
      return;
    }
    const change = algorithmOf(docId) === 'lww' ? lwwEdit(reviveRng, doc.state) : otEdit(reviveRng, doc.state);
    doc.change(draft => change.apply(draft as FuzzDoc));
    if (change.then) doc.change(draft => change.then!(draft as FuzzDoc));
    await doc.flush();
  };

  /**
   * The edit a client makes: the one drawn, or with `chance` (drawn from `draw`, a stream other
   * than the script's, so the script's draws stay as they were) a witness in its place, recorded
   * for the final check.
   */
  let witnessSerial = 0;
  const orWitness = (c: FuzzClient, docId: string, drawn: Edit, draw: Rng, chance: number): Edit => {
    if (!draw.chance(chance)) return drawn;
    ++witnessSerial;
    // `extended`: every other witness's key needs a pointer escape or (LWW) reads as an index.
    const witness = witnessEdit(witnessSerial, options.edits === 'extended' && witnessSerial % 2 === 0, algorithmOf(docId));
    const record: Witness = { client: c.index, docId, key: witness.key, value: witness.value };
    witnesses.push(record);
    witnessOf.set(witness, record);
    stats.witnesses++;
    return witness;
  };
  const witnessOf = new WeakMap<Edit, Witness>();
  /** Makes an edit on an open doc; a witness notes the id its change was recorded under. */
  const applyEdit = (doc: PatchesDoc<FuzzDoc>, change: Edit): void => {
    const mutator = (draft: unknown) => change.apply(draft as FuzzDoc);
    doc.change(mutator);
    const witness = witnessOf.get(change);
    if (witness) witness.changeId = doc._optimistic().find(o => o.mutator === mutator)?.id;
    if (change.then) doc.change(draft => change.then!(draft as FuzzDoc));
  };
  const witnessRng = forkRng(seed, 'witness');

  /**
   * The edit of a script step: the basic one, drawn from the script's generator whatever the
   * modes, and in the `big` and `extended` modes now and then another in its place, drawn from a
   * generator of its own (so the script's draws stay as they were).
   */
  const extendedRng = forkRng(seed, 'extended-edits');
  const bigRng = forkRng(seed, 'big-edits');
  const scriptEdit = (docId: string, state: FuzzDoc): Edit => {
    const algorithm = algorithmOf(docId);
    const basic = algorithm === 'lww' ? lwwEdit(rng, state) : otEdit(rng, state);
    if (options.big && bigRng.chance(1 / 8)) {
      stats.bigEdits++;
      return bigEdit(bigRng, algorithm);
    }
    if (options.edits === 'extended' && extendedRng.chance(0.4)) {
      stats.extendedEdits++;
      return algorithm === 'lww' ? extendedLwwEdit(extendedRng) : extendedOtEdit(extendedRng, state);
    }
    return basic;
  };

  /** Cards a `remove` card edit meant gone, and cards dragged off the board (into `list`, `extended`): they may be missing at the end. */
  const cardsRemoved = new Set<string>();
  const cardsOffBoard = new Set<string>();
  /** What each card edit's change meant (by change id, read from the doc's optimistic change as it is made). */
  const cardIntents = new Map<string, CardIntent>();
  /** Each title a card edit wrote (unique): the card it was written for and the change that wrote it. */
  const titleWrites = new Map<string, { card: string; changeId?: string }>();
  /** Card edits in the order they were made. */
  let cardEditSerial = 0;
  /** The clients sharing one pending queue: a database's (one client's in `memory` and `idb`). */
  const queueOf = (c: FuzzClient): string => (storesMode === 'memory' || storesMode === 'idb' ? `c${c.index}` : databaseOf(c.index));
  let cardSerial = 0;
  const cardRng = forkRng(seed, 'card-edits');
  /** `extended`: cards are also dragged into and out of the fuzz's `list` (where the other edits race on them), and now and then two in one change. */
  const cardLists = options.edits === 'extended' ? [...BOARD_LISTS, 'list'] : BOARD_LISTS;
  /**
   * A card edit of an open OT doc, drawn from `r` on its view, made as a `change()` of its own. A
   * drag of one card must be recorded as exactly one `move` (read from the doc's optimistic
   * change, as recorded): anything else is a failure of the recording.
   */
  const cardChange = (c: FuzzClient, docId: string, doc: PatchesDoc<FuzzDoc>, r: Rng, when = '', prefer?: string): CardEdit | undefined => {
    // Only client 0 makes the board's lists: two clients making one at once, the later write
    // replaces the earlier and the cards in it (a third of the cards went so when any client could).
    const edit = cardEdit(r, doc.state, () => ++cardSerial, cardLists, options.edits === 'extended', prefer, c.index === 0);
    if (!edit) return undefined;
    trace.push(`c${c.index} ${docId}${when}: ${edit.label}`);
    if (edit.removes !== undefined) cardsRemoved.add(edit.removes);
    for (const { id, to } of [...(edit.drags ?? []), ...(edit.adds ? [edit.adds] : [])]) if (!BOARD_LISTS.includes(to)) cardsOffBoard.add(id);
    // A card a raw `copy` doubled (in `list`) may be dragged onto its twin's place: nothing to record then.
    const copies = new Map<string, string[]>();
    const before = doc.state as FuzzDoc;
    if (edit.drags) cardsIn(before as Json, '', copies);
    const mutator = (draft: unknown) => edit.apply(draft as FuzzDoc);
    doc.change(mutator);
    const changeId = doc._optimistic().find(change => change.mutator === mutator)?.id;
    if (edit.titles) titleWrites.set(edit.titles.title, { card: edit.titles.id, changeId });
    // Read at once: the optimistic change keeps its ops as recorded until a server change rebases them.
    const recorded = doc._optimistic().find(change => change.mutator === mutator)?.ops ?? [];
    // The cards the recorded moves take (replayed on the view it was made on): a drag of a card
    // past one neighbour is a tie for the array diff, which may keep the dragged card in place
    // and move the neighbour instead (counted: `dragsRecordedAsNeighbour`).
    const movedCards: string[] = [];
    let replay: unknown = before;
    for (const op of recorded) {
      if (op.op === 'move' && op.from !== undefined) movedCards.push(...cardIds(valueAt(replay, op.from)));
      replay = applyPatch(replay, [op], { mode: 'strict' });
    }
    if (edit.kind === 'drag' && movedCards.length > 0 && !movedCards.includes(edit.card)) {
      stats.dragsRecordedAsNeighbour++;
      trace.push(`  (recorded as a move of ${movedCards.join(', ')}: ${JSON.stringify(recorded)})`);
    }
    if (changeId !== undefined) {
      const cards = [...new Set([...(edit.drags?.map(drag => drag.id) ?? [edit.card]), ...movedCards])];
      cardIntents.set(changeId, {
        kind: edit.kind,
        cards,
        into: edit.drags?.map(drag => drag.to) ?? (edit.adds ? [edit.adds.to] : []),
        queue: queueOf(c),
        serial: ++cardEditSerial,
        base: doc.committedRev,
        docId,
        label: `c${c.index} ${edit.label}`,
      });
    }
    stats.cardEdits++;
    if (edit.kind === 'add') stats.cardsAdded++;
    else if (edit.kind === 'title') stats.cardTitles++;
    else if (edit.kind === 'text') stats.cardTexts++;
    else if (edit.kind === 'remove') stats.cardRemoves++;
    if (!edit.drags) return edit;
    const moves = recorded.filter(op => op.op === 'move').length;
    stats.drags += edit.drags.length;
    stats.dragMoves += moves;
    if (edit.kind === 'dragTwo') {
      stats.twoDragChanges++;
      // Between the two halves of a drag across lists the other drag may write both lists: then it
      // stays a removal and an insert of the card (README, "A dragged element travels as a `move`").
      for (const { id } of edit.drags) if (recorded.some(op => 'value' in op && cardIds(op.value as Json).includes(id))) stats.twoDragsWrittenByValue++;
      return edit;
    }
    const [from] = recorded;
    if (from?.op === 'move' && from.from?.split('/')[1] !== from.path.split('/')[1]) stats.dragsAcross++;
    const [{ id, from: source, to }] = edit.drags;
    if (copies.get(id)?.length !== 1) stats.dragsOfCopies++;
    else if (![source, to].every(list => Array.isArray(before[list]) && (before[list] as Json[]).every(isCard))) {
      // Through lists holding primitives (`list`; in `extended` a board list too, where an edit of
      // `list` followed a card it replaced), the diff may keep the card and move a number past it
      // instead (equal either way; a primitive has no identity). The card itself is never written again.
      if (recorded.length === 0 || recorded.some(op => 'value' in op && cardIds(op.value as Json).includes(id))) fail(`client ${c.index} ${docId}: the drag "${edit.label}" was recorded as ${JSON.stringify(recorded)}, writing the card again`);
      if (moves === 0) stats.dragsPastPrimitives++;
    } else if (recorded.length !== 1 || moves !== 1) fail(`client ${c.index} ${docId}: the drag "${edit.label}" was recorded as ${JSON.stringify(recorded)}, not as one move`);
    return edit;
  };
  const cardEditsDuringWrites = clientsForks(seed, options.clients ?? 5, 'card-edit-during-write');

  // An open doc is edited in the same tick (bursts rely on it); a closed one is opened first.
  /**
   * An edit made while the client's store is writing server changes to the doc (`slowStore`):
   * computed on the view as it is, with an rng of its own so the script's draws do not depend on
   * timing. The final checks wait for its save like any other (a doc with an unsaved edit is not quiet).
   */
  editWhileWriting = (index: number, docId: string, r: Rng): void => {
    const c = clients[index];
    const doc = c?.docs.get(docId);
    // Not on a page that is closing (a restart): its edits would go unseen by the checks. The page
    // closes from its sync's end on: an edit while its queued writes finish was minted unheard
    // (tabs, slow store, seed 63225: "rev 42 holds change … that no client minted").
    if (!c || !doc || closing.has(c) || c.subscriptions.closed || c.patches.getOpenDoc(docId) !== doc || closedDocs.get(c)?.has(docId) || reopening.get(c)?.has(docId)) return;
    // Half of them witnesses: an edit such a write lost before minting leaves no id to miss.
    const change = orWitness(c, docId, algorithmOf(docId) === 'lww' ? lwwEdit(r, doc.state) : otEdit(r, doc.state), r, 0.5);
    if ('key' in change) stats.witnessesDuringWrites++;
    trace.push(`c${c.index} ${docId} (while server changes are written): ${change.label}`);
    applyEdit(doc, change);
    stats.edits++;
    stats.editsDuringWrites++;
    if (change.label.startsWith('editText')) stats.textEdits++;
    if (algorithmOf(docId) === 'ot' && cardEditsDuringWrites[index].chance(CARD_EDIT_CHANCE)) cardChange(c, docId, doc, cardEditsDuringWrites[index], ' (while server changes are written)');
  };
  const edit = (c: FuzzClient, docId: string): Promise<void> =>
    closedDocs.get(c)?.has(docId) || reopening.get(c)?.has(docId) ? reopen(c, docId).then(() => editOpen(c, docId)) : editOpen(c, docId);
  const editOpen = (c: FuzzClient, docId: string): Promise<void> => {
    const doc = c.docs.get(docId)!;
    const change = orWitness(c, docId, scriptEdit(docId, doc.state), witnessRng, 0.1);
    trace.push(`c${c.index} ${docId}: ${change.label}`);
    applyEdit(doc, change);
    stats.edits++;
    if (change.label.startsWith('editText')) stats.textEdits++;
    if (algorithmOf(docId) !== 'ot' || !cardRng.chance(CARD_EDIT_CHANCE)) return doc.flush();
    const first = cardChange(c, docId, doc, cardRng);
    // Now and then another client edits the same card in the same tick, before either has sent:
    // a drag meets a drag, a retitle, typing or a removal of its card (when that view holds it).
    if (!first || first.kind === 'add' || !cardRng.chance(CARD_RACE_CHANCE)) return doc.flush();
    const other = cardRng.pick(clients.filter(x => x !== c));
    const otherDoc = other.docs.get(docId);
    if (!otherDoc || closing.has(other) || other.subscriptions.closed || other.patches.getOpenDoc(docId) !== otherDoc || closedDocs.get(other)?.has(docId) || reopening.get(other)?.has(docId)) return doc.flush();
    stats.cardRaces++;
    cardChange(other, docId, otherDoc, cardRng, ` (racing c${c.index} on ${first.card})`, first.card);
    return Promise.all([doc.flush(), otherDoc.flush()]).then(() => undefined);
  };

  /**
   * A raw OT change straight to the server, as a @dabble/patches client or code sending its own
   * ops writes one (moves, copies, inserts at random indexes: what immer cannot record): read the
   * head, write on it, commit. Minted as client -1; the clients rebase over it.
   */
  let rawSerial = 0;
  const rawEdit = async (docId: string): Promise<void> => {
    const writer = await connectClient(fleet.url());
    try {
      const got = await writer.call('getDoc', [docId]);
      const snapshot = got.result as PatchesSnapshot<FuzzDoc> | undefined;
      if (!snapshot) return;
      const head = snapshot.changes.reduce<unknown>((state, c) => applyPatch(state, c.ops, { mode: 'strict' }), snapshot.state);
      const headRev = snapshot.changes.length > 0 ? snapshot.changes[snapshot.changes.length - 1].rev : snapshot.rev;
      const state = (head && typeof head === 'object' && !Array.isArray(head) ? head : {}) as FuzzDoc;
      const edit = otRawEdit(rng, state);
      try {
        applyPatch(head ?? {}, edit.ops, { mode: 'strict' });
      } catch {
        return; // the dice drew something that does not apply here (e.g. no list yet)
      }
      const change: Change = { id: `raw-${seed}-${++rawSerial}`, baseRev: headRev, rev: headRev + 1, ops: edit.ops, createdAt: 0, committedAt: 0 };
      trace.push(`raw ${docId}@${headRev}: ${edit.label}`);
      minted.push({ client: -1, docId, id: change.id });
      stats.rawEdits++;
      if (edit.ops.some(op => op.op === '@txt')) stats.richTextEdits++;
      const exchange: CommitExchange = { client: -1, socket: 0, docId, sent: [change], sentAt: Date.now() };
      wire.commits.push(exchange);
      const answer = await writer.call('commitChanges', [docId, [change]]);
      exchange.answeredAt = Date.now();
      if ('error' in answer) {
        exchange.error = answer.error;
        // Too far behind the head for the server (`maxTransformWork`): nothing committed, the edit is dropped.
        if (tooFarBehind(exchange)) {
          minted.splice(minted.findIndex(m => m.id === change.id), 1);
          stats.rawTooFarBehind++;
          return;
        }
        fail(`raw writer: commit of ${change.id} refused: ${describe(answer.error)}`);
      } else {
        const result = answer.result as Change[] | { changes: Change[]; docReloadRequired?: true };
        exchange.reply = Array.isArray(result) ? { changes: result } : result;
      }
    } finally {
      await writer.close();
    }
  };

  const restartServer = async () => {
    const line = await fleet.restart(rng, (index, port) => (proxies[index].target = port));
    if (line) trace.push(`  (${line})`);
  };

  /**
   * `tabs`: a tab's app disconnects or connects again (a "work offline" switch): a tab that wants no
   * connection neither holds nor takes the lead, another tab that wants one leads, and a database
   * whose tabs all want none syncs nothing until one connects (a settle skips it; the calm phase
   * connects every tab). Drawn from a random stream of its own, so the rest of a seed's script stays
   * as it was.
   */
  const wantRng = forkRng(seed, 'disconnects');
  const toggleWanted = (c: FuzzClient): void => {
    c.wantsConnection = !c.wantsConnection;
    trace.push(`c${c.index} ${c.wantsConnection ? 'connect()' : 'disconnect()'}`);
    if (c.wantsConnection) c.sync.connect().catch(() => undefined);
    else {
      stats.disconnects++;
      c.sync.disconnect();
    }
  };
  const databaseWantsConnection = (c: FuzzClient): boolean => clients.some(x => databaseOf(x.index) === databaseOf(c.index) && x.wantsConnection);

  const restartClient = async (c: FuzzClient) => {
    closing.add(c);
    c.sync.destroy();
    retired.push(c.patches);
    // Like a page closing after its transactions committed: store writes already queued finish
    // (and a remote delete's purge under way still hands its changes over: heard before unsubscribing).
    await Promise.all([...docIds, ...deletedDocs].map(id => c.patches.runExclusive(id, async () => undefined)));
    c.subscriptions.unsubscribe();
    c.restarts++;
    closedDocs.delete(c);
    await build(c);
    closing.delete(c);
  };

  try {
    // The board's lists exist before the first card is dropped in them, as a board's columns do:
    // client 0 makes them in each OT doc and every client has them before the script starts (a
    // doc made later, in a deleted one's place, gets them from client 0's first card edit).
    for (const docId of docIds.filter(id => algorithmOf(id) === 'ot')) {
      clients[0].docs.get(docId)!.change(draft => {
        for (const list of BOARD_LISTS) if (!Array.isArray((draft as FuzzDoc)[list])) (draft as FuzzDoc)[list] = [];
      });
    }
    await Promise.all(clients.map(c => awaitQuiet(c, 'making the board')));
    await Promise.all(clients.map(c => within(merge(...[...c.docs.values()].map(doc => doc.state$)), () => [...c.docs].every(([id, doc]) => algorithmOf(id) !== 'ot' || BOARD_LISTS.every(list => Array.isArray((doc.state as FuzzDoc)[list]))), () => `client ${c.index} getting the board: ${snapshot(c)}`)));
    scripting = true;
    for (let step = 0; step < steps && failures.length === 0; step++) {
      const c = rng.pick(clients);
      if (deletedDocs.length > 0 && reviveRng.chance(0.01)) await revive(reviveRng.pick(clients), reviveRng.pick(deletedDocs));
      if (storesMode === 'tabs' && wantRng.chance(0.03)) toggleWanted(wantRng.pick(clients));
      const action = rng.weighted({
        edit: 50,
        rawEdit: 12,
        burst: 8,
        drop: 5,
        kill: 6,
        delay: 6,
        offline: 7,
        onlineAgain: 2,
        restart: 4,
        serverRestart: 2,
        settle: 8,
        close: 8,
        untrack: 3,
        delete: 1,
      });
      switch (action) {
        case 'edit':
          await edit(c, rng.pick(docIds));
          break;
        case 'rawEdit':
          if (docIds.some(id => algorithmOf(id) === 'ot')) await rawEdit(rng.pick(docIds.filter(id => algorithmOf(id) === 'ot')));
          break;
        case 'burst': {
          // Several clients edit in the same tick, before any of them has sent anything.
          const count = rng.int(2, 4);
          trace.push(`burst ×${count}`);
          await Promise.all(Array.from({ length: count }, () => edit(rng.pick(clients), rng.pick(docIds))));
          break;
        }
        case 'drop':
          trace.push(`c${c.index} proxy drop (${c.proxy.connections} open)`);
          stats.drops++;
          c.proxy.dropAll();
          break;
        case 'kill':
          trace.push(`c${c.index} proxy kill mid-frame (armed)`);
          stats.kills++;
          c.proxy.killMidFrame();
          break;
        case 'delay': {
          const duration = rng.int(20, 300);
          const max = rng.int(5, 80);
          trace.push(`c${c.index} proxy delay burst ${duration} ms, ≤ ${max} ms per chunk`);
          stats.delayBursts++;
          c.proxy.delayBurst(duration, max);
          break;
        }
        case 'offline': {
          const online = !c.online$.value;
          // The tabs of one browser go offline and online together.
          const group = storesMode === 'tabs' ? clients.filter(x => databaseOf(x.index) === databaseOf(c.index)) : [c];
          trace.push(`${group.map(x => `c${x.index}`).join(',')} ${online ? 'online' : 'offline'}`);
          if (!online) stats.offline++;
          for (const x of group) x.online$.next(online);
          break;
        }
        case 'onlineAgain':
          // The host says "online" again while already online (a second `online` event, a BehaviorSubject re-set).
          if (!c.online$.value) break;
          trace.push(`c${c.index} online again`);
          stats.onlineAgain++;
          c.online$.next(true);
          break;
        case 'restart':
          trace.push(`c${c.index} restart`);
          stats.clientRestarts++;
          await restartClient(c);
          break;
        case 'serverRestart':
          trace.push('server restart');
          stats.serverRestarts++;
          await restartServer();
          break;
        case 'close':
          await closeDoc(c, rng.pick(docIds));
          break;
        case 'untrack':
          await untrack(c, rng.pick(docIds));
          break;
        case 'delete':
          await deleteDoc(c, rng.pick(docIds));
          break;
        case 'settle': {
          // Let the network catch up with the script: wait (for real events) until one client is in sync.
          const target = clients.filter(x => x.online$.value && databaseWantsConnection(x));
          if (target.length === 0) break;
          const w = rng.pick(target);
          trace.push(`c${w.index} settle`);
          stats.settles++;
          await awaitQuiet(w, 'settling');
          break;
        }
      }
    }

    scripting = false;
    if (failures.length === 0) {
      trace.push('— calm: faults off, everyone online');
      for (const proxy of proxies) proxy.calm();
      serverErrors?.calm();
      storeFaults?.calm();
      for (const c of clients) if (!c.online$.value) c.online$.next(true);
      for (const c of clients) if (!c.wantsConnection) toggleWanted(c);
      for (const c of clients) for (const docId of docIds) await reopen(c, docId);
      await Promise.all(clients.map(c => awaitQuiet(c, 'quiescing')));
      await checkNothingPendingWhenQuiet();
      if (storesMode === 'tabs') checkOneLeaderPerDatabase();
      await check();
    } else if (wire.commits.some(refused)) {
      // The script stopped on a refused commit: leave the inputs of the refusal in the report.
      await withReader(async call => explainRefusals(await otHistories(call)));
    }
  } catch (error) {
    fail(error instanceof Stuck ? error.message : `harness error: ${describe(error)}${error instanceof Error && error.stack ? `\n${error.stack}` : ''}`);
    if (error instanceof Stuck) {
      for (const c of clients) {
        const docs = await stranded(c).catch(() => []);
        if (docs.length > 0) fail(`client ${c.index}: LWW ops in ${docs.join(', ')} that no sync pass will send (bug A signature)`);
      }
      for (const c of clients) failures.push(...(await diagnose(c)));
      // Tabs follow their leader's announcements: every client's view of itself tells who is behind.
      if (storesMode === 'tabs') for (const c of clients) failures.push(`  ${snapshot(c)}`);
    }
  } finally {
    for (const c of clients) {
      c.sync.destroy();
      c.subscriptions.unsubscribe();
    }
    await Promise.all(proxies.map(p => p.close()));
    for (const fault of fleet.drainFaults?.() ?? []) fail(`server fault: ${fault}`);
    if (!options.fleet) await fleet.close();
    // Closing stops their store subscriptions and retries at once; not awaited: what it then closes, the stores below close anyway.
    for (const patches of [...retired, ...clients.map(c => c.patches)]) void patches.close().catch(() => undefined);
    await Promise.all(clients.map(c => c.store.close().catch(() => undefined)));
    process.off('unhandledRejection', onUnhandled);
  }

  stats.proxyConnections = proxies.reduce((sum, p) => sum + p.stats.accepted, 0);
  stats.midFrameKills = proxies.reduce((sum, p) => sum + p.stats.killed, 0);
  stats.delayedChunks = proxies.reduce((sum, p) => sum + p.stats.delayedChunks, 0);
  stats.minted = minted.length;
  stats.commitCalls = wire.commits.length;
  stats.commitsTooFarBehind = wire.commits.filter(tooFarBehind).length;
  if (serverErrors) {
    const injected = serverErrors.stats;
    Object.assign(stats, { serverErrorsInjected: injected.before + injected.after, serverErrorsBefore: injected.before, serverErrors503: injected[503], serverErrors500: injected[500], serverErrors32000: injected[-32000] });
  }
  if (storeFaults) stats.storeFaultsInjected = storeFaults.count;
  const { slowStore, edits, big } = options;
  return { seed, mode: { stores: storesMode, slowStore, edits, big, serverErrors: options.serverErrors, storeFaults: options.storeFaults, maxTransformWork: options.maxTransformWork }, clients: clientCount, steps, failures, rebasedAway, trace, stats, ms: Date.now() - started };

  /**
   * Every client said it was quiet after the last edit was saved, so no store may still hold a
   * change: a client that looks quiet with an edit of its own (or of its database) unsent is a
   * save indicator that lies, and the check would read the server head too early (finding M).
   */
  async function checkNothingPendingWhenQuiet(): Promise<void> {
    for (const c of clients) {
      for (const docId of docIds) {
        const stored = await c.store.getDoc(docId);
        if (stored && (stored.pending.length > 0 || stored.pendingOps.length > 0 || stored.sending)) {
          fail(`client ${c.index} ${docId}: every client is quiet, yet its store holds ${JSON.stringify({ pending: stored.pending.map(p => p.id), pendingOps: stored.pendingOps.length, sending: stored.sending?.id })}: ${snapshot(c)}`);
        }
      }
    }
  }

  /** Tabs of one app: each database has exactly one leading client, and only leaders hold a connection. */
  function checkOneLeaderPerDatabase(): void {
    for (const db of new Set(clients.map(c => databaseOf(c.index)))) {
      const group = clients.filter(c => databaseOf(c.index) === db);
      const leaders = group.filter(c => leadingNow(c.sync));
      if (leaders.length !== 1) fail(`database ${db}: ${leaders.length} leading clients (${leaders.map(c => c.index).join(', ')}), expected 1`);
      const connected = group.filter(c => c.proxy.connections > 0 && !leaders.includes(c));
      if (connected.length > 0) fail(`database ${db}: following clients ${connected.map(c => c.index).join(', ')} hold a connection`);
    }
  }

  /** What a stuck client holds: unsent local data per doc, and its last commit exchanges. */
  async function diagnose(c: FuzzClient): Promise<string[]> {
    const lines: string[] = [];
    for (const docId of docIds) {
      const stored = await c.store.getDoc(docId).catch(() => undefined);
      const optimistic = c.docs.get(docId)?._optimistic() ?? [];
      const entry = c.sync.synced[docId];
      // A doc left in 'error' with nothing pending stalls a settle too: its wire tail says why.
      if (!stored || (!stored.pending.length && !stored.pendingOps.length && !stored.sending && !optimistic.length && !entry?.hasPending && entry?.status !== 'error')) continue;
      lines.push(
        `  client ${c.index} ${docId} holds ${JSON.stringify({ rev: stored.committedRev, pending: stored.pending.map(p => p.id), pendingOps: stored.pendingOps, sending: stored.sending, optimistic, entry })}`,
      );
      const exchanges = wire.commits.filter(e => e.client === c.index && e.docId === docId).slice(-3);
      for (const e of exchanges) lines.push(`    ${e.sentAt} socket ${e.socket} sent ${JSON.stringify(e.sent.map(x => ({ id: x.id, baseRev: x.baseRev, rev: x.rev })))} → ${e.reply ? JSON.stringify(e.reply.changes.map(x => ({ id: x.id, rev: x.rev }))) : e.error ? `error ${JSON.stringify(e.error)}` : 'no reply'}`);
    }
    if (lines.length > 0) {
      lines.push(`    proxy: ${c.proxy.connections} open, ${JSON.stringify(c.proxy.stats)}`);
      for (const line of wire.tail(c.index, 40)) lines.push(`    ${line}`);
    }
    return lines;
  }

  // ── The final checks ──────────────────────────────────────────────────────────────────────

  /** Runs `task` with a fresh client connected straight to the server (no proxy), to read what the server holds. */
  async function withReader<R>(task: (call: <T>(method: string, ...params: unknown[]) => Promise<T>, reader: Patches, readerSync: PatchesSync) => Promise<R>): Promise<R> {
    const reader = new Patches({ store: new InMemoryStore() });
    const readerSync = new PatchesSync(reader, fleet.url(), { reconnectDelay: 10, maxReconnectDelay: 100, random: forkRng(seed, 'reader') });
    try {
      await readerSync.connect();
      return await task(<T>(method: string, ...params: unknown[]) => firstValueFrom(readerSync.call<T>(method, ...params)), reader, readerSync);
    } finally {
      readerSync.destroy();
    }
  }

  /** The whole committed log of every OT doc. */
  async function otHistories(call: <T>(method: string, ...params: unknown[]) => Promise<T>): Promise<Map<string, Change[]>> {
    const histories = new Map<string, Change[]>();
    for (const docId of docIds) if (algorithmOf(docId) === 'ot') histories.set(docId, await call<Change[]>('getChangesSince', docId, 0));
    return histories;
  }

  async function check(): Promise<void> {
    await withReader(async (call, reader, readerSync) => {
      const heads = new Map<string, number>();
      const histories = new Map<string, Change[]>();
      const served = new Map<string, unknown>();
      for (const docId of docIds) {
        if (algorithmOf(docId) === 'ot') {
          // Several processes: the one read may be a moment behind the storage (its notifications
          // catching up after a reconnect). Its subscribers hear what it catches up on: wait until
          // the reader has the stored head (never, if it stays behind: a failure) before reading.
          const stored = await fleet.storedHead?.(docId);
          if (stored !== undefined) {
            await reader.openDoc<FuzzDoc>(docId, { algorithm: 'ot' });
            await within(readerSync.synced$, s => (s[docId]?.committedRev ?? 0) >= stored, () => `the server read catching up with the stored head ${stored} of ${docId}: ${JSON.stringify(readerSync.synced)}`);
          }
          const history = await call<Change[]>('getChangesSince', docId, 0);
          histories.set(docId, history);
          const revs = history.map(c => c.rev);
          if (!revs.every((rev, i) => rev === i + 1)) fail(`${docId}: server revs are not dense 1..${history.length}: ${revs.join(',')}`);
          heads.set(docId, history.length);
          try {
            served.set(docId, history.reduce<unknown>((state, c) => applyPatch(state, c.ops, { mode: 'strict' }), null) ?? {});
          } catch (error) {
            fail(`${docId}: the server log does not replay: ${describe(error)}`);
          }
        } else {
          const snap = await call<PatchesSnapshot>('getDoc', docId);
          heads.set(docId, snap.rev);
          served.set(docId, applyPatch(snap.state ?? {}, snap.changes.flatMap(c => c.ops), { mode: 'lenient' }));
        }
      }
      for (const docId of docIds) {
        const doc = await reader.openDoc<FuzzDoc>(docId, { algorithm: algorithmOf(docId) });
        const head = heads.get(docId)!;
        await within(readerSync.synced$, s => s[docId]?.status === 'synced' && s[docId].committedRev >= head, () => `fresh reader loading ${docId} to rev ${head}: ${JSON.stringify(readerSync.synced)}`);
        if (!sameJson(doc.state, served.get(docId))) {
          fail(`${docId}: a fresh client's view ≠ the replayed server log ${difference(doc.state, served.get(docId))}`);
          if (algorithmOf(docId) === 'ot' && fleet.describeDoc) failures.push(`    ${await fleet.describeDoc(docId).catch((error: unknown) => describe(error))}`);
        }
      }

      for (const c of clients) {
        for (const docId of docIds) {
          const head = heads.get(docId)!;
          await within(c.sync.synced$, s => (s[docId]?.committedRev ?? 0) >= head, () => `client ${c.index} reaching rev ${head} of ${docId}: ${snapshot(c)}`);
          // A following tab's synced$ is the leader's announcement: its own open doc follows the
          // store a little later (the store's channel, then a read), so wait for the doc itself.
          const openDoc = c.docs.get(docId)!;
          await within(
            merge(openDoc.state$, c.patches.otherWrites$, c.sync.synced$),
            () => openDoc.committedRev >= head,
            () => `client ${c.index}'s open ${docId} following its store to rev ${head} (at ${openDoc.committedRev}): ${snapshot(c)}`,
          );
          const want = served.get(docId);
          const view = openDoc.state;
          if (!sameJson(view, want)) {
            fail(`client ${c.index} ${docId}: view ≠ server ${difference(view, want)}; view ${show(view)}, server ${show(want)}`);
            for (const entry of c.store.applied.get(docId) ?? []) failures.push(`    ${entry.at} applied → rev ${entry.rev}: ${JSON.stringify(entry.changes.map(x => ({ id: x.id, baseRev: x.baseRev, rev: x.rev, ops: x.ops })))}`);
            for (const e of wire.commits.filter(e => e.client === c.index && e.docId === docId)) {
              failures.push(`    ${e.sentAt} sent ${JSON.stringify(e.sent)} → ${JSON.stringify(e.reply ?? e.error ?? 'no reply')}`);
            }
            if (algorithmOf(docId) === 'lww') failures.push(`    server rows: ${JSON.stringify(await call<PatchesSnapshot>('getDoc', docId))}`);
          }
          const stored = await c.store.getDoc(docId);
          if (!stored) {
            fail(`client ${c.index} ${docId}: gone from the store`);
            continue;
          }
          if (!sameJson(stored.state ?? {}, want)) fail(`client ${c.index} ${docId}: stored ≠ server ${difference(stored.state ?? {}, want)}`);
          if (stored.committedRev !== head) fail(`client ${c.index} ${docId}: committedRev ${stored.committedRev} ≠ server head ${head}`);
          if (stored.pending.length || stored.pendingOps.length || stored.sending) {
            fail(`client ${c.index} ${docId}: still pending ${JSON.stringify({ pending: stored.pending, pendingOps: stored.pendingOps, sending: stored.sending })}`);
          }
        }
        for (const { docId, ids } of c.store.replaced) fail(`client ${c.index} ${docId}: a split took pending changes ${ids.join(',')} out of the queue (each should keep its id on its first piece)`);
      }
      checkChangeIds(histories);
      checkWitnesses(served);
      checkCards(histories, served);
      checkLwwEditsOnDeletedDocs();
      explainRefusals(histories);
      await checkDeletedGone(call);
    });
  }

  /**
   * Every witness edit of a live doc is in the served doc (every client's view equals it, checked
   * above), unless an untrack of its database discarded it or its save failed on an injected store
   * fault (rolled back from the view and reported naming it in `rolledBack`, as README's
   * `doc.change()` says: an edit's save that meets another instance's write reads the doc again,
   * and a fault there fails it); such a one must then be absent. No rule of either algorithm drops
   * a write to a key nobody else touches. Catches an edit lost before it was minted, which
   * `checkChangeIds` cannot see (it follows ids).
   */
  function checkWitnesses(served: Map<string, unknown>): void {
    for (const w of witnesses) {
      if (deletedDocs.includes(w.docId) || witnessesDiscarded.has(w)) continue;
      stats.witnessesChecked++;
      const doc = served.get(w.docId) as FuzzDoc | undefined;
      if (w.changeId !== undefined && rolledBackByFaults.has(w.changeId)) {
        stats.witnessesRolledBack++;
        if (doc?.[w.key] !== undefined) fail(`client ${w.client} ${w.docId}: witness edit ${w.key}=${w.value} was reported rolled back, yet the server's doc has ${show(doc[w.key])}`);
        continue;
      }
      if (doc?.[w.key] !== w.value) fail(`client ${w.client} ${w.docId}: witness edit ${w.key}=${w.value} is not in the server's doc (${show(doc?.[w.key])}): an edit was lost`);
    }
  }

  /**
   * Every card of a live OT doc that the log ever held is in the served doc once, and the log
   * writes it by value only when it is made (every client's view equals the served doc, checked
   * above). Cards are made, dragged, retitled and removed by card edits only (`cardEdit`), and a
   * drag is a `move`: a card written again by value is a drag recorded as a removal and an insert
   * (two concurrent ones leave it twice) or a removed card brought back. What else may take one
   * away is known:
   * - a `remove` card edit (the user's intent, whatever became of it);
   * - a write of the whole board list it was in (two clients making the board's first list at
   *   once: the later `add /todo` replaces the earlier, as for any object key);
   * - `extended` only: a card dragged or added into the fuzz's `list`, where the other edits
   *   replace, clear, reverse and copy what they find (dragged there, or moved there by an edit
   *   meant for another card: any card the log puts off the board). Such a card need not survive, a raw `copy`
   *   may double it, and a reorder past the array diff's budget (`big`: `list` grows to
   *   thousands) writes it by value again (README, "A dragged element travels as a `move`").
   * - a card edit meant for another card that moved or removed this one instead ("strayed",
   *   below).
   * - `extended` only: a change that is no card edit (an edit of `list`, whose edits of a card
   *   follow it when it is dragged into the board, and may then count positions as in class G
   *   below: `cardsTakenByListEdits`, fuzz32 tabs --slow-store seed 80311);
   * - `extended` only: a change of two drags (`dragTwo`: several drags in one change are a
   *   documented limit, README "A dragged element travels as a `move`"). Its recording may write
   *   the cards by value (a removal and an insert when the other drag wrote both lists between
   *   the halves of one, or two replaces for a swap between lists), and such ops, carried past
   *   concurrent changes by index, may double a card or take another card in its place. Found by
   *   the change's id: the cards it wrote by value (`cardsWrittenByTwoDrags`) may be twice, and
   *   the cards that left the doc in it (`cardsTakenByTwoDrags`) may be missing.
   * The copies, the whole-list writes and the writes by value are found by replaying the log op
   * by op, and counted in the stats. A failure prints the card's trail through the log.
   * And an edit follows its card: every card on the board at the end shows a title written for it
   * (titles are unique), and every retitle or typing of it that was minted is in the log (or
   * discarded by an untrack); a concurrent retitle does not drop it, only a removal of the card
   * does (not checked: cards in `list`, written by value by two drags, or in a list written whole).
   *
   * Strayed edits, excused and counted. The reference's transform (protocol §4.4's walk over the
   * corpus-pinned `transformPatch`) does not always close the diamond, and a later change of the
   * same pending queue then names another card. Both found by change id, for the edits that
   * retitle, type into, remove or drag a card:
   * - adds (`cardEditsStrayedAdds`): an add or a drag of the queue into a list, unsent when the edit was
   *   made (or never committed: its list written whole meanwhile), was carried past another
   *   client's add, move or removal in that list: two concurrent inserts at one
   *   index both stay at that index, so a later removal, retitle or drag of the queue in that
   *   list may name the card beside the one meant (class of finding G, README "Array appends": a
   *   push and a separate edit of it may name another item; fuzz32 memory seed 80310: a user
   *   deletes the card they just added and another user's card goes instead, 80344 and 80515:
   *   a retitle on another card, 80600: the same after the own add was dropped with its list,
   *   shared-idb 80310: after an own drag into the list);
   * - drags (`cardEditsStrayedDrags`): an earlier drag of the queue was carried past another
   *   client's move of the same card, both unsent when the edit was made. The later drag follows
   *   the card but lands where the card was taken from (corpus tp-2403), while the mirror drops
   *   the other move (tp-2756), so the queue's next ops count positions as if the card were where
   *   its own drag put it (fuzz32 memory seed 80337: a retitle on the neighbour card). README
   *   documents the drags' positions ("Where two drags of one card end"), not this;
   * - whole (`cardEditsStrayedWhole`): an earlier drag of the queue went into a list another
   *   client wrote whole meanwhile (two clients making the list at once, as above): the drag is
   *   dropped and its card stays, while the queue's later edits of it follow it into the list
   *   written over and are dropped (fuzz32 memory seed 80410).
   * A drag's cards here are the dragged one and the one its recorded move takes, which for a drag
   * past a single neighbour is the neighbour (`dragsRecordedAsNeighbour`: a drag one place up is
   * recorded as the card above moving down, the array diff's tie; fuzz32 memory seeds 80339,
   * 80375), and another client's drag of a card is any move of it in the log or a drag of it.
   */
  function checkCards(histories: Map<string, Change[]>, served: Map<string, unknown>): void {
    for (const [docId, history] of histories) {
      const census = cardCensus(history, cardIntents);
      const revOf = new Map(history.map(change => [change.id, change.rev]));
      /** The changes of the log that moved a card, or were a drag of it (recorded as a move of its neighbour, they move the other card). */
      const dragsOfCard = new Map<string, { rev: number; changeId: string }[]>();
      for (const [id, intent] of cardIntents) {
        const rev = revOf.get(id);
        if (rev === undefined || (intent.kind !== 'drag' && intent.kind !== 'dragTwo')) continue;
        for (const card of intent.cards) dragsOfCard.set(card, [...(dragsOfCard.get(card) ?? []), { rev, changeId: id }]);
      }
      const movesOf = (card: string) => [...(census.movesOf.get(card) ?? []), ...(dragsOfCard.get(card) ?? [])];
      /**
       * Whether the change of card edit `id` was carried past another client's move of a card its
       * own queue had dragged in an earlier change, both unsent then: the reference's transform of
       * two moves of one card does not close the diamond (the later drag lands where the earlier
       * left the card, while the mirror drops the earlier: corpus tp-2403, tp-2756), so the later
       * ops of that queue may name another card (see the class below).
       */
      const afterConcurrentDrags = (id: string): boolean => {
        const edit = cardIntents.get(id);
        if (!edit) return false;
        for (const [dragId, drag] of cardIntents) {
          if (drag.queue !== edit.queue || drag.serial >= edit.serial || (drag.kind !== 'drag' && drag.kind !== 'dragTwo')) continue;
          const dragRev = revOf.get(dragId) ?? Infinity;
          const foreign = drag.cards.some(card => movesOf(card).some(m => m.rev > edit.base && m.rev < dragRev && cardIntents.get(m.changeId)?.queue !== edit.queue));
          if (foreign) return true;
        }
        return false;
      };
      /**
       * Whether the change of card edit `id` was made while an add or a drag of its queue into a
       * list was unsent, that was then carried past another client's add, move or removal in that
       * list: an insert
       * and another's insert, or move from, at one index both keep it, so the queue's later ops
       * may count one card off (class G, below).
       */
      const afterConcurrentAdds = (id: string): boolean => {
        const edit = cardIntents.get(id);
        if (!edit) return false;
        for (const [addId, add] of cardIntents) {
          // (One dropped by the server, its list written whole meanwhile, counts as unsent for good.)
          const rev = revOf.get(addId) ?? Infinity;
          if (add.queue !== edit.queue || add.into.length === 0 || add.serial >= edit.serial || rev <= edit.base) continue;
          for (const other of census.insertsInto) if (cardIntents.get(other.changeId)?.queue !== edit.queue && add.into.includes(other.list) && other.rev > edit.base && other.rev < rev) return true;
        }
        return false;
      };
      /**
       * Whether the change of card edit `id` was made after its queue dragged a card into a list
       * that another client wrote whole meanwhile (the list made twice at once, as above): the
       * drag is dropped, the card left where it was, while the queue's later ops follow it into
       * the list written over.
       */
      const afterWholeWrite = (id: string): boolean => {
        const edit = cardIntents.get(id);
        if (!edit) return false;
        for (const drag of cardIntents.values()) {
          if (drag.queue !== edit.queue || drag.serial >= edit.serial || drag.into.length === 0) continue;
          if (census.wholeWrites.some(write => drag.into.includes(write.list) && write.rev > edit.base)) return true;
        }
        return false;
      };
      /** Why an edit meant for another card may have reached one, or been dropped: an own add (class G), an own drag that met another's, or a drag into a list written whole (as above). */
      const strayed = (id: string | undefined): 'adds' | 'drags' | 'whole' | undefined =>
        id === undefined ? undefined : afterConcurrentAdds(id) ? 'adds' : afterConcurrentDrags(id) ? 'drags' : afterWholeWrite(id) ? 'whole' : undefined;
      const counted = (why: 'adds' | 'drags' | 'whole' | undefined): boolean => {
        if (why === 'whole') stats.cardEditsStrayedWhole++;
        if (why === 'adds') stats.cardEditsStrayedAdds++;
        if (why === 'drags') stats.cardEditsStrayedDrags++;
        return why !== undefined;
      };
      stats.cardsReplacedWhole += census.replacedWhole.size;
      stats.cardsCopied += census.copied.size;
      stats.cardsReAdded += census.rewritten.size;
      stats.cardsTakenByTwoDrags += census.takenByTwoDrags.size;
      stats.cardsWrittenByTwoDrags += census.byTwoDrags.size;
      const found = new Map<string, string[]>();
      cardsIn(served.get(docId) as Json, '', found);
      for (const id of census.seen) {
        stats.cardsChecked++;
        const at = found.get(id) ?? [];
        const offBoard = cardsOffBoard.has(id) || census.offBoard.has(id);
        const byValue = census.byTwoDrags.has(id);
        const twice = at.length > 1 && !(offBoard && census.copied.has(id)) && !((offBoard || byValue) && census.rewritten.has(id));
        // Moved or removed by an edit meant for another card (the ones that take a card away).
        const takenInstead = () =>
          [...(census.takers.get(id) ?? [])].some(changeId => {
            const intent = cardIntents.get(changeId);
            // `extended`: an edit of `list` that followed a card dragged out of it into the board,
            // counting positions as in class G, may replace or remove a board card (seed 80311).
            if (!intent) return options.edits === 'extended' && (stats.cardsTakenByListEdits++, true);
            return !intent.cards.includes(id) && counted(strayed(changeId));
          });
        const lost = at.length === 0 && !cardsRemoved.has(id) && !offBoard && !census.replacedWhole.has(id) && !census.takenByTwoDrags.has(id) && !takenInstead();
        const rewritten = census.rewritten.has(id) && !offBoard && !byValue;
        if (twice) fail(`${docId}: card ${id} is in the doc ${at.length} times (${at.join(', ')})`);
        if (lost) fail(`${docId}: card ${id} is lost: the log holds it, nobody removed it, and it is not in the doc`);
        if (rewritten) fail(`${docId}: card ${id} is written by value again after it was made (a drag recorded as a removal and an insert, or a removed card brought back)`);
        if (twice || lost || rewritten) failures.push(...cardTrail(history, id).map(line => `    ${line}`), ...logLines(history, docId));
      }
      // A retitle or typing of a card still on the board at the end is in the log (a concurrent
      // retitle does not drop it: the later one is kept over the earlier), unless discarded with
      // its doc's untrack.
      for (const m of minted) {
        const meant = m.docId === docId ? cardIntents.get(m.id) : undefined;
        if (!meant || (meant.kind !== 'title' && meant.kind !== 'text') || discardable.has(m.id)) continue;
        const [card] = meant.cards;
        if ((found.get(card) ?? []).length === 0 || cardsOffBoard.has(card) || census.offBoard.has(card) || census.byTwoDrags.has(card) || census.replacedWhole.has(card)) continue;
        stats.cardEditsChecked++;
        if (revOf.has(m.id) || counted(strayed(m.id))) continue;
        fail(`${docId}: the edit "${meant.label}" (change ${m.id}) is not in the log, yet its card is: an edit that did not follow its card`);
        failures.push(...cardTrail(history, card).map(line => `    ${line}`), ...logLines(history, docId));
      }
      // A card on the board shows a title written for it.
      const doc = served.get(docId) as FuzzDoc | undefined;
      for (const list of BOARD_LISTS) {
        const cards = Array.isArray(doc?.[list]) ? (doc[list] as Json[]).filter(isCard) : [];
        for (const card of cards) {
          if (cardsOffBoard.has(card.id) || census.offBoard.has(card.id)) continue;
          stats.cardTitlesChecked++;
          const written = typeof card.title === 'string' ? titleWrites.get(card.title) : undefined;
          if (written?.card === card.id || counted(strayed(written?.changeId))) continue;
          fail(`${docId}: card ${card.id} shows the title ${show(card.title)}, written for ${written?.card ?? 'no card'}: an edit did not follow its card`);
          for (const id of new Set([card.id, written?.card ?? card.id])) failures.push(`    ${id}:`, ...cardTrail(history, id).map(line => `      ${line}`));
          for (const e of wire.commits.filter(e => e.docId === docId && e.sent.some(sent => sent.id === written?.changeId))) {
            failures.push(`    sent by client ${e.client} at ${e.sentAt}: ${JSON.stringify(e.sent.map(x => ({ id: x.id, baseRev: x.baseRev, ops: x.ops })))} → ${JSON.stringify(e.reply?.changes.map(x => ({ id: x.id, rev: x.rev })) ?? e.error ?? 'no reply')}`);
          }
          failures.push(...logLines(history, docId));
        }
      }
    }
  }

  /** The log of a doc, a line per change, and the card edits that made its changes (for a failure's report). */
  function logLines(history: readonly Change[], docId: string): string[] {
    return [
      `    log of ${docId}:`,
      ...history.map(change => {
        const intent = cardIntents.get(change.id);
        return `      rev ${change.rev} (${change.id}, base ${change.baseRev}): ${JSON.stringify(change.ops)}${intent ? `  ← ${intent.label} [${intent.queue}, made at rev ${intent.base}]` : ''}`;
      }),
    ];
  }

  /**
   * The docs whose tombstone a client's store holds (deleted here, the server's word not heard),
   * read again at each of its syncs' events and every 25 ms: a delete's retry comes with no event.
   */
  function tombstoneLooks$(c: FuzzClient): Observable<string[]> {
    const read = async () => (await c.store.listDocs(true)).filter(d => d.deleted).map(d => d.docId);
    return merge(c.sync.synced$, c.patches.deleted$, timer(0, 25)).pipe(concatMap(read));
  }

  /** No trace of a deleted doc: the server answers 410, no client tracks it, no store holds a row or tombstone of it. */
  async function checkDeletedGone(call: <T>(method: string, ...params: unknown[]) => Promise<T>): Promise<void> {
    for (const docId of deletedDocs) {
      // A delete still on its way first: a database holding the doc's tombstone has not heard the
      // server confirm it (a refused `deleteDoc` waits for its retry, which no quiet state shows:
      // fuzz memory seed 82116 under load, a 503 on the delete and the check before the retry).
      await Promise.all(clients.map(c => within(tombstoneLooks$(c), held => !held.includes(docId), () => `client ${c.index}: the delete of ${docId} never reached the server`)));
      const served = await call('getDoc', docId).then(
        () => 'a document',
        (error: unknown) => ((error as { code?: unknown }).code === 410 ? '' : describe(error)),
      );
      if (served === 'a document' && mayLiveOn.has(docId)) {
        stats.deletesUndone++;
        continue;
      }
      if (served) fail(`${docId} was deleted, yet the server answers getDoc with ${served}`);
      for (const c of clients) {
        // A quiet client may still be on its way to dropping it (one that has not heard of the delete shows it synced):
        // each event that may end that looks again, until the stuck bound.
        const gone = async () => !c.patches.trackedDocs.has(docId) && !(await c.patches.runExclusive(docId, () => c.store.listDocs(true))).some(d => d.docId === docId);
        const looks$ = merge(of(null), c.sync.remoteDocDeleted$, c.patches.untracked$, c.patches.deleted$, c.patches.otherWrites$, c.sync.synced$).pipe(concatMap(gone));
        const dropped = await within(looks$, done => done, () => '').then(
          () => true,
          (error: unknown) => {
            if (!(error instanceof Stuck)) throw error;
            return false;
          },
        );
        if (dropped) continue;
        if (c.patches.trackedDocs.has(docId)) fail(`client ${c.index} still tracks ${docId}, deleted: ${snapshot(c)}`);
        const row = (await c.store.listDocs(true)).find(d => d.docId === docId);
        if (row) fail(`client ${c.index}'s store still holds ${docId}, deleted: ${JSON.stringify(row)}`);
      }
    }
  }

  /**
   * For every OT commit the server refused as unappliable (400, scope 'change'), the inputs of
   * the server's transform as the log shows them: enough to replay it with the pure functions.
   */
  function explainRefusals(histories: Map<string, Change[]>): void {
    for (const exchange of wire.commits.filter(refused)) {
      const error = exchange.error as { message?: string };
      const history = histories.get(exchange.docId);
      if (!history) continue;
      const at = /at rev (\d+)/.exec(error.message ?? '');
      const baseRev = exchange.sent[0]?.baseRev ?? 0;
      const upTo = at ? Number(at[1]) - 1 : history.length;
      failures.push(
        `    refused commit of client ${exchange.client} (${error.message}): ${JSON.stringify({
          sent: exchange.sent.map(c => ({ id: c.id, baseRev: c.baseRev, ops: c.ops })),
          committedSince: history.filter(c => c.rev > baseRev && c.rev <= upTo).map(c => ({ id: c.id, rev: c.rev, ops: c.ops })),
          stateAtBaseRev: history.filter(c => c.rev <= baseRev).reduce<unknown>((state, c) => applyPatch(state, c.ops, { mode: 'strict' }), null),
        })}`,
      );
    }
  }

  /**
   * Every op of an LWW edit made on a doc deleted since (whose history went with it), known by
   * path and timestamp, was sent in a commit the server answered or carried as committed, handed
   * to onRemoteDocDeleted, or discarded by its database's own delete or untrack: never dropped
   * unseen (the OT twin is in `checkChangeIds`). Excused: an op that another op of its database
   * may have taken in while both were pending (`consolidateOps`: a later op on its path, above or
   * below it, replaces or absorbs it; an earlier one strictly above it may refuse it), which is
   * then the one that must be accounted for. With the pending ops left out of the hand-over
   * (`purgeDeletedDoc`), memory seed 44402 fails.
   */
  function checkLwwEditsOnDeletedDocs(): void {
    const committed = new Set<string>();
    for (const e of wire.commits) {
      if (algorithmOf(e.docId) !== 'lww' || !(e.reply !== undefined || e.sent.some(c => wire.seenCommitted.has(c.id)))) continue;
      for (const change of e.sent) for (const op of change.ops ?? []) committed.add(lwwKey(e.docId, op));
    }
    const databaseOfClient = (client: number) => (storesMode === 'memory' || storesMode === 'idb' ? client : databaseOf(client));
    /** Whether op `k` of edit `j` may have taken op `i` of edit `index` off its database's pending ops. */
    const mayHaveMerged = (index: number, i: number, j: number, k: number): boolean => {
      const [mine, other] = [lwwMinted[index], lwwMinted[j]];
      if (other.docId !== mine.docId || databaseOfClient(other.client) !== databaseOfClient(mine.client) || (j === index && k === i)) return false;
      const [op, by] = [mine.ops[i], other.ops[k]];
      // A later op on its path, above or below it, replaces or absorbs it; an earlier one strictly above it may refuse it.
      const later = j > index || (j === index && k > i);
      return later ? pathsMeet(by.path, op.path) : by.path !== op.path && isAtOrAbove(by.path, op.path);
    };
    lwwMinted.forEach((m, index) => {
      if (!deletedDocs.includes(m.docId) || lwwDiscarded.has(m)) return;
      m.ops.forEach((op, i) => {
        const key = lwwKey(m.docId, op);
        stats.lwwOpsOnDeleted++;
        if (lwwHandedOver.has(key)) stats.lwwOpsHandedOver++;
        if (committed.has(key) || lwwHandedOver.has(key)) return;
        if (lwwMinted.some((other, j) => other.ops.some((_, k) => mayHaveMerged(index, i, j, k)))) return;
        const sends = wire.commits.filter(e => e.docId === m.docId && e.client === m.client);
        fail(
          `client ${m.client} ${m.docId}: LWW op ${op.op} ${op.path} (ts ${String(op.ts)}), made on a doc deleted since, was never committed, handed to onRemoteDocDeleted nor discarded (dropped unseen); its commits: ${
            sends.map(e => `socket ${e.socket}: ${e.reply ? 'replied' : e.error ? `error ${JSON.stringify(e.error)}` : 'no reply'}`).join(', ') || 'none'
          }\n${wire.tail(m.client, 60).map(line => `    ${line}`).join('\n')}`,
        );
      });
    });
  }

  /** Every minted OT id is in the log exactly once or provably transformed away; the log holds no unknown id. */
  function checkChangeIds(histories: Map<string, Change[]>): void {
    const revOf = new Map<string, Map<string, number>>();
    for (const [docId, history] of histories) {
      const counts = new Map<string, number>();
      for (const c of history) counts.set(c.id, (counts.get(c.id) ?? 0) + 1);
      for (const [id, count] of counts) if (count > 1) fail(`${docId}: change ${id} is committed ${count} times`);
      revOf.set(docId, new Map(history.map(c => [c.id, c.rev])));
    }
    const mintedIds = new Set(minted.map(m => m.id));
    for (const [docId, history] of histories) {
      for (const c of history) if (!mintedIds.has(c.id)) fail(`${docId}: rev ${c.rev} holds change ${c.id} that no client minted`);
    }

    const serverDropped = (docId: string, id: string): boolean => {
      const history = histories.get(docId)!;
      const revs = revOf.get(docId)!;
      return wire.commits.some(exchange => {
        if (exchange.docId !== docId || !exchange.reply || !exchange.sent.some(c => c.id === id) || exchange.reply.changes.some(c => c.id === id)) return false;
        // Recompute the server's walk (OTDocService.commitChanges) from the log: which changes it
        // transformed this request over, and which of the request were already committed.
        const sent = exchange.sent;
        const baseRev = sent[0].baseRev;
        const requestIds = new Set(sent.map(c => c.id));
        const batchId = sent[0].batchId;
        const isOwn = (c: Change) => requestIds.has(c.id) || (batchId !== undefined && c.batchId === batchId);
        const headBefore = Math.max(baseRev, ...exchange.reply.changes.filter(c => !isOwn(c)).map(c => c.rev));
        const reload = exchange.reply.docReloadRequired === true;
        const committedSince = reload ? [] : history.filter(c => c.rev > baseRev && c.rev <= headBefore);
        const queue = sent.filter(c => (revs.get(c.id) ?? Infinity) > baseRev);
        const transformed = transformIncomingChanges(committedSince, queue, isOwn);
        if (!transformed.some(c => c.id === id)) return true;
        // Or the server dropped it because its transformed ops did not apply on the head (after
        // the changes of the same request it did commit): replay that.
        const replied = new Map(exchange.reply.changes.map(c => [c.id, c.rev]));
        const ownRevs = transformed.map(c => replied.get(c.id)).filter((rev): rev is number => rev !== undefined);
        const head = reload ? (ownRevs.length > 0 ? Math.min(...ownRevs) - 1 : history.length) : headBefore;
        let state = history.filter(c => c.rev <= head).reduce<unknown>((s, c) => applyPatch(s, c.ops, { mode: 'strict' }), null);
        for (const c of transformed) {
          if (c.id === id) {
            try {
              applyPatch(state, c.ops, { mode: 'strict' });
              return false;
            } catch {
              return true;
            }
          }
          if (replied.has(c.id)) state = applyPatch(state, c.ops, { mode: 'strict' });
        }
        return false;
      });
    };
    const clientDropped = (m: Minted): boolean => {
      if (m.client < 0) return false; // the raw writer keeps no queue
      const revs = revOf.get(m.docId)!;
      // With a shared database the client that applied the batch may be another tab of the same one.
      return clients.flatMap(c => c.store.drops).some(drop => {
        if (drop.docId !== m.docId || !drop.gone.includes(m.id)) return false;
        // Recompute the client's rebase (applyCommittedChanges) of the queue it held: echoes of
        // already-committed changes leave before the walk; a change the server resolved (left out
        // of its reply) stays in it and leaves after, as OTAlgorithm does since 482cbca (the
        // changes behind it were written on top of it). Taken out first here, a drag behind a
        // resolved drag of the same card looked kept by the rebase (fuzz32 memory seed 80483).
        const kept = new Set([...drop.kept, ...drop.applied.map(c => c.id)]);
        const queue = drop.before.filter(c => c.id === m.id || kept.has(c.id) || !revs.has(c.id));
        return !rebaseChanges(drop.applied, queue).some(c => c.id === m.id);
      });
    };

    for (const m of minted) {
      if (deletedDocs.includes(m.docId)) {
        // Its history is gone with the doc: it was committed, or its client (or a tab of it) had it
        // unsent when the delete came, so the user's own delete discarded it or it was handed to
        // onRemoteDocDeleted; or it provably left the queue: the server left it out of a reply, or
        // the client's rebase dropped it (both checked for live docs, not recomputed here).
        stats.mintedOnDeleted++;
        if (handedOver.has(m.id)) stats.handedOver++;
        const accounted =
          m.client < 0 ||
          handedOver.has(m.id) ||
          wire.seenCommitted.has(m.id) ||
          discardedByDelete.has(m.id) ||
          discardable.has(m.id) ||
          wire.commits.some(e => e.docId === m.docId && e.sent.some(c => c.id === m.id) && e.reply !== undefined) ||
          clients.some(c => c.store.drops.some(drop => drop.docId === m.docId && drop.gone.includes(m.id)));
        if (!accounted) {
          const sends = wire.commits.filter(e => e.sent.some(c => c.id === m.id));
          const senders = [...new Set([m.client, ...sends.map(e => e.client)])];
          fail(
            `client ${m.client} ${m.docId}: change ${m.id}, made on a doc deleted since, was never committed (no server message carried it), discarded by a local delete nor handed to onRemoteDocDeleted (dropped unseen); sent: ${
              sends.map(e => `by client ${e.client} on socket ${e.socket}: ${e.reply ? 'replied' : e.error ? `error ${JSON.stringify(e.error)}` : 'no reply'}`).join(', ') || 'never'
            }\n${senders.flatMap(i => [`  client ${i}:`, ...wire.tail(i, 60).map(line => `    ${line}`)]).join('\n')}`,
          );
        }
        continue;
      }
      const revs = revOf.get(m.docId)!;
      if (revs.has(m.id)) continue;
      if (discardable.has(m.id)) stats.untrackDiscarded++;
      else if (serverDropped(m.docId, m.id)) rebasedAway.push({ ...m, by: 'server' });
      else if (clientDropped(m)) rebasedAway.push({ ...m, by: 'client' });
      else {
        fail(`client ${m.client} ${m.docId}: change ${m.id} is not in the server log and was not transformed to nothing (lost)${cardIntents.has(m.id) ? ` (card edit: ${cardIntents.get(m.id)!.label})` : ''}`);
        // What carried it: every commit that sent it, and every store write that took it off a queue.
        for (const e of wire.commits.filter(e => e.docId === m.docId && e.sent.some(c => c.id === m.id))) {
          failures.push(`    sent by client ${e.client} at ${e.sentAt}: ${JSON.stringify(e.sent.map(x => ({ id: x.id, baseRev: x.baseRev, ops: x.ops })))} → ${JSON.stringify(e.reply?.changes.map(x => ({ id: x.id, rev: x.rev })) ?? e.error ?? 'no reply')}`);
        }
        for (const drop of clients.flatMap(c => c.store.drops).filter(drop => drop.docId === m.docId && drop.gone.includes(m.id))) {
          failures.push(`    dropped from a queue: ${JSON.stringify({ before: drop.before.map(c => ({ id: c.id, baseRev: c.baseRev, ops: c.ops })), applied: drop.applied.map(c => ({ id: c.id, rev: c.rev, ops: c.ops })), kept: drop.kept })}`);
        }
        failures.push(...logLines(histories.get(m.docId) ?? [], m.docId));
      }
    }
  }
}

/** One generator per client, forked from the seed for `purpose`. */
function clientsForks(seed: number, count: number, purpose: string): Rng[] {
  return Array.from({ length: count }, (_, i) => forkRng(seed, `${purpose}-${i}`));
}

/** An LWW op as the oracle knows it: its doc, path and timestamp. */
function lwwKey(docId: string, op: JSONPatchOp): string {
  return `${docId} ${op.path}@${String(op.ts)}`;
}

/** Whether two JSON Pointers are the same or one lies below the other. */
function pathsMeet(a: string, b: string): boolean {
  return isAtOrAbove(a, b) || isAtOrAbove(b, a);
}

/** Whether JSON Pointer `a` is `b` or one of its ancestors (`''` is above everything). */
function isAtOrAbove(a: string, b: string): boolean {
  return a === b || b.startsWith(`${a}/`);
}
