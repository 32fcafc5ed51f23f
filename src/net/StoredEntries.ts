import { EMPTY, Subject, asyncScheduler, catchError, concatMap, defer, from, of, retry, tap, throwError, timer, type Observable, type SchedulerLike } from 'rxjs';
import type { ClientAlgorithm } from '../client/ClientAlgorithm.js';
import type { Patches } from '../client/Patches.js';
import type { SyncedDoc } from '../types.js';
import type { OwnEdits } from './OwnEdits.js';
import type { SyncedDocs } from './SyncedDocs.js';
import { classifyError, steadyRetryDelay } from './errorPolicy.js';

/** What `StoredEntries` needs of the `PatchesSync` it works for. */
export interface StoredEntriesDeps {
  /** The Patches instance whose store is read. */
  patches: Patches;
  /** The status map the entries go into. */
  docs: SyncedDocs;
  /** This tab's edits not yet found gone by a store read. */
  ownEdits: OwnEdits;
  /** Reports an error, through the sync's error policy. */
  report(error: unknown, docId?: string): void;
  /** Scheduler of a failed re-read's retries (`reread$`; default `asyncScheduler`). */
  scheduler?: SchedulerLike | undefined;
}

/**
 * The status entries of `synced$` as the store has them: each doc's committed rev and whether it
 * has pending changes. Reads race with writes (a sync run applying a newer rev, another tab
 * committing, an untrack): what a read found is put only if it cannot be older than what the
 * entry shows.
 *
 * @example
 * const entries = new StoredEntries({ patches, docs, ownEdits, report });
 * await entries.add(['notes']); // docs.value.notes: { committedRev, hasPending, status }
 * entries.rev$('notes').subscribe(); // after a write: the entry's committedRev as stored
 */
export class StoredEntries {
  private readonly unread = new Subject<string>();
  /** Docs whose entry could not be read (`add`, or `rev$`): their entries are to be read again (`reread$`). */
  readonly unread$: Observable<string> = this.unread.asObservable();
  /** Docs named on `unread$` by `add`, which reported the failure: their `reread$` does not again. */
  private readonly reported = new Set<string>();

  constructor(private readonly deps: StoredEntriesDeps) {}

  /**
   * Entries for these docs from the store; `onlyMissing` leaves entries a pass already made alone.
   * A store read settles neither a run under way (`'syncing'`) nor an error: only the doc's next
   * sync run does. A doc untracked meanwhile gets no entry; one whose entry changed while it was
   * read is read again; one whose read failed is reported, left out, and named on `unread$` to
   * be read again (left so, a doc tracked offline whose read failed had no entry in `synced$`
   * until its next edit or connection).
   */
  async add(docIds: string[], { onlyMissing = false } = {}): Promise<void> {
    for (const { docId } of await this.put(docIds, onlyMissing)) {
      if (!this.unread.observed) continue;
      this.reported.add(docId);
      this.unread.next(docId);
    }
  }

  /**
   * The doc's entry read again (`add`) after the store changed under it: another tab wrote it, an
   * edit was saved as nothing, or `rev$` could not read it (`unread$`). A read that fails is reported once and made again with the
   * docs' backoff (`steadyRetryDelay`) until one is made: left out, the entry kept what the store
   * held before (an older rev, `hasPending` false beside another tab's stored edits) until the
   * doc's next write (found by the shared-idb fuzz with store faults). Not after an error
   * retrying cannot fix. Emits once the entry is read.
   */
  reread$(docId: string): Observable<unknown> {
    let tries = this.reported.delete(docId) ? 1 : 0;
    return defer(() => this.put([docId], false, tries++ > 0)).pipe(
      concatMap(failed => (failed.length > 0 ? throwError(() => failed[0].error) : of(undefined))),
      retry({ delay: (error: unknown, count: number) => (classifyError(error) === 'retry' ? timer(steadyRetryDelay(count - 1), this.deps.scheduler ?? asyncScheduler) : throwError(() => error)) }),
      // Reported in `put`.
      catchError(() => EMPTY),
    );
  }

  /** `add`, its failed reads reported unless `quiet`: resolves to their docs and errors. */
  private async put(docIds: string[], onlyMissing: boolean, quiet = false): Promise<{ docId: string; error: unknown }[]> {
    const { patches, docs } = this.deps;
    const failed: { docId: string; error: unknown }[] = [];
    // Every doc's reads at once: a pass over N docs should not wait for 2N store round trips in a row.
    const read = await Promise.all(
      docIds.map(id =>
        this.read(id).catch((error: unknown) => {
          // One doc's failed read must not stall the others (a whole pass used to wait on it).
          if (!quiet) this.deps.report(error, id);
          failed.push({ docId: id, error });
          return undefined;
        }),
      ),
    );
    const entries: Record<string, SyncedDoc> = {};
    const moved: string[] = [];
    for (const doc of read) {
      // Only docs still tracked: an untrack racing these reads must not resurrect an entry.
      if (!doc || patches.getDocAlgorithm(doc.id) === undefined || (onlyMissing && docs.get(doc.id))) continue;
      // The entry changed since its reads began (the doc applied a newer rev, say, while other docs'
      // reads were still on their way): what they found may be older than what it shows.
      if (docs.changesOf(doc.id) !== doc.before) {
        moved.push(doc.id);
        continue;
      }
      // The seed's rule (rev 0: 'unsynced') is for a doc's first entry: one already 'synced' here
      // (a run settled it, or a disconnect did for its local edits) is not shown "never synced" again.
      const kept = docs.get(doc.id)?.status;
      const status = kept !== undefined && kept !== 'unsynced' ? kept : doc.committedRev === 0 ? 'unsynced' : 'synced';
      entries[doc.id] = { committedRev: doc.committedRev, hasPending: doc.hasPending, status };
    }
    docs.put(entries);
    if (moved.length > 0) failed.push(...(await this.put(moved, onlyMissing, quiet)));
    return failed;
  }

  /**
   * Reports the doc's committed rev (from the store) in its status entry; read again if the entry
   * changed during the read, which may then be older than what the entry shows. A read that fails
   * fails the caller's run as before, and names the doc on `unread$`, whose entry is read again
   * (`reread$`): the run's retry finds the store at the rev the server has, and pulls nothing that
   * would report it (found by the shared-idb fuzz with store faults: an entry at rev 0 'synced',
   * the store and the server at 2).
   */
  rev$(docId: string): Observable<unknown> {
    const { docs, patches } = this.deps;
    return defer(() => {
      const before = docs.changesOf(docId);
      return from(patches.store.getCommittedRev(docId)).pipe(
        tap({ error: () => this.unread.next(docId) }),
        concatMap(committedRev => {
          if (docs.changesOf(docId) !== before) return this.rev$(docId);
          docs.update([docId], { committedRev });
          return EMPTY;
        }),
      );
    });
  }

  /** Whether the doc has pending changes, read until `OwnEdits` can count the answer (an edit announced during a read that found nothing needs another). */
  async hasPending(docId: string, algorithm: ClientAlgorithm): Promise<boolean> {
    const counts = this.deps.ownEdits.read(docId);
    const hasPending = await algorithm.hasPending(docId);
    return counts(hasPending) ? hasPending : this.hasPending(docId, algorithm);
  }

  /** One doc's reads, with the entry's change count before them; undefined when it has no algorithm. */
  private async read(id: string): Promise<{ id: string; committedRev: number; hasPending: boolean; before: number } | undefined> {
    const { patches, docs } = this.deps;
    const name = patches.getDocAlgorithm(id);
    if (!name) return undefined;
    const before = docs.changesOf(id);
    // Pending first, then the rev: a commit clears the one and moves the other in one write, so a
    // rev read before a pending read that found the commit done would show "nothing pending" at
    // a rev without it (another tab committing between the two reads).
    const hasPending = await this.hasPending(id, patches.algorithms[name]);
    const committedRev = await patches.store.getCommittedRev(id);
    return { id, committedRev, hasPending, before };
  }
}
