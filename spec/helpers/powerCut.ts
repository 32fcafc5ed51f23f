// A model of a power cut for FileServerStore's data directory: a log segment or a journal file
// keeps what a sync covered and loses the rest. A sync covers the file as it was when the sync
// began; a cut (`ftruncate`: a journal emptied, a record or line taken back) lowers what a later
// power cut keeps to the cut, until a sync covers more. The files renamed into place after a sync
// (snapshots, tombstones) are kept as they are; directory entries are not modelled. A sync that
// failed leaves its file as Linux does after a writeback error ("fsyncgate"): the pages it did not
// write are marked clean, so a later sync of the same file reports success and writes none of it
// (modelled as covering nothing more, for good: that file's bytes after its last good sync are
// lost to the power cut). A new file (a rewrite renamed over it) starts afresh.
import fs, { fstatSync, readdirSync, readlinkSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { spyOnSyncs } from './syncSpy.js';

/** A file's name across renames and processes: its inode and birth time. */
export function fileKey(stats: { ino: number; birthtimeMs: number }): string {
  return `${stats.ino}:${stats.birthtimeMs}`;
}

/** Whether the model cuts the file at `path`: a doc's log segment, or either journal file. */
export function isModelled(path: string): boolean {
  return path.includes('/log-') || /\/journal(-checkpoint)?\.jsonl(\.tmp-[0-9a-f]+)?$/.test(path);
}

/** What a power cut keeps of each file, by {@link fileKey}: see {@link syncedAfter} and {@link cutAfter}. */
export type Synced = Map<string, number>;

/** Takes a sync that covered `size` bytes of the file `key` into `synced`. */
export function syncedAfter(synced: Synced, key: string, size: number): void {
  synced.set(key, Math.max(synced.get(key) ?? 0, size));
}

/** Takes a cut of the file `key` to `size` bytes into `synced`: what a sync covered past it is gone. */
export function cutAfter(synced: Synced, key: string, size: number): void {
  if ((synced.get(key) ?? 0) > size) synced.set(key, size);
}

/**
 * Watches this process's syncs (`fs.fdatasync`) and cuts (`fs.ftruncateSync`) of segments and
 * journal files: `synced` maps each file's key to what a power cut keeps of it. `before`, given
 * the file's path, runs before a sync: the sync waits for what it returns, and fails with it
 * (covering nothing) if that rejects; that file's later syncs then succeed and cover nothing (see above).
 */
export async function watchSyncs(directory: string, before: (path: string) => Promise<void> | undefined = () => undefined): Promise<{ synced: Synced; restore: () => void }> {
  const synced: Synced = new Map();
  const failed = new Set<string>();
  const spy = spyOnSyncs('fdatasync', async (path, real, fd) => {
    if (!isModelled(path)) return real();
    const key = fileKey(fstatSync(fd));
    try {
      await before(path);
    } catch (error) {
      failed.add(key);
      throw error;
    }
    const { size } = fstatSync(fd);
    await real();
    if (!failed.has(key)) syncedAfter(synced, key, size);
  });
  const realCut = fs.ftruncateSync;
  const cuts = jest.spyOn(fs, 'ftruncateSync').mockImplementation((fd: number, length?: number) => {
    realCut(fd, length);
    if (isModelled(readlinkSync(`/proc/self/fd/${fd}`))) cutAfter(synced, fileKey(fstatSync(fd)), length ?? 0);
  });
  return { synced, restore: () => (spy.mockRestore(), cuts.mockRestore()) };
}

/** Cuts every segment and journal file in the data directory back to what a sync covered (`synced`, by {@link fileKey}). */
export function powerCut(directory: string, synced: ReadonlyMap<string, number>): void {
  const cut = (path: string) => {
    const stats = statSync(path);
    const kept = Math.min(stats.size, synced.get(fileKey(stats)) ?? 0);
    if (kept < stats.size) truncateSync(path, kept);
  };
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (!entry.isDirectory()) {
      if (isModelled(path)) cut(path);
      continue;
    }
    for (const name of readdirSync(path)) if (name.startsWith('log-')) cut(join(path, name));
  }
}
