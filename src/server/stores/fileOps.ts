// The file-system calls of FileServerStore that must tolerate what they may find: a file already
// gone (deleted, or never written before a crash), or a platform that cannot sync a directory.
import { readdirSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';

/** Rethrows anything but "no such file". */
export function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}

/**
 * The names in `dir`, or `undefined` when it does not exist. Synchronous: a document directory
 * holds a few files, and listing one on a local disk costs ~10 µs of CPU where the promise
 * version costs ~50–65 µs (its trip through the thread pool; measured on our test machine).
 */
export function listDir(dir: string): string[] | undefined {
  try {
    return readdirSync(dir);
  } catch (error) {
    ignoreMissing(error);
    return undefined;
  }
}

/** Deletes `path`; false when it did not exist. */
export async function unlinkQuiet(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    ignoreMissing(error);
    return false;
  }
}

/** Makes a file's data durable; a file deleted since it was written (snapshot, delete) is skipped. */
export async function fsyncFile(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r+');
    await handle.datasync();
  } catch (error) {
    ignoreMissing(error);
  } finally {
    await handle?.close();
  }
}

/** Makes a directory entry (a created or renamed file) durable. Not possible on Windows: skipped. */
export async function fsyncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw error;
  } finally {
    await handle?.close();
  }
}
