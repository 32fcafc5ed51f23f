import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCK_FILE, lockDirectory } from '../../../src/server/stores/directoryLock.js';

/** When set, `unlink` of a path it answers true for waits for the promise it returns first. */
let holdUnlink: ((path: string) => Promise<void> | undefined) | undefined;
jest.mock('node:fs/promises', () => {
  const actual = jest.requireActual<typeof import('node:fs/promises')>('node:fs/promises');
  return {
    ...actual,
    unlink: async (path: string) => {
      await holdUnlink?.(path);
      return actual.unlink(path);
    },
  };
});

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'patches-rx-lock-race-'));
});
afterEach(async () => {
  holdUnlink = undefined;
  await rm(directory, { recursive: true, force: true });
});

describe('directoryLock: two stores of one process racing for a stale lock', () => {
  // Found with a fresh-seed run under load (directoryLock.spec.ts, four stores racing: 2 let in,
  // ~1 round in 100): a lock or takeover guard naming this process's pid was judged a previous
  // life's until its taker had finished, so a sibling still taking over was taken over in turn.
  it('should not take over the lock a sibling has just made while it still releases its takeover guard', async () => {
    const path = join(directory, LOCK_FILE);
    await writeFile(path, JSON.stringify({ pid: 2 ** 22 + 1, host: hostname(), token: 'dead' }));
    let reached!: () => void;
    const atGuard = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    // The first taker's guard stays while the second one tries: its lock is made, its guard not yet gone.
    holdUnlink = (unlinked) => {
      if (!unlinked.endsWith('.takeover')) return undefined;
      holdUnlink = undefined;
      reached();
      return released;
    };
    const first = lockDirectory(directory);
    await atGuard;
    const second = await lockDirectory(directory).then(
      (lock) => lock,
      (error: unknown) => error as Error,
    );
    release();
    const firstLock = await first;
    expect(second).toBeInstanceOf(Error);
    expect((second as Error).message).toMatch(/in use by|taking over/);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid });
    await firstLock.release();
  });
});
