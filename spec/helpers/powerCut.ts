// A model of a power cut for FileServerStore's segments: a segment keeps what a sync covered and
// loses the rest. The journal (written with O_DSYNC) and the files renamed into place after a
// sync (snapshots, tombstones) are kept as they are; directory entries are not modelled. A sync
// that failed leaves its file as Linux does after a writeback error ("fsyncgate"): the pages it
// did not write are marked clean, so a later sync of the same file reports success and writes
// none of it (modelled as covering nothing more, for good: that file's lines after its last good
// sync are lost to the power cut). A new file (a rewrite renamed over it) starts afresh.
import { fstatSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { spyOnSyncs } from './syncSpy.js';

/** A file's name across renames and processes: its inode and birth time. */
export function fileKey(stats: { ino: number; birthtimeMs: number }): string {
  return `${stats.ino}:${stats.birthtimeMs}`;
}

/**
 * Watches this process's segment syncs (`fs.fdatasync` of a `log-` file): `synced` maps
 * each file's key to the size its last sync covered (its size when the sync began). `before`,
 * given the file's path, runs first: a sync waits for what it returns, and fails with it (covering
 * nothing) if that rejects; that file's later syncs then succeed and cover nothing (see above).
 */
export async function watchSegmentSyncs(directory: string, before: (path: string) => Promise<void> | undefined = () => undefined): Promise<{ synced: Map<string, number>; restore: () => void }> {
  const synced = new Map<string, number>();
  const failed = new Set<string>();
  const spy = spyOnSyncs('fdatasync', async (path, real, fd) => {
    if (!path.includes('/log-')) return real();
    const key = fileKey(fstatSync(fd));
    try {
      await before(path);
    } catch (error) {
      failed.add(key);
      throw error;
    }
    const { size } = fstatSync(fd);
    await real();
    if (!failed.has(key)) synced.set(key, Math.max(synced.get(key) ?? 0, size));
  });
  return { synced, restore: () => spy.mockRestore() };
}

/** Cuts every segment in the data directory back to what a sync covered (`synced`, by {@link fileKey}). */
export function powerCut(directory: string, synced: ReadonlyMap<string, number>): void {
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = join(directory, entry.name);
    for (const name of readdirSync(dir)) {
      if (!name.startsWith('log-')) continue;
      const path = join(dir, name);
      const stats = statSync(path);
      const kept = Math.min(stats.size, synced.get(fileKey(stats)) ?? 0);
      if (kept < stats.size) truncateSync(path, kept);
    }
  }
}
