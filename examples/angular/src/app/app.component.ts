import { AsyncPipe } from '@angular/common';
import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { toSignal } from '@angular/core/rxjs-interop';
import { createId, type PatchesDoc, type PatchesSyncState, type SyncedDoc } from 'patches-rx';
import { from } from 'rxjs';
import { BOARD_ID, SETTINGS_ID, orderAt, sortedCards, type Board, type Settings } from '../../../board/docs';
import { connectionLabels, saveLabel, trackedEntry } from '../../../board/labels';
import { KeepCaretValueDirective } from './keep-caret-value.directive';
import { PatchesService } from './patches.service';

/**
 * The demo board in Angular: the same two documents as the vanilla demo (so both apps edit one
 * board), bound with the async pipe to `sync.state$`, `sync.synced$` and each doc's `state$`.
 */
@Component({
  selector: 'app-root',
  imports: [AsyncPipe, KeepCaretValueDirective],
  changeDetection: ChangeDetectionStrategy.OnPush,
  styles: `
    :host { display: block; font: 15px/1.45 system-ui, sans-serif; margin: 24px; color: #1d2330; }
    header { display: flex; justify-content: space-between; align-items: center; gap: 12px; flex-wrap: wrap; }
    h1 { font-size: 20px; margin: 0; }
    .badge { padding: 2px 8px; margin-left: 6px; border: 1px solid #d9dde5; border-radius: 999px; font-size: 13px; }
    section { border: 1px solid #d9dde5; border-radius: 10px; padding: 16px; margin-top: 16px; max-width: 720px; }
    .title { display: flex; justify-content: space-between; align-items: baseline; }
    .save { font-size: 12px; color: #667085; }
    ol { padding-left: 20px; }
    li { margin: 6px 0; }
    input { font: inherit; padding: 4px 8px; }
    .errors { color: #c0362c; }
    .hint { color: #667085; font-size: 13px; }
  `,
  template: `
    @if (sync.state$ | async; as state) {
      <header>
        <h1>patches-rx board <small>(Angular)</small></h1>
        <div id="connection">
          @let labels = connection(state);
          <span class="badge online" [attr.data-state]="labels.online">{{ labels.online }}</span>
          <span class="badge connected" [attr.data-state]="labels.connected">{{ labels.connected }}</span>
          <span class="badge syncing" [attr.data-state]="labels.syncing">{{ labels.syncing }}</span>
        </div>
      </header>
    }
    @if (service.errors$ | async; as errors) {
      <ul class="errors" id="errors">
        @for (error of errors; track $index) {
          <li><span>{{ error }}</span></li>
        }
      </ul>
    }
    @let synced = sync.synced$ | async;
    @if (docs$ | async; as docs) {
    @let board = docs[0];
    @let settings = docs[1];
    @if (board.state$ | async; as state) {
      <section id="board">
        <div class="title">
          <h2>Cards</h2>
          @let boardSave = save(synced, board);
          <span class="save" id="save-board" [attr.data-state]="boardSave">{{ boardSave }}</span>
        </div>
        <ol class="cards">
          @for (card of cards(state); track card.id) {
            <li class="card">
              <input aria-label="Card text" [keepCaretValue]="card.text" (input)="setText(board, card.id, $any($event.target).value)" />
            </li>
          }
        </ol>
        <form (submit)="$event.preventDefault(); add(board, text.value); text.value = ''">
          <input #text aria-label="New card" placeholder="New card" />
          <button type="submit">Add</button>
        </form>
      </section>
    }
    @if (settings.state$ | async; as state) {
      <section id="settings">
        <div class="title">
          <h2>Settings</h2>
          @let settingsSave = save(synced, settings);
          <span class="save" id="save-settings" [attr.data-state]="settingsSave">{{ settingsSave }}</span>
        </div>
        <label>Board name <input name="name" [keepCaretValue]="state.name ?? ''" (input)="rename(settings, $any($event.target).value)" /></label>
        <p class="theme">Theme: {{ state.theme ?? 'light' }}</p>
      </section>
    }
    }
    <p class="hint">{{ state().connected ? 'Edits reach the server as you type.' : 'Edits are kept in this browser until the server is back.' }}</p>
  `,
})
export class AppComponent {
  protected readonly service = inject(PatchesService);
  protected readonly sync = this.service.sync;
  /** The two docs, opened from IndexedDB (no server round trip needed to show them). */
  protected readonly docs$ = from(Promise.all([this.service.open<Board>(BOARD_ID), this.service.open<Settings>(SETTINGS_ID, 'lww')]));
  protected readonly cards = sortedCards;
  /** The same state as a signal: `state$` replays its current value, so `requireSync` holds. */
  protected readonly state = toSignal(this.sync.state$, { requireSync: true });

  protected connection(state: PatchesSyncState): ReturnType<typeof connectionLabels> {
    return connectionLabels(state, false);
  }

  protected save(synced: Readonly<Record<string, SyncedDoc>> | null, doc: { id: string; committedRev: number; hasPending: boolean }): string {
    return saveLabel(synced?.[doc.id] ?? trackedEntry(doc));
  }

  protected add(board: PatchesDoc<Board>, text: string): void {
    if (!text.trim()) return;
    board.change(draft => {
      const cards = sortedCards(draft);
      draft[createId()] = { text: text.trim(), order: orderAt(cards, cards.length) };
    });
  }

  protected setText(board: PatchesDoc<Board>, id: string, text: string): void {
    board.change(draft => {
      const card = draft[id];
      if (card) card.text = text;
    });
  }

  protected rename(settings: PatchesDoc<Settings>, name: string): void {
    settings.change(draft => {
      draft.name = name;
    });
  }
}
