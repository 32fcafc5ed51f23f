import fs from 'node:fs';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsyncDir, fsyncFile, ignoreMissing, listDir, unlinkQuiet, writeWholeSync } from '../../../src/server/stores/fileOps.js';

describe('fileOps', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'patches-rx-fileops-'));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(dir, { recursive: true, force: true });
  });

  it('should list a directory, and answer undefined for one that does not exist', () => {
    writeFileSync(join(dir, 'a'), 'x');
    expect(listDir(dir)).toEqual(['a']);
    expect(listDir(join(dir, 'missing'))).toBeUndefined();
    expect(() => listDir(join(dir, 'a'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
  });

  it('should delete a file and say whether it was there', async () => {
    writeFileSync(join(dir, 'a'), 'x');
    expect(await unlinkQuiet(join(dir, 'a'))).toBe(true);
    expect(existsSync(join(dir, 'a'))).toBe(false);
    expect(await unlinkQuiet(join(dir, 'a'))).toBe(false);
    // Any other failure is not swallowed: here a path through a file.
    writeFileSync(join(dir, 'a'), 'x');
    await expect(unlinkQuiet(join(dir, 'a', 'b'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  it('should sync a file or a directory, skipping a file deleted since it was written', async () => {
    writeFileSync(join(dir, 'a'), 'x');
    await expect(fsyncFile(join(dir, 'a'))).resolves.toBeUndefined();
    await expect(fsyncFile(join(dir, 'gone'))).resolves.toBeUndefined();
    await expect(fsyncDir(dir)).resolves.toBeUndefined();
    await expect(fsyncDir(join(dir, 'gone'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('should pass over only a missing file', () => {
    expect(() => ignoreMissing(Object.assign(new Error('gone'), { code: 'ENOENT' }))).not.toThrow();
    expect(() => ignoreMissing(Object.assign(new Error('denied'), { code: 'EACCES' }))).toThrow('denied');
  });
  // A write may take fewer bytes than it is given (a file size limit, a disk filling up): here the
  // system call's answer is made short, the bytes it reports are really written.
  describe('writing a whole text', () => {
    const text = 'héllo, wörld\n';
    const size = Buffer.byteLength(text);
    const enospc = () => Object.assign(new Error('no space left'), { code: 'ENOSPC' });

    it('should write the rest after a short positional write, and fail on a write that fails', () => {
      const realWrite = fs.writeSync as (...args: unknown[]) => number;
      const path = join(dir, 'journal');
      const fd = openSync(path, 'w+');
      try {
        // The first call is (fd, text, position): 5 bytes of it written there, the rest by the next call.
        const short = (bytes: number) => (to: number, data: unknown, position: unknown) => realWrite(to, Buffer.from(data as string), 0, bytes, position);
        const spy = jest.spyOn(fs, 'writeSync').mockImplementationOnce(short(5) as never);
        expect(writeWholeSync(fd, text, 0)).toBe(size);
        expect(writeWholeSync(fd, text, size)).toBe(size);
        expect(readFileSync(path, 'utf8')).toBe(text + text);
        expect(spy).toHaveBeenCalledTimes(3);
        spy.mockImplementationOnce(short(3) as never).mockImplementationOnce(() => {
          throw enospc();
        });
        expect(() => writeWholeSync(fd, text, 2 * size)).toThrow('no space left');
        // Written where it was told, whatever the descriptor's offset.
        expect(writeWholeSync(fd, 'X', 0)).toBe(1);
        // The failed write's 3 bytes stay past the two texts: a caller cuts them (or writes over them).
        expect(readFileSync(path)).toEqual(Buffer.concat([Buffer.from('X'), Buffer.from(text).subarray(1), Buffer.from(text), Buffer.from(text).subarray(0, 3)]));
        // A write that takes nothing would be tried forever: it fails.
        spy.mockReturnValueOnce(0).mockReturnValueOnce(0);
        expect(() => writeWholeSync(fd, text, 0)).toThrow(expect.objectContaining({ code: 'EIO' }));
      } finally {
        closeSync(fd);
      }
    });
  });
});
