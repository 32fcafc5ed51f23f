import { Injectable, InjectionToken, inject, type OnDestroy } from '@angular/core';
import { IndexedDBStore, NetworkError, Patches, PatchesSync, type Algorithm, type PatchesDoc } from 'patches-rx';
import { filter, map, scan, startWith, type Observable } from 'rxjs';

/** The WebSocket URL of the patches-rx server. */
export const PATCHES_URL = new InjectionToken<string>('PATCHES_URL');

/**
 * patches-rx for Angular: one `Patches` (on IndexedDB) and one `PatchesSync`, app-wide, connected
 * on first use. Components bind the library's own observables with the async pipe (`state$`,
 * `synced$` and `doc.state$` replay their current value) or turn them into signals with `toSignal`.
 */
@Injectable({ providedIn: 'root' })
export class PatchesService implements OnDestroy {
  readonly patches = new Patches({ store: new IndexedDBStore('patches-rx-angular') });
  readonly sync = new PatchesSync(this.patches, inject(PATCHES_URL));
  /**
   * Every error reported (`sync.error$` carries the store's too), newest first, as `docId: name:
   * message`. An unreachable server is connection state (`state$`), so it is left out.
   */
  readonly errors$: Observable<string[]> = this.sync.error$.pipe(
    filter(({ error, docId }) => !(error instanceof NetworkError && !docId)),
    map(({ error, docId }) => `${docId ?? 'server'}: ${error.name}: ${error.message}`),
    scan((all: string[], line: string) => [line, ...all], [] as string[]),
    startWith([] as string[]),
  );

  constructor() {
    // A failed first attempt is reported on error$ and retried in the background.
    this.sync.connect().catch(() => undefined);
  }

  /** Opens a doc (from IndexedDB first; the server catches it up). */
  open<T extends object>(docId: string, algorithm?: Algorithm): Promise<PatchesDoc<T>> {
    return this.patches.openDoc<T>(docId, { algorithm });
  }

  ngOnDestroy(): void {
    this.sync.destroy();
  }
}
