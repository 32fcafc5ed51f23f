import fsPromises, { mkdtemp, rm } from 'node:fs/promises';
import { appendFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RECORD_FIRST_HEADER } from '../../../src/server/stores/CommitJournal.js';
import { Checkpoints } from '../../../src/server/stores/Checkpoints.js';
import { JOURNAL_FILE, JournalFiles, RETIRED_JOURNAL_FILE } from '../../../src/server/stores/JournalFiles.js';
import { FailStop } from '../../../src/server/stores/syncFailure.js';
import { spyOnSyncs } from '../../helpers/syncSpy.js';

// FileServerStore's checkpoints, on a real journal and real segment files: when one is due (the
// journal's size, the segment files written since the last), what it syncs, when it empties the
// journals, and which appends wait for it (none while it rotates, unless as much again was
// written meanwhile; all while it holds them).

const eio = () => Object.assign(new Error('EIO: injected'), { code: 'EIO' });
/** One journal line of the appends below: `{"docId":"a","body":1}\n`. */
const RECORD_BYTES = 23;

describe('Checkpoints', () => {
  let root: string;
  let journals: JournalFiles;
  let failStop: FailStop;
  let checkpoints: Checkpoints;
  let warnings: string[];
  /** The segment files (`<doc>/log`) and directories synced, in order. */
  let synced: string[];
  /** Syncs of segment files held until their gate opens (see `holdSyncOf`). */
  let gates: Map<string, { reached: () => void; open: Promise<void> }>;

  /** A store's checkpoints on a fresh journal: `bytes` and `files` as `checkpointBytes` and `checkpointFiles`. */
  async function setUp({ bytes = 1e9, files = 1e9 } = {}): Promise<void> {
    warnings = [];
    failStop = new FailStop((warning) => warnings.push(warning.message), (marker) => journals.current.write({ docId: '', body: marker }));
    journals = new JournalFiles(root, (error) => failStop.syncFailed(error, true));
    await journals.current.open();
    synced.length = 0; // the journal's own sync of the data directory
    checkpoints = new Checkpoints(root, journals, failStop, bytes, files);
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'patches-rx-checkpoints-'));
    synced = [];
    gates = new Map();
    const name = (path: string) => path.slice(root.length + 1).replace('/log-0000000000000001.jsonl', '/log');
    spyOnSyncs('fdatasync', async (path, real) => {
      if (!path.includes('/log-')) return real();
      const gate = gates.get(name(path));
      if (gate) {
        gates.delete(name(path));
        gate.reached();
        await gate.open;
      }
      synced.push(name(path));
      return real();
    });
    spyOnSyncs('fsync', (path, real) => (synced.push(path === root ? '.' : name(path)), real()));
  });
  afterEach(async () => {
    await checkpoints.idle();
    await journals.close();
    jest.restoreAllMocks();
    await rm(root, { recursive: true, force: true });
  });

  /**
   * Holds the next sync of `docId`'s segment until `release` (or fails it with `release(error)`);
   * `reached` resolves once the sync is called.
   */
  function holdSyncOf(docId: string) {
    let reached!: () => void;
    const called = new Promise<void>((resolve) => (reached = resolve));
    let release!: (error?: Error) => void;
    const open = new Promise<void>((resolve, reject) => (release = (error) => (error ? reject(error) : resolve())));
    gates.set(`${docId}/log`, { reached, open });
    return { reached: called, release };
  }

  /** The segment file of `docId`, its directory made (and told) on first use. */
  function segmentOf(docId: string): string {
    const dir = join(root, docId);
    if (!existsSync(dir)) {
      mkdirSync(dir);
      checkpoints.dirWritten(root);
      checkpoints.dirWritten(dir);
    }
    return join(dir, 'log-0000000000000001.jsonl');
  }

  /**
   * An append as FileServerStore makes one: the journal's record, then the segment's line, in one
   * step, durable with the record's group. `ran` says whether the checkpoint under way let it run yet.
   */
  function append(docId: string, rev: number) {
    let ran = false;
    const done = checkpoints.runAppend(async () => {
      ran = true;
      const record = journals.current.add({ docId, body: rev });
      const path = segmentOf(docId);
      appendFileSync(path, JSON.stringify({ rev }) + '\n');
      checkpoints.fileWritten(path);
      await record.durable;
    });
    return Object.assign(done, { ran: () => ran });
  }

  /** Appends, then waits for the checkpoint it started, if any. */
  const appendAndSettle = async (docId: string, rev: number) => {
    await append(docId, rev);
    await checkpoints.idle();
  };
  /** The segments synced so far, by doc (`<doc>/log`), sorted. */
  const syncedSegments = () => synced.filter((path) => path.endsWith('/log')).sort();
  const file = (name: string) => readFileSync(join(root, name), 'utf8');
  const records = async () => (await journals.read()).records.map((record) => `${record.docId}${JSON.stringify(record.body)}`);

  describe('when one is due', () => {
    it('should start none below checkpointBytes and checkpointFiles', async () => {
      await setUp({ bytes: 3 * RECORD_BYTES, files: 3 });
      await append('a', 1);
      await appendAndSettle('b', 1);
      expect(existsSync(join(root, RETIRED_JOURNAL_FILE))).toBe(false);
      expect(synced).toEqual([]);
      expect(await records()).toEqual(['a1', 'b1']);
    });

    it('should checkpoint once the journal reaches checkpointBytes: sync what was written, then empty the journal it retired', async () => {
      await setUp({ bytes: 2 * RECORD_BYTES });
      await appendAndSettle('a', 1);
      expect(existsSync(join(root, RETIRED_JOURNAL_FILE))).toBe(false);
      await appendAndSettle('a', 2);
      expect([...new Set(synced)].sort()).toEqual(['.', 'a', 'a/log']);
      expect([file(RETIRED_JOURNAL_FILE), file(JOURNAL_FILE)]).toEqual([RECORD_FIRST_HEADER, RECORD_FIRST_HEADER]);
      expect(journals.current.bytes).toBe(0);
    });

    it('should checkpoint once checkpointFiles segment files were written since the last one started, however few the bytes', async () => {
      await setUp({ files: 2 });
      await append('a', 1);
      await appendAndSettle('a', 2);
      expect(synced).toEqual([]);
      await appendAndSettle('b', 1);
      expect(syncedSegments()).toEqual(['a/log', 'b/log']);
      // The count starts again: a's segment, synced, is one file of the next checkpoint's two.
      synced.length = 0;
      await appendAndSettle('a', 3);
      expect(synced).toEqual([]);
      await appendAndSettle('c', 1);
      expect(syncedSegments()).toEqual(['a/log', 'c/log']);
      expect(await records()).toEqual([]);
    });

    // Its lines are in the segments already: emptying the journal gives the disk space back.
    it('should checkpoint after an append that failed for lack of space, not after one that failed otherwise', async () => {
      await setUp();
      await append('a', 1);
      const failing = (code: string) =>
        checkpoints.runAppend(async () => {
          throw Object.assign(new Error(`${code}: injected`), { code });
        });
      await expect(failing('EIO')).rejects.toThrow('EIO: injected');
      await checkpoints.idle();
      expect(existsSync(join(root, RETIRED_JOURNAL_FILE))).toBe(false);
      await expect(failing('ENOSPC')).rejects.toThrow('ENOSPC: injected');
      await checkpoints.idle();
      expect(synced).toContain('a/log');
      expect(await records()).toEqual([]);
    });

    it('should start none with an empty journal after an append failed for lack of space', async () => {
      await setUp();
      await expect(checkpoints.runAppend(() => Promise.reject(Object.assign(new Error('ENOSPC: injected'), { code: 'ENOSPC' })))).rejects.toThrow('ENOSPC');
      await checkpoints.idle();
      expect(existsSync(join(root, RETIRED_JOURNAL_FILE))).toBe(false);
    });

    // The store's own last checkpoint runs after the appends in flight (see `start`).
    it('should start none once closed', async () => {
      await setUp({ files: 1 });
      checkpoints.close();
      await appendAndSettle('a', 1);
      expect(synced).toEqual([]);
      expect(await records()).toEqual(['a1']);
    });
  });

  describe('the appends beside one', () => {
    it('should let appends go on while it rotates, into the fresh journal, and hold the one that finds a checkpoint due again', async () => {
      await setUp({ files: 1 });
      const held = holdSyncOf('a');
      await append('a', 1); // due: the checkpoint retires the journal, and holds at a's sync
      await held.reached;
      const b = append('b', 1);
      expect(b.ran()).toBe(true);
      await b;
      expect(file(JOURNAL_FILE)).toBe(RECORD_FIRST_HEADER + '{"docId":"b","body":1}\n');
      // b's segment makes the next checkpoint due: the next append waits for this one.
      const c = append('c', 1);
      expect(c.ran()).toBe(false);
      held.release();
      await c;
      expect(c.ran()).toBe(true);
      await checkpoints.idle();
      expect(syncedSegments()).toEqual(['a/log', 'b/log', 'c/log']);
      expect(await records()).toEqual([]);
    });

    // One that could not retire the journal holds the appends, waits for those in flight, and
    // empties both journals.
    it('should hold every append, due or not, while it holds the appends', async () => {
      await setUp({ files: 1 });
      jest.spyOn(fsPromises, 'rename').mockRejectedValueOnce(eio());
      const held = holdSyncOf('a');
      await append('a', 1); // due; the rename that would retire the journal fails: it holds the appends
      await held.reached;
      let journalAtB: string | undefined;
      const b = checkpoints.runAppend(async () => {
        journalAtB = file(JOURNAL_FILE);
      });
      expect(journalAtB).toBeUndefined();
      held.release();
      await b;
      // It ran once the checkpoint had emptied the journal (this append writes no record).
      expect(journalAtB).toBe(RECORD_FIRST_HEADER);
      expect(existsSync(join(root, RETIRED_JOURNAL_FILE))).toBe(false);
    });
  });

  describe('one that holds the appends (the last one, at close)', () => {
    it('should sync and empty the journals only once the appends in flight are done', async () => {
      await setUp();
      const segmentSyncs = () => syncedSegments().length;
      let syncsBeforeDone: number | undefined;
      const inFlight = checkpoints.runAppend(async () => {
        const record = journals.current.add({ docId: 'a', body: 1 });
        appendFileSync(segmentOf('a'), '{"rev":1}\n');
        checkpoints.fileWritten(segmentOf('a'));
        await record.durable;
        syncsBeforeDone = segmentSyncs();
      });
      const checkpoint = checkpoints.hold();
      await inFlight;
      await checkpoint;
      expect([syncsBeforeDone, segmentSyncs()]).toEqual([0, 1]);
      expect(await records()).toEqual([]);
    });
  });

  describe('when a sync fails', () => {
    it("should keep the retired journal, stop the writes, mark the journal, and start no checkpoint after", async () => {
      await setUp({ files: 1 });
      const held = holdSyncOf('a');
      await append('a', 1);
      await held.reached;
      // b's append is in flight when the checkpoint fails, and ends with a checkpoint due.
      let endB!: () => void;
      const bEnds = new Promise<void>((resolve) => (endB = resolve));
      const b = checkpoints.runAppend(async () => {
        const record = journals.current.add({ docId: 'b', body: 1 });
        appendFileSync(segmentOf('b'), '{"rev":1}\n');
        checkpoints.fileWritten(segmentOf('b'));
        await record.durable;
        await bEnds;
      });
      held.release(eio());
      await checkpoints.idle();
      expect(failStop.error?.message).toMatch(/^a sync of the data failed \(EIO: injected\)/);
      expect(warnings).toEqual([failStop.error?.message]);
      endB();
      await b;
      await checkpoints.idle();
      const refused = append('c', 1);
      await expect(refused).rejects.toBe(failStop.error);
      expect(refused.ran()).toBe(false);
      await checkpoints.idle();
      await journals.current.close(); // the marker's sync
      expect(await records()).toEqual(['a1', 'b1', '{"syncFailed":"EIO: injected"}']);
      // No segment was synced (a later sync of a's may report success and write nothing).
      expect(syncedSegments()).toEqual([]);
    });
  });

  describe('syncs outside checkpoints', () => {
    it("should sync a doc's segments before its snapshot, and leave only the others to the next checkpoint", async () => {
      await setUp();
      await append('a', 1);
      await append('b', 1);
      await checkpoints.syncSegmentsOf(join(root, 'a'));
      expect(synced).toEqual(['a/log']);
      expect(checkpoints.stats.segmentSyncs).toBe(1);
      await checkpoints.hold();
      expect(syncedSegments()).toEqual(['a/log', 'b/log']);
    });

    // Found in review: a snapshot during a checkpoint claimed lines no sync had made durable yet.
    it('should sync the segments of the doc a checkpoint under way has taken and not synced yet', async () => {
      await setUp();
      const others = ['w', 'x', 'y', 'z'];
      const holds = others.map(holdSyncOf);
      for (const docId of [...others, 'a']) await append(docId, 1);
      // Four syncs at a time: the four others, held, and a's waits behind them.
      const checkpoint = checkpoints.hold();
      await Promise.all(holds.map((held) => held.reached));
      await checkpoints.syncSegmentsOf(join(root, 'a'));
      expect(synced).toEqual(['a/log']);
      for (const held of holds) held.release();
      await checkpoint;
    });

    it("should sync the data directory once for the new docs' entries written since", async () => {
      await setUp();
      await append('a', 1);
      await checkpoints.syncNewDocEntries();
      await checkpoints.syncNewDocEntries();
      expect(synced).toEqual(['.']);
      expect(checkpoints.stats.rootSyncs).toBe(1);
    });

    it('should write every segment not synced yet anew, for the next checkpoint to sync', async () => {
      await setUp();
      await append('a', 1);
      await append('b', 1);
      const inodes = ['a', 'b'].map((docId) => statSync(segmentOf(docId)).ino);
      expect(await checkpoints.rewriteUnsynced()).toBe(2);
      for (const [i, docId] of ['a', 'b'].entries()) expect(statSync(segmentOf(docId)).ino).not.toBe(inodes[i]);
      expect(['a', 'b'].map((docId) => readFileSync(segmentOf(docId), 'utf8'))).toEqual(['{"rev":1}\n', '{"rev":1}\n']);
      synced.length = 0;
      await checkpoints.hold();
      expect(syncedSegments()).toEqual(['a/log', 'b/log']);
    });
  });
});
