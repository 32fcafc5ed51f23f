import { randomBytes } from 'node:crypto';
import type { ClientBase, Pool, PoolClient } from 'pg';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { StoreError } from '../../../errors.js';
import type { Change, DocumentTombstone, JSONPatchOp } from '../../../types.js';
import { DuplicateChangeIdsError } from '../DuplicateChangeIdsError.js';
import { RevConflictError } from '../RevConflictError.js';
import { DEFAULT_CONCURRENT_LOADS, entryFirstRev, entryLastRev } from '../ServerStore.js';
import type { CarriedEntry, DocSnapshot, LogEntry, LWWLogEntry, ServerStore, StoreEvent, StoredDoc } from '../ServerStore.js';
import { migrate } from './migrations.js';
import { PostgresListener } from './PostgresListener.js';
import { PostgresStartupError, startupError } from './PostgresStartupError.js';
import { connectionFault, orUnavailable } from './unavailable.js';

/** Options of {@link PostgresServerStore}. */
export interface PostgresServerStoreOptions {
  /** `postgres://user:password@host:port/database` (default: the `DATABASE_URL` environment variable). */
  connectionString?: string | undefined;
  /** Most connections the pool opens (default 10); the LISTEN connection comes on top. */
  poolSize?: number | undefined;
  /** Most connections holding commit locks, one per document being committed to (default: `poolSize`). */
  lockPoolSize?: number | undefined;
  /**
   * Most documents the server loads at once (`ServerStore.concurrentLoads`, a positive integer;
   * default: three in five of `poolSize`, at most 6, at least 1). More than 6 may serve a restart's
   * herd of subscribes sooner on a database with cores of its own; on a machine it shares with the
   * server, 12 with a pool of 20 let half the commits through during the herd and answered it no
   * sooner (`node bench/subscribeHerd.js --pool 20`, docs/benchmarks.md).
   */
  concurrentLoads?: number | undefined;
  /** Server-side `statement_timeout` of every query, in ms (default 10 000; 0 = none). */
  statementTimeoutMs?: number | undefined;
  /**
   * Client-side limit of every query, in ms (default `statementTimeoutMs` + 5 000; 0 = none): a
   * network gone silent (a partition, a failover to another host) answers nothing, not even the
   * statement timeout, and every commit to the document would wait for good. A commit cut by it
   * may have been stored: the server reads the document again before its next write.
   */
  queryTimeoutMs?: number | undefined;
  /** How long to wait for a new connection, in ms (default 10 000). */
  connectTimeoutMs?: number | undefined;
  /** NOTIFY channel the processes of one deployment share (default `patches_rx`). */
  channel?: string | undefined;
  /** Schedules reconnects of the LISTEN connection (default `asyncScheduler`). */
  scheduler?: SchedulerLike | undefined;
}

/** A document row as a commit sees it. */
interface ChangeRow {
  rev: number;
  entry_rev: number;
  kind: 'ot' | 'lww';
  body: unknown;
}

const UNIQUE_VIOLATION = '23505';
/**
 * A commit in one statement. Compare-and-set on the document's head: `moved` advances it from
 * `first - 1` in the incarnation this process loaded (the row lock queues concurrent commits to
 * one doc; under READ COMMITTED the loser re-checks the moved head and matches nothing),
 * `created` starts a new document at rev 1. Only
 * then are the rows inserted (unique `(doc_id, rev)` and `(doc_id, change_id)`: a violation fails
 * the whole statement) and the other processes notified (delivered at commit), with the
 * incarnation written to and, when small enough, the entry itself ($11, else null). A commit
 * made without the document's commit lock ($12: the lock's first key) yields to a process that
 * holds it: it writes nothing while the lock is held elsewhere (`pg_try_advisory_xact_lock`,
 * released when the statement commits), so that process's retry cannot be overtaken.
 */
const APPEND = `
  WITH unlocked AS (
    SELECT ($12::int IS NULL OR pg_try_advisory_xact_lock($12::int, hashtext($1))) AS free
  ), moved AS (
    UPDATE patches_rx_docs SET head_rev = $3
    WHERE doc_id = $1 AND head_rev = $2 - 1 AND tombstone IS NULL AND ($10::bigint IS NULL OR incarnation = $10::bigint)
      AND (SELECT free FROM unlocked)
    RETURNING incarnation
  ), created AS (
    INSERT INTO patches_rx_docs (doc_id, head_rev) SELECT $1, $3
    WHERE $2 = 1 AND NOT EXISTS (SELECT 1 FROM moved) AND (SELECT free FROM unlocked)
    ON CONFLICT (doc_id) DO NOTHING RETURNING incarnation
  ), taken AS (
    SELECT incarnation FROM moved UNION ALL SELECT incarnation FROM created
  ), inserted AS (
    INSERT INTO patches_rx_changes (doc_id, rev, entry_rev, kind, change_id, body)
    SELECT $1, t.rev, $2, $4, t.change_id, t.body::json FROM unnest($5::int[], $6::text[], $7::text[]) AS t(rev, change_id, body)
    WHERE EXISTS (SELECT 1 FROM taken)
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM inserted)::int AS inserted,
         (SELECT count(*) FROM (
           SELECT pg_notify($8, json_build_object('t', 'c', 'd', $1::text, 'f', $2::int, 'l', $3::int, 's', $9::text, 'i', incarnation::text, 'e', $11::json)::text) FROM taken
         ) AS sent)::int AS notified,
         (SELECT incarnation::text FROM taken LIMIT 1) AS incarnation`;

/**
 * Largest entry (UTF-8 bytes of its JSON, doc id included) a commit's NOTIFY carries: PostgreSQL
 * refuses payloads of 8,000 bytes or more, and a refused NOTIFY would fail the commit.
 */
const MAX_CARRIED_BYTES = 7_500;

/** First key of the per-document advisory locks (the second is the doc id's hash): 'prx' + 2. */
const DOC_LOCKS = 0x70727802;

/**
 * The `ServerStore` for running several server processes on one PostgreSQL database (node-postgres).
 *
 * - The schema is created and migrated by the store itself on first use (`migrations.ts`),
 *   under an advisory lock, so processes starting together are safe.
 * - `append` is one transaction: it moves the document's `head_rev` from the entry's first
 *   rev - 1 to its last rev and inserts the rows, unique on `(doc_id, rev)` and on the OT change
 *   id. A process whose view is stale loses with `RevConflictError` and nothing is written;
 *   the document service then reads what it missed, transforms again and retries.
 * - Every write sends `NOTIFY` (doc id and revs; a commit's entry too when it is small, so a
 *   process holding the document up to it reads nothing, else readers fetch the rows
 *   themselves); `watch` reports the other processes' writes, and `resync` after its LISTEN
 *   connection dropped and came back; and this process's own commits, deletes and undeletes of
 *   a document a write failed on with its outcome unknown (one stored after the reload that
 *   followed the failure).
 * - OT history stays readable after a snapshot; LWW log rows folded into a snapshot are dropped
 *   (LWW rows carry their own revs), the snapshot keeping one row per field.
 * - A database that cannot be reached, or goes away mid-call (refused, cut, shut down, no answer
 *   within `queryTimeoutMs`), fails a call with a retryable 503 (`unavailable.ts`), which clients
 *   retry quietly, not with a fault's -32000.
 *
 * `pg` is loaded on first use, so it is only needed by servers that use this store.
 *
 * ## Example
 * ```ts
 * const store = new PostgresServerStore({ connectionString: process.env.DATABASE_URL, poolSize: 20 });
 * await store.open(); // optional: fails fast with a one-line PostgresStartupError
 * const server = await startServer({ port: 8787, store });
 * ```
 */
export class PostgresServerStore implements ServerStore {
  /** The log is unique on `(doc_id, change_id)`: a resent old id is refused by `append`. */
  readonly uniqueChangeIds = true;
  /**
   * The incarnation of each document this process holds, as it last loaded, read or wrote it,
   * kept until the server unloads the document (`unloadDoc`): commits, read-ons and snapshots of
   * another one are refused, and a load that finds another one says it is `recreated`. An
   * `UnseenLife` for a document loaded before it had a row (never written, or undeleted), whose
   * first read-on or write tells. So it holds what the server holds, however many documents that is
   * (followed documents stay loaded past its `cacheSize`); a document not in it is written
   * without the check, as before version 2 of the schema.
   */
  private readonly incarnations = new Map<string, string | UnseenLife>();
  private readonly connectionString: string;
  private readonly channel: string;
  /** Tells this process's own notifications from the others'. */
  private readonly source = randomBytes(6).toString('base64url');
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private pool: Pool | undefined;
  /** Connections that hold per-document commit locks (apart, so holders never starve the queries they wait for). */
  private lockPool: Pool | undefined;
  private opened: Promise<void> | undefined;
  private listener: PostgresListener | undefined;
  /** Documents whose commit lock this process holds (`lockDoc`): their appends need not yield. */
  private readonly locked = new Set<string>();
  /**
   * Documents a write of this process (an append, a delete, an undelete) failed on with its
   * outcome unknown, until the server unloads them: their reports from this process are not
   * dropped as its own. A write whose answer never came (cut by `queryTimeoutMs`, say while an
   * append waited for the document's row, or a `COMMIT` for a synchronous standby) may be stored
   * after the reload that follows the failure read the document, and its report is then how this
   * process hears of it (a report of a write it knows of changes nothing).
   */
  private readonly inDoubt = new Set<string>();
  private closed = false;

  /**
   * Documents the server loads at once (`ServerStore.concurrentLoads`): the option, or three in
   * five of the pool's connections, at most {@link DEFAULT_CONCURRENT_LOADS} (6 of the default 10,
   * at least 1), the others left to commits, reads of history and snapshots, which would otherwise
   * queue behind a herd of loads for them.
   */
  readonly concurrentLoads: number;

  /** @param options where the database is, pool size and timeouts */
  constructor(private readonly options: PostgresServerStoreOptions = {}) {
    this.concurrentLoads = options.concurrentLoads ?? Math.min(DEFAULT_CONCURRENT_LOADS, Math.max(1, Math.floor(((options.poolSize ?? 10) * 3) / 5)));
    const connectionString = options.connectionString ?? process.env.DATABASE_URL;
    if (!connectionString) throw new StoreError('PostgresServerStore needs a connectionString (or DATABASE_URL)');
    this.connectionString = connectionString;
    this.channel = options.channel ?? 'patches_rx';
    if (!/^[a-z_][a-z0-9_]*$/.test(this.channel)) throw new StoreError(`Bad NOTIFY channel name "${this.channel}"`);
  }

  /**
   * Connects, checks the rights and migrates the schema; every other method waits for it (and
   * calls it). Resolves once; a failure is reported as one-line `PostgresStartupError` and the
   * next call tries again.
   */
  open(): Promise<void> {
    if (this.closed) return Promise.reject(new StoreError('PostgresServerStore is closed'));
    this.opened ??= this.start().catch((error: unknown) => {
      this.opened = undefined;
      throw error;
    });
    return this.opened;
  }

  /** @inheritDoc */
  loadDoc(docId: string): Promise<StoredDoc> {
    return orUnavailable(this.loadDocNow(docId));
  }

  private async loadDocNow(docId: string): Promise<StoredDoc> {
    // One snapshot of the database: a snapshot written meanwhile cannot tear snapshot and tail apart.
    const { stored, incarnation } = await this.transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async (client) => {
      const doc = await client.query<{ tombstone: DocumentTombstone | null; incarnation: string }>('SELECT tombstone, incarnation::text FROM patches_rx_docs WHERE doc_id = $1', [docId]);
      const row = doc.rows[0];
      if (!row) return { stored: { tail: [] }, incarnation: null };
      if (row.tombstone) return { stored: { tail: [], tombstone: row.tombstone }, incarnation: row.incarnation };
      const snap = await client.query<{ rev: number; body: DocSnapshot }>('SELECT rev, body FROM patches_rx_snapshots WHERE doc_id = $1', [docId]);
      let snapshot: DocSnapshot | undefined;
      if (snap.rowCount) {
        snapshot = snap.rows[0].body;
        if (snapshot.kind === 'lww') {
          const fields = await client.query<{ row: JSONPatchOp }>('SELECT row FROM patches_rx_lww_fields WHERE doc_id = $1 ORDER BY path', [docId]);
          snapshot = { ...snapshot, rows: fields.rows.map((field) => field.row) };
        }
      }
      const { entries: tail } = await readEntries(client, docId, snapshot?.rev ?? 0);
      return { stored: { ...(snapshot && { snapshot }), tail }, incarnation: row.incarnation };
    });
    // Noted once the load succeeded: after a failed one the server still holds the life it held.
    const known = this.incarnations.get(docId);
    this.incarnations.set(docId, incarnation ?? unseenLife());
    // Another life than the one this process holds (its row gone with an undelete, or drawn anew
    // by a write after it): deleted and undeleted while this process missed the reports.
    return typeof known === 'string' && incarnation !== known && !stored.tombstone ? { ...stored, recreated: true } : stored;
  }

  /** @inheritDoc */
  readLog(docId: string, afterRev: number): Promise<LogEntry[]> {
    return orUnavailable(this.readLogNow(docId, afterRev));
  }

  private async readLogNow(docId: string, afterRev: number): Promise<LogEntry[]> {
    await this.open();
    const before = this.incarnations.get(docId);
    const { entries, incarnation } = await readEntries(this.db(), docId, afterRev);
    if (incarnation === undefined) return entries;
    const known = this.incarnations.get(docId);
    // A document this process loaded before it had a row: what it reads on now is the life it
    // holds, if the read began in that life. One begun before (this process undeleted the doc
    // meanwhile) may have seen the life before it: nothing to read on, and nothing noted.
    if (typeof known === 'object') {
      if (known !== before) return [];
      this.incarnations.set(docId, incarnation);
      return entries;
    }
    // Another incarnation than the one this process loaded: none of its entries follow what it holds
    // (nothing to read on; a commit then reloads the document, and the load says it is `recreated`).
    // A document it does not hold (a read that outlived its unload) is read as it is, and not noted.
    return known === undefined || incarnation === known ? entries : [];
  }

  /** @inheritDoc */
  append(docId: string, entry: LogEntry): Promise<void> {
    return orUnavailable(this.appendNow(docId, entry));
  }

  private async appendNow(docId: string, entry: LogEntry): Promise<void> {
    await this.open();
    const first = entryFirstRev(entry);
    const last = entryLastRev(entry);
    const rows = entryRows(entry);
    // What the NOTIFY carries: the entry as `readEntries` rebuilds it from the rows, from their JSON (serialised once).
    const carried = entry.kind === 'lww' ? rows[0].body : `{"kind":"ot","changes":[${rows.map((row) => row.body).join(',')}]}`;
    let inserted: number;
    try {
      // One statement, so one round trip and its own transaction (see APPEND).
      const result = await this.db().query<{ inserted: number; incarnation: string | null }>(APPEND, [
        docId,
        first,
        last,
        entry.kind,
        rows.map((row) => row.rev),
        rows.map((row) => row.changeId),
        rows.map((row) => row.body),
        this.channel,
        this.source,
        knownIncarnation(this.incarnations.get(docId)),
        Buffer.byteLength(carried) + Buffer.byteLength(JSON.stringify(docId)) <= MAX_CARRIED_BYTES ? carried : null,
        this.locked.has(docId) ? null : DOC_LOCKS,
      ]);
      inserted = result.rows[0].inserted;
      if (result.rows[0].incarnation !== null) this.incarnations.set(docId, result.rows[0].incarnation);
    } catch (error) {
      if ((error as { code?: string }).code !== UNIQUE_VIOLATION) {
        this.inDoubt.add(docId);
        throw error;
      }
      const committed = await this.committedIds(docId, rows.map((row) => row.changeId).filter((id): id is string => id !== null));
      // A rev another process took, or one of these ids: only the latter is a resend of old history.
      throw committed.size ? new DuplicateChangeIdsError(docId, committed, { cause: error }) : new RevConflictError(docId, first, { cause: error });
    }
    if (inserted !== rows.length) throw new RevConflictError(docId, first);
  }

  /** Which of these OT change ids the document's log holds, with their revs (the unique key's index). */
  private async committedIds(docId: string, ids: string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.db().query<{ change_id: string; rev: number }>('SELECT change_id, rev FROM patches_rx_changes WHERE doc_id = $1 AND change_id = ANY($2::text[])', [docId, ids]);
    return new Map(rows.map((row) => [row.change_id, row.rev]));
  }

  /** @inheritDoc */
  saveSnapshot(docId: string, snapshot: DocSnapshot): Promise<void> {
    return orUnavailable(this.saveSnapshotNow(docId, snapshot));
  }

  private async saveSnapshotNow(docId: string, snapshot: DocSnapshot): Promise<void> {
    await this.transaction('BEGIN', async (client) => {
      // FOR UPDATE, not FOR SHARE: two processes' snapshots of one doc then go one after the other.
      // A doc's first snapshot has no row for `FOR UPDATE` below to lock, and an older snapshot
      // written over a newer one took the newer one's rows and history with it.
      const doc = await client.query<{ head_rev: number; tombstone: unknown; incarnation: string }>('SELECT head_rev, tombstone, incarnation::text FROM patches_rx_docs WHERE doc_id = $1 FOR UPDATE', [docId]);
      // A process that missed a delete (or holds an old view, or an old incarnation) must not write over what is there.
      const known = this.incarnations.get(docId);
      if (doc.rowCount === 0 || doc.rows[0].tombstone !== null || doc.rows[0].head_rev < snapshot.rev || (typeof known === 'string' && doc.rows[0].incarnation !== known)) return;
      const current = await client.query<{ rev: number }>('SELECT rev FROM patches_rx_snapshots WHERE doc_id = $1 FOR UPDATE', [docId]);
      const previousRev = current.rowCount ? current.rows[0].rev : 0;
      if (current.rowCount && previousRev >= snapshot.rev) return;
      const body = snapshot.kind === 'lww' ? { kind: snapshot.kind, rev: snapshot.rev, changeIds: snapshot.changeIds } : snapshot;
      await client.query(
        `INSERT INTO patches_rx_snapshots (doc_id, rev, body) VALUES ($1, $2, $3::json)
         ON CONFLICT (doc_id) DO UPDATE SET rev = excluded.rev, body = excluded.body`,
        [docId, snapshot.rev, JSON.stringify(body)],
      );
      if (snapshot.kind !== 'lww') return;
      // Field rows: drop paths that are gone, write the rows changed since the previous snapshot.
      await client.query('DELETE FROM patches_rx_lww_fields WHERE doc_id = $1 AND NOT (path = ANY($2::text[]))', [docId, snapshot.rows.map((row) => row.path)]);
      const changed = snapshot.rows.filter((row) => (row.rev ?? 0) > previousRev);
      if (changed.length) {
        await client.query(
          `INSERT INTO patches_rx_lww_fields (doc_id, path, row) SELECT $1, path, row::json FROM unnest($2::text[], $3::text[]) AS t(path, row)
           ON CONFLICT (doc_id, path) DO UPDATE SET row = excluded.row`,
          [docId, changed.map((row) => row.path), changed.map((row) => JSON.stringify(row))],
        );
      }
      await client.query('DELETE FROM patches_rx_changes WHERE doc_id = $1 AND rev <= $2', [docId, snapshot.rev]);
    });
  }

  /** @inheritDoc */
  deleteDoc(docId: string, tombstone: DocumentTombstone): Promise<void> {
    return orUnavailable(this.doubtedOnFailure(docId, this.deleteDocNow(docId, tombstone)));
  }

  private async deleteDocNow(docId: string, tombstone: DocumentTombstone): Promise<void> {
    await this.transaction('BEGIN', async (client) => {
      await client.query(
        `INSERT INTO patches_rx_docs (doc_id, head_rev, tombstone) VALUES ($1, 0, $2::json)
         ON CONFLICT (doc_id) DO UPDATE SET tombstone = excluded.tombstone`,
        [docId, JSON.stringify(tombstone)],
      );
      for (const table of ['patches_rx_changes', 'patches_rx_snapshots', 'patches_rx_lww_fields']) {
        await client.query(`DELETE FROM ${table} WHERE doc_id = $1`, [docId]);
      }
      await this.notify(client, { t: 'd', d: docId });
    });
  }

  /** @inheritDoc */
  removeTombstone(docId: string): Promise<boolean> {
    return orUnavailable(this.doubtedOnFailure(docId, this.removeTombstoneNow(docId)));
  }

  private async removeTombstoneNow(docId: string): Promise<boolean> {
    const removed = await this.transaction('BEGIN', async (client) => {
      const { rowCount } = await client.query('DELETE FROM patches_rx_docs WHERE doc_id = $1 AND tombstone IS NOT NULL', [docId]);
      if (rowCount) await this.notify(client, { t: 'u', d: docId });
      return rowCount !== null && rowCount > 0;
    });
    // The life this process starts (no row until its first write) is no later one's `recreated`.
    if (removed && this.incarnations.has(docId)) this.incarnations.set(docId, unseenLife());
    return removed;
  }

  /** `write` to `docId`, the doc put in doubt (`inDoubt`) if it fails: its outcome is unknown. */
  private async doubtedOnFailure<R>(docId: string, write: Promise<R>): Promise<R> {
    try {
      return await write;
    } catch (error) {
      this.inDoubt.add(docId);
      throw error;
    }
  }

  /** @inheritDoc */
  unloadDoc(docId: string): void {
    this.incarnations.delete(docId);
    this.inDoubt.delete(docId);
  }

  /** @inheritDoc */
  lockDoc(docId: string): Promise<() => Promise<void>> {
    return orUnavailable(this.lockDocNow(docId));
  }

  private async lockDocNow(docId: string): Promise<() => Promise<void>> {
    await this.open();
    const client = await checkout(this.locks());
    try {
      await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [DOC_LOCKS, docId]);
    } catch (error) {
      client.release(true);
      throw error;
    }
    this.locked.add(docId);
    return async () => {
      this.locked.delete(docId);
      try {
        await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [DOC_LOCKS, docId]);
        client.release();
      } catch (error) {
        // Dropping the connection releases its locks too.
        client.release(true);
        throw error;
      }
    };
  }

  /** @inheritDoc */
  watch(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @inheritDoc */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.opened?.catch(() => undefined);
    await this.listener?.close();
    await Promise.all([this.pool?.end(), this.lockPool?.end()]);
  }

  private async start(): Promise<void> {
    // An optional peer dependency: only servers that use this store need it installed.
    const pg = await import('pg').then(
      (module) => module.default,
      (error: unknown) => {
        throw new PostgresStartupError('PostgresServerStore needs the `pg` package: npm install pg', { cause: error });
      },
    );
    const statementTimeout = this.options.statementTimeoutMs ?? 10_000;
    // Later than the statement timeout, so a slow statement is reported as PostgreSQL saw it.
    const queryTimeout = this.options.queryTimeoutMs ?? (statementTimeout > 0 ? statementTimeout + 5_000 : 0);
    const poolOptions = (max: number) => ({
      connectionString: this.connectionString,
      max,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 10_000,
      // A database host that vanished is noticed on idle connections too, not only by the next query.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      ...(statementTimeout > 0 ? { statement_timeout: statementTimeout } : {}),
      ...(queryTimeout > 0 ? { query_timeout: queryTimeout } : {}),
      // PostgreSQL notices a process that vanished without closing its sockets (a host crash, a
      // paused VM, a partition) in ~25 s instead of the kernel's 2 hours, so the commit lock and
      // the transaction its session held go with it. Awaited before the connection is handed out.
      onConnect: (client: ClientBase) => client.query(SERVER_KEEPALIVES).then(() => undefined, () => undefined),
    });
    const pool = new pg.Pool(poolOptions(this.options.poolSize ?? 10));
    const lockPool = new pg.Pool(poolOptions(this.options.lockPoolSize ?? this.options.poolSize ?? 10));
    // An idle connection that dies (database restart) must not crash the process; the pool replaces it.
    pool.on('error', () => undefined);
    lockPool.on('error', () => undefined);

    try {
      const client = await checkout(pool);
      try {
        await migrate(client);
        // The role must be able to write, not only to see the tables (a read-only role fails here).
        await client.query('BEGIN');
        await client.query('LOCK TABLE patches_rx_docs, patches_rx_changes IN ROW EXCLUSIVE MODE NOWAIT');
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      const listener = new PostgresListener({
        client: () => new pg.Client({ connectionString: this.connectionString, connectionTimeoutMillis: this.options.connectTimeoutMs ?? 10_000, keepAlive: true }),
        channel: this.channel,
        scheduler: this.options.scheduler ?? asyncScheduler,
        onPayload: (payload) => this.received(payload),
        onResync: () => this.emit({ type: 'resync' }),
      });
      await listener.start();
      this.listener = listener;
    } catch (error) {
      await Promise.all([pool.end().catch(() => undefined), lockPool.end().catch(() => undefined)]);
      throw startupError(error, this.connectionString);
    }
    this.pool = pool;
    this.lockPool = lockPool;
  }

  private db(): Pool {
    if (!this.pool) throw new StoreError('PostgresServerStore is not open');
    return this.pool;
  }

  private locks(): Pool {
    if (!this.lockPool) throw new StoreError('PostgresServerStore is not open');
    return this.lockPool;
  }

  private async transaction<R>(begin: string, work: (client: PoolClient) => Promise<R>): Promise<R> {
    await this.open();
    const client = await checkout(this.db());
    let broken = false;
    try {
      await client.query(begin);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // A connection that failed or cannot even roll back is dead: discard it instead of reusing
      // it (after a query timeout the query is still running on it, and a ROLLBACK would wait out
      // a timeout of its own).
      if (connectionFault(error)) broken = true;
      else
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  private async notify(client: PoolClient, payload: NotifyPayload): Promise<void> {
    await client.query('SELECT pg_notify($1, $2)', [this.channel, JSON.stringify({ ...payload, s: this.source })]);
  }

  private received(text: string): void {
    let payload: NotifyPayload & { s?: string };
    try {
      payload = JSON.parse(text) as NotifyPayload & { s?: string };
    } catch {
      return;
    }
    if (typeof payload.d !== 'string' || (payload.s === this.source && !this.inDoubt.has(payload.d))) return;
    if (payload.t === 'c' && typeof payload.f === 'number' && typeof payload.l === 'number') {
      const carried = carriedEntry(payload);
      this.emit({ type: 'commit', docId: payload.d, firstRev: payload.f, lastRev: payload.l, ...(carried && { carried: this.handOut(payload.d, carried) }) });
    } else if (payload.t === 'd') {
      this.emit({ type: 'delete', docId: payload.d });
    } else if (payload.t === 'u') {
      this.emit({ type: 'undelete', docId: payload.d });
    }
  }

  /**
   * The entry a report carried, for the process to apply instead of reading the log: only while
   * it is the next one and of the incarnation this process holds now (read when it is used, not
   * when it came: a reload meanwhile may have found the document deleted and written again).
   */
  private handOut(docId: string, carried: { entry: LogEntry; incarnation: string }): CarriedEntry {
    return (headRev) => (entryFirstRev(carried.entry) === headRev + 1 && this.incarnations.get(docId) === carried.incarnation ? carried.entry : undefined);
  }

  private emit(event: StoreEvent): void {
    if (this.closed) return;
    for (const listener of this.listeners) listener(event);
  }
}

/**
 * The NOTIFY payload (under 8,000 bytes): type (commit, delete, undelete), doc id; a commit's
 * first and last rev, the incarnation it was written to and its entry when small enough (null
 * otherwise; both absent from processes of versions before they were sent).
 */
type NotifyPayload = { t: 'c'; d: string; f: number; l: number; i?: string; e?: unknown } | { t: 'd' | 'u'; d: string };

/**
 * A life of a document this process holds without having seen its row yet (loaded before it had
 * one, or undeleted here). Each is an object of its own, so a read can tell whether the life it
 * began in is still the one held when its answer comes.
 */
interface UnseenLife {
  readonly unseen: true;
}

const unseenLife = (): UnseenLife => ({ unseen: true });

/** The incarnation an append checks: a seen life's, or none (null: the doc's row is made, or taken as it is). */
function knownIncarnation(known: string | UnseenLife | undefined): string | null {
  return typeof known === 'string' ? known : null;
}

/** A commit report's entry and incarnation, when it carried them and the entry holds the reported revs. */
function carriedEntry(payload: Extract<NotifyPayload, { t: 'c' }>): { entry: LogEntry; incarnation: string } | undefined {
  const entry = payload.e as LogEntry | null | undefined;
  if (typeof payload.i !== 'string' || !entry || typeof entry !== 'object') return undefined;
  const holdsRevs =
    entry.kind === 'ot'
      ? Array.isArray(entry.changes) && entry.changes.length > 0 && entry.changes[0]?.rev === payload.f && entry.changes[entry.changes.length - 1]?.rev === payload.l
      : entry.kind === 'lww' && entry.rev === payload.f && entry.rev === payload.l;
  return holdsRevs ? { entry, incarnation: payload.i } : undefined;
}

/** The rows an entry is stored as: one per OT change, one per LWW commit. */
function entryRows(entry: LogEntry): Array<{ rev: number; changeId: string | null; body: string }> {
  if (entry.kind === 'lww') return [{ rev: entry.rev, changeId: null, body: JSON.stringify(entry) }];
  return entry.changes.map((change) => ({ rev: change.rev, changeId: change.id, body: JSON.stringify(change) }));
}

/** Every entry holding a rev after `afterRev`, regrouped into the commits they were appended as. */
async function readEntries(db: Pool | PoolClient, docId: string, afterRev: number): Promise<{ entries: LogEntry[]; incarnation?: string }> {
  // Start at the commit holding rev afterRev + 1, which may begin before it.
  const { rows } = await db.query<ChangeRow & { incarnation: string }>(
    `SELECT rev, entry_rev, kind, body, (SELECT incarnation::text FROM patches_rx_docs WHERE doc_id = $1) AS incarnation FROM patches_rx_changes
     WHERE doc_id = $1 AND rev >= coalesce((SELECT entry_rev FROM patches_rx_changes WHERE doc_id = $1 AND rev = $2 + 1), $2 + 1)
     ORDER BY rev`,
    [docId, afterRev],
  );
  const entries: LogEntry[] = [];
  let open: { entryRev: number; changes: Change[] } | undefined;
  for (const row of rows) {
    if (row.kind === 'lww') {
      open = undefined;
      entries.push(row.body as LWWLogEntry);
      continue;
    }
    if (!open || open.entryRev !== row.entry_rev) {
      open = { entryRev: row.entry_rev, changes: [] };
      entries.push({ kind: 'ot', changes: open.changes });
    }
    open.changes.push(row.body as Change);
  }
  return { entries, incarnation: rows[0]?.incarnation };
}

/** The session's TCP keepalives on the database's side: first probe after 10 s idle, then every 5 s, dead after 3 unanswered. */
const SERVER_KEEPALIVES = 'SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3';

/**
 * A client out of `pool`, heard while it is out: pg-pool listens for the 'error' of idle clients
 * only, so a connection cut while one is checked out (a database restart, a failover, an
 * administrator's `pg_terminate_backend`) emitted an 'error' nobody heard, and the process ended.
 * The cut is then seen where the client is used: its next query fails.
 */
async function checkout(pool: Pool): Promise<PoolClient> {
  const client = await pool.connect();
  client.on('error', heardCut);
  const release = client.release;
  client.release = (destroy?: boolean | Error) => {
    client.off('error', heardCut);
    release.call(client, destroy);
  };
  return client;
}

function heardCut(): void {
  // Nothing to do here: the next query on the client fails with the cut.
}
