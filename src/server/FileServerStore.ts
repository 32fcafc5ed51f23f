import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from '../errors.js';
import type { DocumentTombstone } from '../types.js';
import { entryFirstRev, entryLastRev } from './ServerStore.js';
import type { DocSnapshot, LogEntry, ServerStore, StoredDoc } from './ServerStore.js';

/** Options of {@link FileServerStore}. */
export interface FileServerStoreOptions {
  /** Directory holding one sub-directory per document; created if missing. */
  directory: string;
  /** fsync every append and snapshot before acknowledging it (default `true`). Only benchmarks turn it off. */
  fsync?: boolean;
}

interface DocFiles {
  dir: string;
  /** First rev of the segment appends go to; undefined until known. */
  segmentStart?: number;
  /** Whether the active segment file exists on disk (its creation needs a directory fsync). */
  segmentExists: boolean;
  /** Whether the document directory exists. */
  dirReady: boolean;
}

const SEGMENT = /^log-(\d{16})\.jsonl$/;
const SNAPSHOT = /^snap-(\d{16})\.json$/;
const TOMBSTONE = 'tombstone.json';

/**
 * The durable `ServerStore`: plain files, no native modules, nothing to compile.
 *
 * Each document gets a directory holding
 * - `log-<firstRev>.jsonl`: append-only segments, one JSON line per commit. An append is
 *   `datasync`ed before it resolves, so an acknowledged commit survives a crash or power cut.
 * - `snap-<rev>.json`: the latest snapshot, written to a temp file, synced, then renamed (a
 *   reader sees the old snapshot or the new one, never half of one). Every snapshot starts a new
 *   log segment, so opening a document reads one snapshot plus one short segment, never the
 *   whole history. OT segments are kept (they serve `getChangesSince` for old revs); LWW
 *   segments before the snapshot are dropped (LWW rows carry their own revs).
 * - `tombstone.json` for a deleted document.
 *
 * A crash in the middle of an append leaves a torn last line: it was never acknowledged, so
 * `loadDoc` drops it and truncates the file. Any other unreadable line is corruption and makes
 * that one document fail loudly (`StoreError`) instead of silently losing history.
 *
 * Directory names are a readable prefix of the doc id plus a hash of the full id, so any
 * string is a safe doc id on case-insensitive file systems too.
 *
 * ## Example
 * ```ts
 * const store = new FileServerStore({ directory: './data' });
 * const server = await startServer({ port: 8787, store });
 * ```
 */
export class FileServerStore implements ServerStore {
  private readonly root: string;
  private readonly sync: boolean;
  private readonly files = new Map<string, DocFiles>();
  private rootReady: Promise<void> | undefined;
  private closed = false;

  /** @param options where to keep the data, and whether to fsync */
  constructor(options: FileServerStoreOptions) {
    this.root = options.directory;
    this.sync = options.fsync ?? true;
  }

  /** @inheritDoc */
  async loadDoc(docId: string): Promise<StoredDoc> {
    const doc = this.doc(docId);
    const names = await listDir(doc.dir);
    if (!names) return { tail: [] };
    doc.dirReady = true;
    if (names.includes(TOMBSTONE)) {
      const tombstone = JSON.parse(await readFile(join(doc.dir, TOMBSTONE), 'utf8')) as DocumentTombstone;
      // A crash between writing the tombstone and erasing the data leaves files behind: finish.
      await this.removeDataFiles(doc, names);
      return { tail: [], tombstone };
    }
    // A snapshot or tombstone whose write was cut short by a crash left only its temp file.
    for (const name of names) if (name.includes('.tmp-')) await unlinkQuiet(join(doc.dir, name));
    const snapshot = await this.readLatestSnapshot(doc.dir, names);
    const snapshotRev = snapshot?.rev ?? 0;
    const segments = segmentsOf(names);
    const tail: LogEntry[] = [];
    const from = startIndex(segments, snapshotRev);
    for (let i = from; i < segments.length; i++) {
      const last = i === segments.length - 1;
      const entries = await this.readSegment(docId, doc.dir, segments[i], last);
      for (const entry of entries) if (entryLastRev(entry) > snapshotRev) tail.push(entry);
    }
    checkContiguous(docId, snapshotRev, tail);
    doc.segmentStart = segments.length ? segments[segments.length - 1] : undefined;
    doc.segmentExists = segments.length > 0;
    return snapshot ? { snapshot, tail } : { tail };
  }

  /** @inheritDoc */
  async readLog(docId: string, afterRev: number): Promise<LogEntry[]> {
    const doc = this.doc(docId);
    const names = await listDir(doc.dir);
    if (!names || names.includes(TOMBSTONE)) return [];
    const segments = segmentsOf(names);
    const out: LogEntry[] = [];
    for (let i = startIndex(segments, afterRev); i < segments.length; i++) {
      const text = await readFile(join(doc.dir, segmentName(segments[i])), 'utf8');
      // An append may be in flight: an unterminated last line is simply not there yet.
      const { entries } = parseLines(docId, text);
      for (const entry of entries) if (entryLastRev(entry) > afterRev) out.push(entry);
    }
    return out;
  }

  /** @inheritDoc */
  async append(docId: string, entry: LogEntry): Promise<void> {
    this.assertOpen();
    const doc = this.doc(docId);
    await this.ensureDir(doc);
    if (doc.segmentStart === undefined) {
      const segments = segmentsOf((await listDir(doc.dir)) ?? []);
      doc.segmentExists = segments.length > 0;
      doc.segmentStart = segments.length ? segments[segments.length - 1] : entryFirstRev(entry);
    }
    const created = !doc.segmentExists;
    const handle = await open(join(doc.dir, segmentName(doc.segmentStart)), 'a');
    let size: number | undefined;
    try {
      size = (await handle.stat()).size;
      await handle.write(JSON.stringify(entry) + '\n');
      if (this.sync) await handle.datasync();
    } catch (error) {
      // Never leave half a record for the next append to follow: cut back to where it started.
      if (size !== undefined) await handle.truncate(size).catch(() => undefined);
      throw error;
    } finally {
      await handle.close();
    }
    if (created) {
      doc.segmentExists = true;
      if (this.sync) await fsyncDir(doc.dir);
    }
  }

  /** @inheritDoc */
  async saveSnapshot(docId: string, snapshot: DocSnapshot): Promise<void> {
    this.assertOpen();
    const doc = this.doc(docId);
    await this.ensureDir(doc);
    await this.writeAtomic(doc.dir, snapshotName(snapshot.rev), JSON.stringify(snapshot));
    // Appends after the snapshot go to a fresh segment, so the next open reads only that one.
    doc.segmentStart = snapshot.rev + 1;
    doc.segmentExists = false;
    const names = (await listDir(doc.dir)) ?? [];
    for (const name of names) {
      const match = SNAPSHOT.exec(name);
      if (match && Number(match[1]) < snapshot.rev) await unlinkQuiet(join(doc.dir, name));
    }
    if (snapshot.kind === 'lww') {
      const segments = segmentsOf(names);
      for (let i = 0; i < segments.length; i++) {
        const nextStart = i + 1 < segments.length ? segments[i + 1] : doc.segmentStart;
        if (segments[i] <= snapshot.rev && nextStart <= snapshot.rev + 1) {
          await unlinkQuiet(join(doc.dir, segmentName(segments[i])));
        }
      }
    }
  }

  /** @inheritDoc */
  async deleteDoc(docId: string, tombstone: DocumentTombstone): Promise<void> {
    this.assertOpen();
    const doc = this.doc(docId);
    await this.ensureDir(doc);
    await this.writeAtomic(doc.dir, TOMBSTONE, JSON.stringify(tombstone));
    await this.removeDataFiles(doc, (await listDir(doc.dir)) ?? []);
  }

  /** @inheritDoc */
  async removeTombstone(docId: string): Promise<boolean> {
    this.assertOpen();
    const doc = this.doc(docId);
    const existed = await unlinkQuiet(join(doc.dir, TOMBSTONE));
    if (existed && this.sync) await fsyncDir(doc.dir);
    return existed;
  }

  /** @inheritDoc */
  async close(): Promise<void> {
    this.closed = true;
    this.files.clear();
  }

  private doc(docId: string): DocFiles {
    let doc = this.files.get(docId);
    if (!doc) {
      doc = { dir: join(this.root, dirNameFor(docId)), segmentExists: false, dirReady: false };
      this.files.set(docId, doc);
    }
    return doc;
  }

  private async ensureDir(doc: DocFiles): Promise<void> {
    if (doc.dirReady) return;
    this.rootReady ??= mkdir(this.root, { recursive: true }).then(() => undefined);
    await this.rootReady;
    const created = await mkdir(doc.dir, { recursive: true });
    if (created !== undefined && this.sync) await fsyncDir(this.root);
    doc.dirReady = true;
  }

  private async readLatestSnapshot(dir: string, names: string[]): Promise<DocSnapshot | undefined> {
    const revs = names
      .map((name) => SNAPSHOT.exec(name))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => Number(match[1]))
      .sort((a, b) => b - a);
    for (const rev of revs) {
      try {
        return JSON.parse(await readFile(join(dir, snapshotName(rev)), 'utf8')) as DocSnapshot;
      } catch {
        // Renames are atomic, so this only happens to a file damaged after the fact: fall back
        // to the previous snapshot (the log still holds everything after it).
      }
    }
    return undefined;
  }

  private async readSegment(docId: string, dir: string, start: number, last: boolean): Promise<LogEntry[]> {
    const path = join(dir, segmentName(start));
    const text = await readFile(path, 'utf8');
    const { entries, validBytes } = parseLines(docId, text);
    if (last && validBytes < Buffer.byteLength(text)) await truncate(path, validBytes);
    return entries;
  }

  private async removeDataFiles(doc: DocFiles, names: string[]): Promise<void> {
    for (const name of names) {
      if (SEGMENT.test(name) || SNAPSHOT.test(name) || name.includes('.tmp-')) await unlinkQuiet(join(doc.dir, name));
    }
    doc.segmentStart = undefined;
    doc.segmentExists = false;
  }

  private async writeAtomic(dir: string, name: string, text: string): Promise<void> {
    const temp = join(dir, `${name}.tmp-${randomBytes(4).toString('hex')}`);
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(text);
      if (this.sync) await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temp, join(dir, name));
    if (this.sync) await fsyncDir(dir);
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('FileServerStore is closed');
  }
}

/** A readable, collision-free directory name for any doc id. */
function dirNameFor(docId: string): string {
  const readable = docId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 48);
  const hash = createHash('sha256').update(docId).digest('hex').slice(0, 16);
  return `${readable}-${hash}`;
}

function segmentName(start: number): string {
  return `log-${String(start).padStart(16, '0')}.jsonl`;
}

function snapshotName(rev: number): string {
  return `snap-${String(rev).padStart(16, '0')}.json`;
}

function segmentsOf(names: string[]): number[] {
  return names
    .map((name) => SEGMENT.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => Number(match[1]))
    .sort((a, b) => a - b);
}

/** Index of the last segment that can hold rev `afterRev + 1` (segments start sorted). */
function startIndex(segments: number[], afterRev: number): number {
  let index = 0;
  for (let i = 0; i < segments.length; i++) if (segments[i] <= afterRev + 1) index = i;
  return index;
}

/**
 * Parses JSON lines. A last line without its newline, or one that does not parse, is a torn
 * append and is left out (`validBytes` ends before it); any earlier bad line is corruption.
 */
function parseLines(docId: string, text: string): { entries: LogEntry[]; validBytes: number } {
  const entries: LogEntry[] = [];
  let offset = 0;
  let validBytes = 0;
  while (offset < text.length) {
    const end = text.indexOf('\n', offset);
    const line = end === -1 ? text.slice(offset) : text.slice(offset, end);
    const isLast = end === -1 || end === text.length - 1;
    let entry: LogEntry | undefined;
    if (end !== -1) {
      try {
        entry = JSON.parse(line) as LogEntry;
      } catch {
        entry = undefined;
      }
    }
    if (!entry || typeof entry !== 'object') {
      if (isLast) break;
      throw new StoreError(`Corrupt log line in document "${docId}"`, docId);
    }
    entries.push(entry);
    validBytes += Buffer.byteLength(line) + 1;
    offset = end + 1;
  }
  return { entries, validBytes };
}

function checkContiguous(docId: string, snapshotRev: number, tail: LogEntry[]): void {
  let expected = snapshotRev + 1;
  for (const entry of tail) {
    const first = entryFirstRev(entry);
    if (first > expected) throw new StoreError(`Log of document "${docId}" jumps from rev ${expected - 1} to ${first}`, docId);
    expected = entryLastRev(entry) + 1;
  }
}

async function listDir(dir: string): Promise<string[] | undefined> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function unlinkQuiet(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Makes a directory entry (a created or renamed file) durable. Not possible on Windows: skipped. */
async function fsyncDir(dir: string): Promise<void> {
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

/** The directory a document's files live in (for tools and tests that inspect the data). */
export function documentDirectory(directory: string, docId: string): string {
  return join(directory, dirNameFor(docId));
}
