import { closeSync, constants, fstatSync, ftruncateSync, openSync, readSync } from 'node:fs';
import { documentDirectory } from './docFiles.js';

/**
 * What the store holds in memory for one document. Everything in it can be read back from
 * disk, so an idle record can be dropped and is rebuilt on the doc's next call exactly as a
 * fresh process builds it.
 */
export interface DocRecord {
  dir: string;
  /** Calls on this document in flight: the record is neither dropped nor its segment closed by another doc's append. */
  users: number;
  /** First rev of the segment appends go to; undefined until read from disk. */
  segmentStart?: number;
  /** Whether the active segment file exists on disk (its creation needs a directory fsync). */
  segmentExists: boolean;
  /** Whether the document directory exists. */
  dirReady: boolean;
  /** The active segment, kept open between appends (one write per append, no open/stat/close). */
  segment?: OpenSegment;
}

/**
 * A doc's active segment, open for appends. Lines are written at `size`, the end of its last
 * whole line (no `O_APPEND`), as the journal's records are: a line whose write failed and whose
 * cut-back failed too is written over by the next, never followed by it (see `wholeLinesEnd`).
 */
export interface OpenSegment {
  path: string;
  fd: number;
  /** Bytes of whole lines in the file: where the next line starts, and where a failed append is cut back to. */
  size: number;
}

/**
 * FileServerStore's in-memory records of documents, bounded: the `maxIdle` most recently used
 * records nothing needs are kept (a dropped one is read back from disk on the doc's next call),
 * as are all with a call in flight or an open segment; and at most `maxOpenSegments` docs keep
 * their segment open between appends (least recently used closed first, unless a call on the doc
 * is in flight).
 */
export class DocRecords {
  /** Per-doc records: every doc in use, and the idle ones in {@link idle}. */
  private readonly records = new Map<string, DocRecord>();
  /** Records nothing needs (no call in flight, no open segment), least recently used first. */
  private readonly idle = new Map<string, DocRecord>();
  /** Docs with an open segment, least recently used first. */
  private readonly openSegments = new Map<string, DocRecord>();

  /**
   * @param root the data directory, holding one directory per document
   * @param maxOpenSegments how many documents keep their segment open between appends
   * @param maxIdle how many idle documents keep their record
   */
  constructor(
    private readonly root: string,
    private readonly maxOpenSegments: number,
    private readonly maxIdle: number,
  ) {}

  /** The documents with a record in memory right now. */
  get size(): number {
    return this.records.size;
  }

  /**
   * Runs `run` on the doc's record, creating it if it was dropped, and holding it for the
   * call: calls racing on one doc share one record, so one segment handle per file.
   */
  async use<T>(docId: string, run: (doc: DocRecord) => Promise<T>): Promise<T> {
    let doc = this.records.get(docId);
    if (!doc) {
      doc = { dir: documentDirectory(this.root, docId), users: 0, segmentExists: false, dirReady: false };
      this.records.set(docId, doc);
    }
    this.idle.delete(docId);
    doc.users += 1;
    try {
      return await run(doc);
    } finally {
      doc.users -= 1;
      this.settle(docId, doc);
    }
  }

  /**
   * The doc's open segment at `path`, opening it (and closing the least recently used) if needed.
   * Opening it cuts off what follows its last whole line (see `wholeLinesEnd`), throwing if it cannot.
   * Opening, sizing and closing are synchronous, as a listing is (see `listDir`): ~20 µs of CPU
   * together on a local disk, against ~140 µs through the thread pool. A disk slow to create files
   * (~0.5–1 ms of kernel CPU per creation on our test VM, an ext4 with no journal: README, durable
   * store) holds the event loop that long per new segment; through the thread pool, beside the
   * journal's sync, 200 new docs took ~0.9× the time there and ~1.0–1.4× on a journaled ext4.
   */
  openSegment(docId: string, doc: DocRecord, path: string): OpenSegment {
    if (doc.segment?.path !== path) {
      this.closeSegment(docId, doc);
      const fd = openSync(path, constants.O_RDWR | constants.O_CREAT);
      try {
        doc.segment = { path, fd, size: wholeLinesEnd(fd) };
      } catch (error) {
        closeSync(fd);
        throw error;
      }
    }
    this.openSegments.delete(docId);
    this.openSegments.set(docId, doc);
    for (const [otherId, other] of this.openSegments) {
      if (this.openSegments.size <= this.maxOpenSegments) break;
      // A doc with a call in flight keeps its segment: that call may be about to write to it.
      if (other !== doc && other.users === 0) this.closeSegment(otherId, other);
    }
    return doc.segment;
  }

  closeSegment(docId: string, doc: DocRecord): void {
    const segment = doc.segment;
    doc.segment = undefined;
    this.openSegments.delete(docId);
    this.settle(docId, doc);
    if (segment) closeSync(segment.fd);
  }

  /** Closes every open segment (the records stay). */
  closeSegments(): void {
    for (const [docId, doc] of [...this.openSegments]) this.closeSegment(docId, doc);
  }

  /** Closes every open segment and drops every record (the store is closing). */
  closeAll(): void {
    this.closeSegments();
    this.records.clear();
    this.idle.clear();
  }

  /**
   * Files a record nothing needs any more (no call in flight, no open segment) as the most
   * recently used idle one, and drops the least recently used beyond `maxIdle`.
   */
  private settle(docId: string, doc: DocRecord): void {
    if (doc.users > 0 || doc.segment || this.records.get(docId) !== doc) return;
    this.idle.delete(docId);
    this.idle.set(docId, doc);
    for (const [oldId] of this.idle) {
      if (this.idle.size <= this.maxIdle) break;
      this.idle.delete(oldId);
      this.records.delete(oldId);
    }
  }
}

/**
 * The end of the last whole line of the file open at `fd`, what follows it cut off: half a line,
 * never acknowledged, that a crash left or whose cut-back failed (`OpenSegment.size` forgets it
 * once the segment is closed). As a load cuts a torn last line; here without reading the file
 * unless it ends inside a line. Throws if the cut fails (the next line must not follow half a line).
 */
function wholeLinesEnd(fd: number): number {
  const { size } = fstatSync(fd);
  const last = Buffer.alloc(1);
  if (size === 0 || (readSync(fd, last, 0, 1, size - 1) === 1 && last[0] === NEWLINE)) return size;
  const chunk = Buffer.alloc(Math.min(size, 64 * 1024));
  let end = 0;
  for (let to = size; to > 0; ) {
    const from = Math.max(0, to - chunk.length);
    const read = readSync(fd, chunk, 0, to - from, from);
    const newline = chunk.subarray(0, read).lastIndexOf(NEWLINE);
    if (newline !== -1) {
      end = from + newline + 1;
      break;
    }
    to = from;
  }
  ftruncateSync(fd, end);
  return end;
}

const NEWLINE = 0x0a;
