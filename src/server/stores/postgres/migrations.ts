import type { PoolClient, QueryConfig } from 'pg';

/** One schema step: applied once, in order, recorded in `patches_rx_migrations`. */
export interface Migration {
  /** Strictly increasing from 1. */
  version: number;
  /** What it does, for the record. */
  name: string;
  /** The DDL, run in one transaction with the bookkeeping row. */
  sql: string;
}

/**
 * The schema of {@link PostgresServerStore}. Append only: a released migration is never edited;
 * a change of schema is a new entry.
 *
 * - `patches_rx_docs`: one row per document, the commit order's lock. `head_rev` is compared and
 *   set in every commit, so a process whose view is stale fails instead of forking the log (this
 *   also guards LWW revs whose rows were folded into a snapshot). `tombstone` marks a deleted doc.
 * - `patches_rx_changes`: the log, one row per rev. `(doc_id, rev)` is the commit order,
 *   `(doc_id, change_id)` makes an OT change id committable once per document. `entry_rev` is
 *   the first rev of the commit the row belongs to (regroups a multi-change OT commit).
 *   Bodies are `json`, not `jsonb`: kept byte for byte (key order, `\u0000`), never queried into.
 * - `patches_rx_snapshots`: the latest snapshot per document (OT state; LWW rev + change ids).
 * - `patches_rx_lww_fields`: an LWW document's rows at its snapshot, one per JSON pointer.
 * - `patches_rx_docs.incarnation` (version 2): drawn anew for every documents row, so a document
 *   deleted, undeleted (its row removed) and written again is told from its old self by a process
 *   that missed the notifications: its commits and snapshots of the old one are refused.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'documents, log, snapshots, LWW fields',
    sql: `
      CREATE TABLE patches_rx_docs (
        doc_id text PRIMARY KEY,
        head_rev integer NOT NULL,
        tombstone json
      );
      CREATE TABLE patches_rx_changes (
        doc_id text NOT NULL,
        rev integer NOT NULL,
        entry_rev integer NOT NULL,
        kind text NOT NULL CHECK (kind IN ('ot', 'lww')),
        change_id text,
        body json NOT NULL,
        PRIMARY KEY (doc_id, rev),
        UNIQUE (doc_id, change_id)
      );
      CREATE TABLE patches_rx_snapshots (
        doc_id text PRIMARY KEY,
        rev integer NOT NULL,
        body json NOT NULL
      );
      CREATE TABLE patches_rx_lww_fields (
        doc_id text NOT NULL,
        path text NOT NULL,
        row json NOT NULL,
        PRIMARY KEY (doc_id, path)
      );`,
  },
  {
    version: 2,
    name: 'document incarnations',
    sql: `
      CREATE SEQUENCE patches_rx_incarnations;
      ALTER TABLE patches_rx_docs ADD COLUMN incarnation bigint NOT NULL DEFAULT nextval('patches_rx_incarnations');`,
  },
];

/** Key of the session advisory lock that serialises migrations across processes ('prx' + 1). */
const MIGRATION_LOCK = 0x70727801;

/**
 * The client-side limit of a migration's queries: the longest a Node timer takes (~24.8 days), so
 * none in practice. The pool's `query_timeout` (its per-query `0` means the pool's value) would cut
 * a step that rewrites a large table, or the wait for another process doing so.
 */
const UNBOUNDED_MS = 2 ** 31 - 1;

/** A query without the client-side limit (`query_timeout`, which pg reads per query too; its typings leave it out). */
function unbounded(text: string, values?: unknown[]): QueryConfig {
  const query: QueryConfig & { query_timeout: number } = { text, ...(values && { values }), query_timeout: UNBOUNDED_MS };
  return query;
}

/**
 * Brings the schema up to date. Several processes starting at once each take the same advisory
 * lock, so exactly one applies a missing step and the others then find it applied.
 *
 * @param client a connection of the pool (released by the caller)
 * @param migrations the steps (default: {@link MIGRATIONS})
 * @return the versions this call applied
 */
export async function migrate(client: PoolClient, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  // A step may rewrite a large table (version 2 does: a volatile default), and another process may
  // hold the lock while it does: bounded by the pool's statement timeout (10 s by default), such a
  // step was cancelled at every start, and the server never started again (found in review).
  await client.query('SET statement_timeout = 0');
  let done: number[];
  try {
    done = await migrateUnbounded(client, migrations);
  } catch (error) {
    await client.query('RESET statement_timeout').catch(() => undefined);
    throw error;
  }
  // Back to the session's default (the pool's setting) before the connection goes back to it.
  await client.query('RESET statement_timeout');
  return done;
}

async function migrateUnbounded(client: PoolClient, migrations: readonly Migration[]): Promise<number[]> {
  await client.query(unbounded('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]));
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS patches_rx_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM patches_rx_migrations');
    const applied = new Set(rows.map((row) => row.version));
    const done: number[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(unbounded(migration.sql));
        await client.query('INSERT INTO patches_rx_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
      done.push(migration.version);
    }
    return done;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
  }
}
