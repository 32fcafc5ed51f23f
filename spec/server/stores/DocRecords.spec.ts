import fs, { mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DocRecords } from '../../../src/server/stores/DocRecords.js';
import type { DocRecord } from '../../../src/server/stores/DocRecords.js';
import { documentDirectory } from '../../../src/server/stores/docFiles.js';

// FileServerStore's in-memory records: which ones it keeps, which segments it keeps open, and
// what opening a segment cuts (half a line a crash or a failed cut-back left at its end).

/** A call that holds its doc's record until `end` (its `doc` once it runs). */
function heldCall(records: DocRecords, docId: string) {
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));
  let doc!: DocRecord;
  const call = records.use(docId, async (record) => {
    doc = record;
    await ended;
  });
  return { doc: () => doc, end: async () => (end(), await call) };
}

describe('DocRecords', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'patches-rx-docrecords-'));
  });
  afterEach(() => {
    jest.restoreAllMocks();
    rmSync(root, { recursive: true, force: true });
  });

  /** The record `use` gives for `docId` (a new one if it was dropped). */
  const recordOf = (records: DocRecords, docId: string) => records.use(docId, async (doc) => doc);
  /** A segment file of `docId` holding `text`, its path. */
  const segmentWith = (docId: string, text: string | Buffer) => {
    const dir = documentDirectory(root, docId);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'log-0000000000000001.jsonl');
    writeFileSync(path, text);
    return path;
  };
  /** How many descriptors this process has open on `path` (Linux). */
  const handlesOn = (path: string) => readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(join('/proc/self/fd', fd)) === path;
    } catch {
      return false;
    }
  }).length;

  describe('records', () => {
    it("should build a record in the doc's directory, and share it between calls racing on the doc", async () => {
      const records = new DocRecords(root, 4, 4);
      const first = heldCall(records, 'a');
      const second = heldCall(records, 'a');
      expect(first.doc()).toBe(second.doc());
      expect(first.doc()).toMatchObject({ dir: documentDirectory(root, 'a'), users: 2, segmentExists: false, dirReady: false });
      await first.end();
      expect(second.doc().users).toBe(1);
      await second.end();
      expect(records.size).toBe(1);
    });

    it('should keep the maxIdle most recently used idle records, dropping the least recently used', async () => {
      const records = new DocRecords(root, 4, 2);
      const a = await recordOf(records, 'a');
      const b = await recordOf(records, 'b');
      expect(await recordOf(records, 'a')).toBe(a); // a is now more recent than b
      await recordOf(records, 'c');
      expect(records.size).toBe(2);
      expect(await recordOf(records, 'a')).toBe(a);
      // b was dropped: its next call builds it anew.
      expect(await recordOf(records, 'b')).not.toBe(b);
    });

    it('should keep a record with a call in flight or an open segment beyond maxIdle, and file it idle once neither holds it', async () => {
      const records = new DocRecords(root, 4, 1);
      await recordOf(records, 'a'); // idle, then in use again
      const held = heldCall(records, 'a');
      await recordOf(records, 'b');
      await recordOf(records, 'c');
      expect(records.size).toBe(2);
      const doc = held.doc();
      expect(await recordOf(records, 'a')).toBe(doc);
      records.openSegment('a', doc, segmentWith('a', ''));
      await held.end();
      // Its segment is still open: the record stays (one handle per segment file), beside c, idle.
      expect(records.size).toBe(2);
      expect(await recordOf(records, 'a')).toBe(doc);
      records.closeSegment('a', doc);
      // Idle now, the most recently used: c is dropped for it, and it for the next.
      expect(records.size).toBe(1);
      await recordOf(records, 'c');
      expect(await recordOf(records, 'a')).not.toBe(doc);
    });

    it('should drop every record and close every segment on closeAll', async () => {
      const records = new DocRecords(root, 4, 4);
      const paths = ['a', 'b'].map((docId) => segmentWith(docId, ''));
      for (const [i, docId] of ['a', 'b'].entries()) await records.use(docId, async (doc) => void records.openSegment(docId, doc, paths[i]));
      await recordOf(records, 'c');
      expect(records.size).toBe(3);
      expect(paths.map(handlesOn)).toEqual([1, 1]);
      records.closeAll();
      expect(records.size).toBe(0);
      expect(paths.map(handlesOn)).toEqual([0, 0]);
    });
  });

  describe('open segments', () => {
    it('should keep one handle per segment, opening another path in its place', async () => {
      const records = new DocRecords(root, 4, 4);
      const first = segmentWith('a', '');
      const second = join(documentDirectory(root, 'a'), 'log-0000000000000005.jsonl');
      await records.use('a', async (doc) => {
        const segment = records.openSegment('a', doc, first);
        expect(records.openSegment('a', doc, first)).toBe(segment);
        expect(handlesOn(first)).toBe(1);
        const next = records.openSegment('a', doc, second);
        expect([next.path, next.size, doc.segment]).toEqual([second, 0, next]);
        expect([handlesOn(first), handlesOn(second)]).toEqual([0, 1]);
      });
      records.closeAll();
    });

    it('should close the least recently used segments beyond maxOpenSegments', async () => {
      const records = new DocRecords(root, 2, 8);
      const paths = Object.fromEntries(['a', 'b', 'c'].map((docId) => [docId, segmentWith(docId, '')]));
      const open = (docId: string) => records.use(docId, async (doc) => void records.openSegment(docId, doc, paths[docId]));
      await open('a');
      await open('b');
      await open('a'); // b is now the least recently used
      await open('c');
      expect([handlesOn(paths.a), handlesOn(paths.b), handlesOn(paths.c)]).toEqual([1, 0, 1]);
      expect((await recordOf(records, 'b')).segment).toBeUndefined();
      records.closeAll();
    });

    // Its call may be about to write to the segment: closing it under the call would write to a
    // descriptor closed (or by then reused for another file).
    it('should never close the segment of a doc with a call in flight, and close it at the next open once the call is over', async () => {
      const records = new DocRecords(root, 1, 8);
      const paths = Object.fromEntries(['a', 'b', 'c'].map((docId) => [docId, segmentWith(docId, '')]));
      const held = heldCall(records, 'a');
      const segmentA = records.openSegment('a', held.doc(), paths.a);
      await records.use('b', async (doc) => void records.openSegment('b', doc, paths.b));
      // Over the bound, and a is the least recently used: it stays open, under the call.
      expect(held.doc().segment).toBe(segmentA);
      fs.writeSync(segmentA.fd, 'still open\n', 0);
      expect(readFileSync(paths.a, 'utf8')).toBe('still open\n');
      expect([handlesOn(paths.a), handlesOn(paths.b)]).toEqual([1, 1]);
      await held.end();
      await records.use('c', async (doc) => void records.openSegment('c', doc, paths.c));
      expect([handlesOn(paths.a), handlesOn(paths.b), handlesOn(paths.c)]).toEqual([0, 0, 1]);
      records.closeAll();
    });
  });

  // What follows the last newline was never acknowledged (a crash, or a failed write whose cut-back
  // failed too): the next line must start right after the last whole one, not after half a line.
  describe('opening a segment that ends inside a line', () => {
    const line = (n: number) => JSON.stringify({ line: n }) + '\n';
    const chunk = 64 * 1024;
    const cases: [string, string, number][] = [
      ['an empty file', '', 0],
      ['whole lines', line(1) + line(2), Buffer.byteLength(line(1) + line(2))],
      ['whole lines and half a line', line(1) + line(2) + line(3).slice(0, 5), Buffer.byteLength(line(1) + line(2))],
      ['whole lines and half a line longer than a read', line(1) + 'x'.repeat(chunk + 100), Buffer.byteLength(line(1))],
      ['whole lines and half a line exactly as long as a read', line(1) + line(2) + 'x'.repeat(chunk), Buffer.byteLength(line(1) + line(2))],
      ['whole lines longer than a read, and half a line', 'y'.repeat(3 * chunk) + '\n' + 'x'.repeat(10), 3 * chunk + 1],
      ['half a line only', line(1).slice(0, 7), 0],
      ['half a line only, longer than two reads', 'x'.repeat(2 * chunk + 3), 0],
      ['a newline only', '\n', 1],
    ];

    it.each(cases)('should open %s at the end of its last whole line, cutting what follows', async (_, text, end) => {
      const records = new DocRecords(root, 4, 4);
      const path = segmentWith('a', text);
      await records.use('a', async (doc) => {
        const segment = records.openSegment('a', doc, path);
        expect(segment.size).toBe(end);
        expect(readFileSync(path, 'utf8')).toBe(text.slice(0, end));
        // The next line goes at the counted end.
        fs.writeSync(segment.fd, line(9), segment.size);
      });
      records.closeAll();
      expect(readFileSync(path, 'utf8')).toBe(text.slice(0, end) + line(9));
    });

    it('should create a missing segment file, empty', async () => {
      const records = new DocRecords(root, 4, 4);
      mkdirSync(documentDirectory(root, 'a'));
      const path = join(documentDirectory(root, 'a'), 'log-0000000000000001.jsonl');
      await records.use('a', async (doc) => expect(records.openSegment('a', doc, path).size).toBe(0));
      records.closeAll();
      expect(readFileSync(path, 'utf8')).toBe('');
    });

    it('should throw when the cut fails, leaving the file, no segment and no handle, and cut it at the next open', async () => {
      const records = new DocRecords(root, 4, 4);
      const text = line(1) + line(2).slice(0, 4);
      const path = segmentWith('a', text);
      const cut = jest.spyOn(fs, 'ftruncateSync').mockImplementationOnce(() => {
        throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
      });
      await records.use('a', async (doc) => {
        expect(() => records.openSegment('a', doc, path)).toThrow('EIO: injected');
        expect(doc.segment).toBeUndefined();
        expect(handlesOn(path)).toBe(0);
        expect(readFileSync(path, 'utf8')).toBe(text);
        cut.mockRestore();
        expect(records.openSegment('a', doc, path).size).toBe(Buffer.byteLength(line(1)));
      });
      records.closeAll();
      expect(readFileSync(path, 'utf8')).toBe(line(1));
    });
  });
});
