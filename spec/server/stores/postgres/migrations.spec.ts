import pg from 'pg';
import { MIGRATIONS, migrate, type Migration } from '../../../../src/server/stores/postgres/migrations.js';
import { describeWithPostgres, usePostgresCluster } from '../../../helpers/postgres.js';

/**
 * The advisory lock every process of every release takes around its migrations. A constant of
 * the schema's contract, not a detail: two releases with different keys would migrate at once.
 */
const MIGRATION_LOCK = 0x70727801;

describe('MIGRATIONS', () => {
  it('should number its steps 1, 2, 3… in order, with no gap and no repeat', () => {
    expect(MIGRATIONS.map((migration) => migration.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
  });

  it('should name every step, each differently, and give each some SQL', () => {
    for (const migration of MIGRATIONS) {
      expect(migration.name.trim()).not.toBe('');
      expect(migration.sql.trim()).not.toBe('');
    }
    expect(new Set(MIGRATIONS.map((migration) => migration.name)).size).toBe(MIGRATIONS.length);
  });
});

describeWithPostgres()('migrate on a throwaway cluster', () => {
  const pools: pg.Pool[] = [];
  let databases = 0;
  // Declared before the cluster's own afterAll, so the pools end before the cluster stops.
  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
  });
  const cluster = usePostgresCluster();

  /** A pool on a fresh empty database. */
  async function freshPool(): Promise<pg.Pool> {
    const pool = new pg.Pool({ connectionString: await cluster().createDatabase(`migrations_${++databases}`), max: 4 });
    pools.push(pool);
    return pool;
  }

  /** Runs `work` with one connection of `pool`, released after. */
  async function withClient<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      return await work(client);
    } finally {
      client.release();
    }
  }

  /**
   * Whether a new session (not one of a pool's, which may be the very session that migrated: an
   * advisory lock is re-entrant there) can take the migration lock of the latest database now.
   */
  async function lockIsFree(): Promise<boolean> {
    const other = new pg.Client(cluster().urlFor(`migrations_${databases}`));
    await other.connect();
    try {
      const got: boolean = (await other.query('SELECT pg_try_advisory_lock($1) AS got', [MIGRATION_LOCK])).rows[0].got;
      if (got) await other.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      return got;
    } finally {
      await other.end();
    }
  }

  const recorded = (pool: pg.Pool) => pool.query('SELECT version, name FROM patches_rx_migrations ORDER BY version').then((result) => result.rows);
  const tableExists = (pool: pg.Pool, table: string) => pool.query('SELECT to_regclass($1) AS t', [table]).then((result) => result.rows[0].t !== null);

  it('should apply every step to an empty database, in order, and record each with its name', async () => {
    const pool = await freshPool();
    expect(await withClient(pool, (client) => migrate(client))).toEqual(MIGRATIONS.map((migration) => migration.version));
    expect(await recorded(pool)).toEqual(MIGRATIONS.map(({ version, name }) => ({ version, name })));
    for (const table of ['patches_rx_docs', 'patches_rx_changes', 'patches_rx_snapshots', 'patches_rx_lww_fields']) {
      expect(await tableExists(pool, table)).toBe(true);
    }
  });

  it('should apply nothing the second time, and leave the record as it was', async () => {
    const pool = await freshPool();
    await withClient(pool, (client) => migrate(client));
    const before = (await pool.query('SELECT version, applied_at FROM patches_rx_migrations ORDER BY version')).rows;
    expect(await withClient(pool, (client) => migrate(client))).toEqual([]);
    expect((await pool.query('SELECT version, applied_at FROM patches_rx_migrations ORDER BY version')).rows).toEqual(before);
  });

  it('should create the record table even with no steps to run', async () => {
    const pool = await freshPool();
    expect(await withClient(pool, (client) => migrate(client, []))).toEqual([]);
    expect(await recorded(pool)).toEqual([]);
  });

  it('should apply only the missing steps to a database at an older version, and give existing documents distinct incarnations', async () => {
    const pool = await freshPool();
    expect(await withClient(pool, (client) => migrate(client, MIGRATIONS.slice(0, 1)))).toEqual([1]);
    await pool.query("INSERT INTO patches_rx_docs (doc_id, head_rev) VALUES ('a', 3), ('b', 1)");
    expect(await withClient(pool, (client) => migrate(client))).toEqual([2]);
    await pool.query("INSERT INTO patches_rx_docs (doc_id, head_rev) VALUES ('c', 0)");
    const { rows } = await pool.query<{ doc_id: string; head_rev: number; incarnation: string | null }>('SELECT doc_id, head_rev, incarnation FROM patches_rx_docs ORDER BY doc_id');
    expect(rows.map((row) => [row.doc_id, row.head_rev])).toEqual([['a', 3], ['b', 1], ['c', 0]]);
    expect(rows.every((row) => row.incarnation !== null)).toBe(true);
    expect(new Set(rows.map((row) => row.incarnation)).size).toBe(3);
  });

  it('should give the schema the constraints the store relies on', async () => {
    const pool = await freshPool();
    await withClient(pool, (client) => migrate(client));
    const change = (doc: string, rev: number, kind: string, changeId: string | null) =>
      pool.query('INSERT INTO patches_rx_changes (doc_id, rev, entry_rev, kind, change_id, body) VALUES ($1, $2, $2, $3, $4, $5)', [doc, rev, kind, changeId, '{}']);
    await change('d', 1, 'ot', 'c1');
    // One row per rev of a document (the commit order).
    await expect(change('d', 1, 'ot', 'c2')).rejects.toMatchObject({ code: '23505' });
    // An OT change id once per document; LWW rows carry none, any number of them.
    await expect(change('d', 2, 'ot', 'c1')).rejects.toMatchObject({ code: '23505' });
    await change('e', 1, 'ot', 'c1');
    await change('d', 2, 'lww', null);
    await change('d', 3, 'lww', null);
    // Only the two kinds.
    await expect(change('d', 4, 'crdt', null)).rejects.toMatchObject({ code: '23514' });
    // Bodies are json, kept byte for byte (key order, spacing), not jsonb.
    await pool.query("INSERT INTO patches_rx_snapshots (doc_id, rev, body) VALUES ('d', 3, $1)", ['{"b": 1, "a": 2}']);
    expect((await pool.query("SELECT body::text AS text FROM patches_rx_snapshots WHERE doc_id = 'd'")).rows[0].text).toBe('{"b": 1, "a": 2}');
  });

  it('should roll a failing step back whole, record nothing of it, keep the steps before it, and release the lock', async () => {
    const pool = await freshPool();
    const good: Migration = { version: 1, name: 'a table', sql: 'CREATE TABLE spec_a (x int);' };
    const bad: Migration = { version: 2, name: 'half a step', sql: 'CREATE TABLE spec_b (x int); SELECT no_such_function();' };
    await withClient(pool, async (client) => {
      await expect(migrate(client, [good, bad])).rejects.toMatchObject({ code: '42883' });
      // The connection is left usable: no transaction left open or aborted.
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });
    expect(await recorded(pool)).toEqual([{ version: 1, name: 'a table' }]);
    expect(await tableExists(pool, 'spec_a')).toBe(true);
    expect(await tableExists(pool, 'spec_b')).toBe(false);
    // Another session can take the lock at once: the failed call let go of it.
    expect(await lockIsFree()).toBe(true);
    // Fixed, the step applies on the next start.
    const fixed: Migration = { ...bad, sql: 'CREATE TABLE spec_b (x int);' };
    expect(await withClient(pool, (client) => migrate(client, [good, fixed]))).toEqual([2]);
    expect(await tableExists(pool, 'spec_b')).toBe(true);
  });

  it('should release the lock after a successful run', async () => {
    const pool = await freshPool();
    await withClient(pool, async (client) => {
      await migrate(client);
      // Held by the session that migrated, the lock would be taken for every other one.
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      expect(await lockIsFree()).toBe(false);
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    });
    expect(await lockIsFree()).toBe(true);
  });

  it("should let a step, and another process's wait for the lock, take longer than the sessions' statement and query timeouts, and give them their timeout back", async () => {
    // The store's pool bounds every query (statement_timeout, and pg's client-side query_timeout):
    // a step that rewrites a large table, or the wait while another process runs one, outlasted them
    // at every start, so the server never started again.
    const url = await cluster().createDatabase(`migrations_${++databases}`);
    const bounded = [1, 2].map(() => new pg.Pool({ connectionString: url, max: 1, statement_timeout: 200, query_timeout: 400 }));
    pools.push(...bounded);
    const slow: Migration = { version: 1, name: 'a step slower than the timeouts', sql: 'SELECT pg_sleep(0.6)' };
    const results = await Promise.all(bounded.map((pool) => withClient(pool, (client) => migrate(client, [slow]))));
    expect(results.map((done) => done.length).sort()).toEqual([0, 1]);
    for (const pool of bounded) expect((await withClient(pool, (client) => client.query('SHOW statement_timeout'))).rows[0].statement_timeout).toBe('200ms');
    await expect(bounded[0].query('SELECT pg_sleep(0.6)')).rejects.toThrow(/statement timeout/);
  });

  it('should let exactly one of several processes starting at once apply each step, the others finding it applied', async () => {
    const pool = await freshPool();
    const others = [1, 2].map(() => new pg.Pool({ connectionString: cluster().urlFor(`migrations_${databases}`), max: 1 }));
    pools.push(...others);
    const results = await Promise.all([pool, ...others].map((p) => withClient(p, (client) => migrate(client))));
    const all = MIGRATIONS.map((migration) => migration.version);
    expect(results.map((done) => done.length).sort()).toEqual([0, 0, all.length]);
    expect(results.find((done) => done.length > 0)).toEqual(all);
    expect((await recorded(pool)).map((row) => row.version)).toEqual(all);
  });
});
