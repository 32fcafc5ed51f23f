// One process per data directory: two FileServerStores on one directory each number a doc's
// changes from their own head and append to the same segments (revs 1,1,2,2… seen in review),
// and the doc never loads again. The lock is a file made atomically (a temporary file
// hard-linked into place) holding its owner's pid.
import { randomBytes } from 'node:crypto';
import { link, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ignoreMissing, unlinkQuiet } from './fileOps.js';

/** The lock file, in the data directory beside the journal. */
export const LOCK_FILE = 'patches-rx.lock';

/** What a lock file holds: who owns it, and a token telling this owner's file from a later one's. */
interface LockOwner {
  pid: number;
  host: string;
  token: string;
}

/** A held lock: `release` removes the file if it is still this holder's. */
export interface DirectoryLock {
  /** The lock file's path. */
  readonly path: string;
  /** Whether it was taken over from a process that died holding it (a crash). */
  readonly tookOver: boolean;
  /** Removes the lock file (only if it is still ours); safe to call twice. */
  release(): Promise<void>;
}

/**
 * Tokens of the locks this process is taking or holds (a takeover guard carries its taker's): a
 * file naming our pid with a token not listed here is a previous life's (a container restarted).
 * Listed before any file is made: another store of this process racing for the same directory
 * never takes a file a sibling has just made, or is still making, for a dead one.
 */
const tokensHere = new Set<string>();

/**
 * Takes the exclusive lock on `dir` (which must exist), or throws naming the process that holds it.
 *
 * A lock whose owner is gone is taken over: one written on this host by a pid that is no longer
 * alive (a process killed with SIGKILL, a crash), or by our own pid in a file this process does not
 * hold (a container restarted, its pids counted afresh). Taking over is itself guarded by an
 * O_EXCL file, so two processes starting at once after a crash cannot both take one stale lock.
 *
 * What it cannot guarantee: on a network file system (NFS, SMB, a volume shared between
 * hosts) O_EXCL may not be atomic across clients, and a lock written by another host is never
 * judged stale (its pid means nothing here): such a lock must be removed by hand once that host's
 * process is known to be gone. A pid reused by an unrelated process keeps a stale lock looking
 * held; the error names the file to remove.
 *
 * @param dir the data directory
 * @return the held lock
 * @throws Error `in use by process <pid> on <host> (lock file <path>…)` when another live process holds it
 */
export async function lockDirectory(dir: string): Promise<DirectoryLock> {
  const path = join(dir, LOCK_FILE);
  const owner: LockOwner = { pid: process.pid, host: hostname(), token: randomBytes(8).toString('hex') };
  let tookOver = false;
  tokensHere.add(owner.token);
  try {
    if (!(await createExclusive(path, owner))) {
      const held = await readOwner(path);
      // Gone since (its holder released it): just try once more.
      if (held === 'gone') {
        if (!(await createExclusive(path, owner))) throw inUse(path, await readOwner(path));
      } else {
        if (held === undefined || !isStale(held)) throw inUse(path, held);
        await takeOver(path, owner);
        tookOver = true;
      }
    }
  } catch (error) {
    tokensHere.delete(owner.token);
    throw error;
  }
  let released = false;
  return {
    path,
    tookOver,
    async release() {
      if (released) return;
      released = true;
      // Only our own file: one a later process took over (after we were judged gone) is theirs.
      const now = await readOwner(path);
      if (typeof now === 'object' && now.token === owner.token) await unlinkQuiet(path);
      tokensHere.delete(owner.token);
    },
  };
}

/** Replaces a stale lock with ours, under a second O_EXCL file so only one process takes it over. */
async function takeOver(path: string, owner: LockOwner): Promise<void> {
  const guard = `${path}.takeover`;
  if (!(await createExclusive(guard, owner))) {
    const other = await readOwner(guard);
    // A process that died in the middle of a takeover (a window of microseconds) left its guard.
    if (typeof other === 'object' && !isStale(other)) throw new Error(`another process (${other.pid}) is taking over the stale lock file ${path}: start again`);
    await unlinkQuiet(guard);
    if (!(await createExclusive(guard, owner))) throw new Error(`another process is taking over the stale lock file ${path}: start again`);
  }
  try {
    // Judged again under the guard, whatever its token: the lock may have changed hands since it
    // was read, or be one another store of this process has just taken over.
    const now = await readOwner(path);
    if (now === undefined || (typeof now === 'object' && !isStale(now))) throw inUse(path, now);
    await unlinkQuiet(path);
    if (!(await createExclusive(path, owner))) throw inUse(path, await readOwner(path));
  } finally {
    await unlinkQuiet(guard);
  }
}

/** Whether `owner`'s process is known to be gone: on this host, and not alive (or our own pid with a token this process is not using). */
function isStale(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return false;
  if (owner.pid === process.pid) return !tokensHere.has(owner.token);
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    // EPERM: alive, another user's.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Creates `path` holding `owner`; false if it exists. Written to a file of our own first and
 * hard-linked into place (a link, like O_EXCL, fails if the name exists): nobody ever reads a lock
 * file that is created but not yet filled, and takes it for a dead one.
 */
async function createExclusive(path: string, owner: LockOwner): Promise<boolean> {
  const temp = `${path}.${owner.token}`;
  await writeFile(temp, JSON.stringify(owner) + '\n', { flag: 'wx' });
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlinkQuiet(temp);
  }
}

/** The owner a lock file names; `'gone'` when there is no file, `undefined` when it names no owner (damaged by hand). */
async function readOwner(path: string): Promise<LockOwner | 'gone' | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    ignoreMissing(error);
    return 'gone';
  }
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    if (typeof owner.pid === 'number' && typeof owner.host === 'string' && typeof owner.token === 'string') return owner as LockOwner;
  } catch {
    // Not JSON: named as "another process" below.
  }
  return undefined;
}

/** The error naming who holds the lock, for the one line a refused start prints. */
function inUse(path: string, owner: LockOwner | 'gone' | undefined): Error {
  const who = typeof owner === 'object' ? `process ${owner.pid} on ${owner.host}` : 'another process';
  return new Error(`in use by ${who} (lock file ${path}; one server process per data directory: remove the file only if that process is gone)`);
}
