import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fsyncDir, fsyncFile, ignoreMissing, listDir, unlinkQuiet } from '../../../src/server/stores/fileOps.js';

describe('fileOps', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'patches-rx-fileops-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

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
});
