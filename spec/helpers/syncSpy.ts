// The syncs of FileServerStore's files (fileOps: `fs.fdatasync` of a segment, `fs.fsync` of a
// directory, each on a descriptor opened for it), seen by the specs that fail, hold or count them.
import fs, { readlinkSync } from 'node:fs';

/**
 * Routes every `fs[kind]` call through `around(path, real)`: `real()` makes the actual sync, and
 * the call's callback gets what `around` settles with. Restore it with `mockRestore()`.
 */
export function spyOnSyncs(kind: 'fdatasync' | 'fsync', around: (path: string, real: () => Promise<void>, fd: number) => Promise<void>): jest.SpyInstance {
  const realSync = fs[kind];
  return jest.spyOn(fs, kind).mockImplementation(((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
    const real = () => new Promise<void>((resolve, reject) => realSync(fd, (error) => (error ? reject(error) : resolve())));
    around(readlinkSync(`/proc/self/fd/${fd}`), real, fd).then(
      () => callback(null),
      (error: NodeJS.ErrnoException) => callback(error),
    );
  }) as never);
}
