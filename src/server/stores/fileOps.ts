// The file-system calls of FileServerStore that must tolerate what they may find: a file already
// gone (deleted, or never written before a crash), a platform that cannot sync a directory, or a
// write that takes fewer bytes than it was given.
import { closeSync, constants, fdatasync, fsync, openSync, readdirSync, writeSync } from 'node:fs';
import { access, mkdir, readdir, unlink } from 'node:fs/promises';

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

/**
 * Creates `dir` if missing and checks that files can be listed and created in it, so a path that
 * is a file (ENOTDIR) or a directory this process may not write (EACCES) fails here, at once.
 */
export async function usableDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    // A file in its place says EEXIST here: the listing below names it better (ENOTDIR).
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  await readdir(dir);
  await access(dir, constants.W_OK | constants.X_OK);
}

/**
 * Makes a file's data durable; a file deleted since it was written (snapshot, delete) is skipped.
 * Opened and closed synchronously, as a segment is (`DocRecords.openSegment`): ~10 µs of CPU
 * each on a local disk, where each trip through the thread pool costs more than that, so only
 * the sync itself leaves the event loop (a checkpoint of 256 files: ~176 → ~96 µs of CPU per file).
 */
export async function fsyncFile(path: string): Promise<void> {
  let fd;
  try {
    fd = openSync(path, 'r+');
  } catch (error) {
    ignoreMissing(error);
    return;
  }
  try {
    await datasyncFd(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes a directory entry (a created or renamed file) durable. Not possible on Windows: skipped. Opened as {@link fsyncFile} opens a file. */
export async function fsyncDir(dir: string): Promise<void> {
  let fd;
  try {
    fd = openSync(dir, 'r');
    await syncFd(fd, fsync);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Makes the data written through `fd` durable: `fdatasync` on the thread pool, as a promise (one trip). */
export function datasyncFd(fd: number): Promise<void> {
  return syncFd(fd, fdatasync);
}

/** `fdatasync` or `fsync` of `fd` on the thread pool, as a promise (one trip, no `FileHandle`). */
function syncFd(fd: number, sync: typeof fsync): Promise<void> {
  return new Promise((resolve, reject) => sync(fd, (error) => (error ? reject(error) : resolve())));
}

/**
 * Writes all of `text` at `position` of the file open at `fd`; returns its length in bytes. A
 * write may take fewer bytes than it is given (a file size limit, a disk filling up) without
 * failing: the rest is written again, so the caller sees either the whole text written or the
 * error that stopped it, never a record silently cut short.
 */
export function writeWholeSync(fd: number, text: string, position: number): number {
  const size = Buffer.byteLength(text);
  let done = writeSync(fd, text, position);
  if (done < size) {
    const bytes = Buffer.from(text);
    while (done < size) done += progress(writeSync(fd, bytes, done, size - done, position + done));
  }
  return size;
}

/** A write that took nothing would be tried forever: it fails instead. */
function progress(bytesWritten: number): number {
  if (bytesWritten > 0) return bytesWritten;
  throw Object.assign(new Error('A write took no bytes'), { code: 'EIO' });
}
