import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreError } from '../../../src/errors.js';
import { FileServerStore } from '../../../src/server/stores/FileServerStore.js';
import { LOCK_FILE } from '../../../src/server/stores/directoryLock.js';
import { otEntry } from '../../helpers/serverStoreContract.js';
import { startServerProcess } from '../../helpers/serverProcess.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'patches-rx-lock-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** The pid a lock file in `directory` names, or undefined without one. */
async function lockPid(directory: string): Promise<number | undefined> {
  const text = await readFile(join(directory, LOCK_FILE), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as { pid: number }).pid;
}

describe('directoryLock', () => {
  // Found in review: two processes on one data directory each numbered a doc's changes from
  // their own head into one log (revs 1,1,2,2…), and the doc never loaded again.
  it('should refuse a second store on a directory another one holds, until that one closes', async () => {
    const directory = await tempDir();
    const first = new FileServerStore({ directory });
    await first.open();
    expect(await lockPid(directory)).toBe(process.pid);
    const second = new FileServerStore({ directory });
    await expect(second.open()).rejects.toThrow(StoreError);
    await expect(second.open()).rejects.toThrow(`data directory ${directory}: in use by process ${process.pid} on ${hostname()}`);
    await second.close();
    // The refused store's close left the holder's lock in place.
    expect(await lockPid(directory)).toBe(process.pid);
    await first.append('a', otEntry(1));
    await first.close();
    expect(await lockPid(directory)).toBeUndefined();
    const third = new FileServerStore({ directory });
    await third.open();
    expect((await third.loadDoc('a')).tail).toHaveLength(1);
    await third.close();
  });

  it('should take the lock on the first call of a store never opened', async () => {
    const directory = await tempDir();
    const first = new FileServerStore({ directory });
    await first.append('a', otEntry(1));
    await expect(new FileServerStore({ directory }).loadDoc('a')).rejects.toThrow(`in use by process ${process.pid}`);
    await first.close();
  });

  it('should refuse a process of the CLI on a directory another process holds, with one line', async () => {
    const directory = await tempDir();
    const holder = await startServerProcess(['--data', directory]);
    try {
      expect(await lockPid(directory)).toBe(holder.pid);
      const store = new FileServerStore({ directory });
      await expect(store.open()).rejects.toThrow(`in use by process ${holder.pid} on ${hostname()}`);
      await store.close();
      const second = startServerProcess(['--data', directory]);
      await expect(second).rejects.toThrow(/exited \(1\) before listening: patches-rx-server: cannot start: data directory \S+: in use by process \d+ on [^\n]+$/);
    } finally {
      await holder.stop('SIGTERM');
    }
    expect(await lockPid(directory)).toBeUndefined();
  });

  it('should take over the lock of a process killed with SIGKILL', async () => {
    const directory = await tempDir();
    const crashed = await startServerProcess(['--data', directory]);
    await crashed.stop('SIGKILL');
    expect(await lockPid(directory)).toBe(crashed.pid);
    const next = await startServerProcess(['--data', directory]);
    try {
      expect(await lockPid(directory)).toBe(next.pid);
    } finally {
      await next.stop('SIGTERM');
    }
  });

  it('should take over a lock naming our own pid that this process does not hold (a container restarted)', async () => {
    const directory = await tempDir();
    await writeFile(join(directory, LOCK_FILE), JSON.stringify({ pid: process.pid, host: hostname(), token: 'previous-life' }));
    const store = new FileServerStore({ directory });
    await store.open();
    expect(await lockPid(directory)).toBe(process.pid);
    await store.close();
  });

  it('should never judge a lock written on another host stale', async () => {
    const directory = await tempDir();
    await writeFile(join(directory, LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 1, host: 'elsewhere.invalid', token: 'x' }));
    const store = new FileServerStore({ directory });
    await expect(store.open()).rejects.toThrow(`in use by process ${2 ** 22 + 1} on elsewhere.invalid`);
    await store.close();
    expect(await lockPid(directory)).toBe(2 ** 22 + 1);
  });

  it('should refuse two stale takeovers racing, letting exactly one in', async () => {
    const directory = await tempDir();
    await writeFile(join(directory, LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 1, host: hostname(), token: 'dead' }));
    const stores = Array.from({ length: 4 }, () => new FileServerStore({ directory }));
    const results = await Promise.allSettled(stores.map((store) => store.open()));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const store of stores) await store.close();
  });
});
