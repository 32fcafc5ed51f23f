import { execFile } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { PostgresServerStore } from '../../src/server/stores/postgres/PostgresServerStore.js';
import type { Change } from '../../src/types.js';

const { Client } = pg;

const run = promisify(execFile);

/**
 * Where the PostgreSQL server binaries are: `PG_BIN`, else the newest Debian
 * `/usr/lib/postgresql/<version>/bin` (the `postgresql` package; `.ci/run` installs it).
 */
export function findPostgresBin(): string | undefined {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv) return existsSync(join(fromEnv, 'initdb')) ? fromEnv : undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  return readdirSync(root)
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => join(root, version, 'bin'))
    .find((bin) => existsSync(join(bin, 'initdb')));
}

/**
 * `describe`, or `describe.skip` with a message when PostgreSQL is missing outside CI. In CI
 * (`process.env.CI` set) the specs always run, so missing binaries fail them instead of hiding them.
 */
export function describeWithPostgres(): jest.Describe {
  if (findPostgresBin() || process.env.CI) return describe;
  console.warn(
    'Skipping the PostgreSQL specs: no initdb under /usr/lib/postgresql/*/bin (or PG_BIN). ' +
      'Install it with `apt-get install -y --no-install-recommends postgresql` (CI does; there they never skip).',
  );
  return describe.skip;
}

/** A throwaway PostgreSQL cluster on 127.0.0.1. */
export interface TestPostgres {
  /** Connection string of its `postgres` database as the superuser `postgres` (trust auth, loopback only). */
  url: string;
  /** A connection string for another database of the cluster. */
  urlFor(database: string): string;
  /** Creates a fresh empty database and returns its connection string. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server at once (no checkpoint) and deletes its data directory. */
  stop(): Promise<void>;
}

/**
 * A throwaway cluster for the enclosing `describe`: started before its first case, stopped after
 * its last. Returns a getter (the cluster exists only once `beforeAll` has run).
 */
export function usePostgresCluster(): () => TestPostgres {
  let cluster: TestPostgres | undefined;
  beforeAll(async () => {
    cluster = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  return () => {
    if (!cluster) throw new Error('the PostgreSQL cluster has not started');
    return cluster;
  };
}

/**
 * Starts a private cluster: its own temp data directory, its own free port, listening on
 * 127.0.0.1 only, durability switched off (throwaway data, faster specs). `initdb` refuses to
 * run as root, so as root every binary runs as the `postgres` user (`runuser`).
 *
 * @throws Error when the binaries are missing or the server does not come up
 */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = findPostgresBin();
  if (!bin) throw new Error('PostgreSQL binaries not found (install Debian\'s `postgresql`, or set PG_BIN)');
  const asRoot = process.getuid?.() === 0;
  const dir = await mkdtemp(join(tmpdir(), 'patches-rx-pg-'));
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const pg = (tool: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]) : run(join(bin, tool), args);
  const data = join(dir, 'data');
  const port = await freePort();
  try {
    await pg('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
    const serverOptions = [
      `-p ${port}`,
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=200',
    ].join(' ');
    await pg('pg_ctl', ['-D', data, '-o', serverOptions, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const urlFor = (database: string): string => `postgres://postgres@127.0.0.1:${port}/${database}`;
  let stopped: Promise<void> | undefined;
  return {
    url: urlFor('postgres'),
    urlFor,
    async createDatabase(name) {
      // SQL rather than the createdb tool: no process to spawn per database.
      const admin = new Client({ connectionString: urlFor('postgres') });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}" TEMPLATE template0`);
      } finally {
        await admin.end();
      }
      return urlFor(name);
    },
    stop: () =>
      (stopped ??= (async () => {
        await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Every committed OT change of a doc, read straight from the database through a fresh store. */
export async function storedOtHistory(url: string, docId: string): Promise<Change[]> {
  const store = new PostgresServerStore({ connectionString: url, poolSize: 1 });
  try {
    return (await store.readLog(docId, 0)).flatMap((entry) => (entry.kind === 'ot' ? entry.changes : []));
  } finally {
    await store.close();
  }
}
