/** The settings panel: the LWW doc's board name and theme, edited field by field. */
import type { PatchesDoc } from 'patches-rx';
import type { Settings } from './docs.js';
import { setKeepingCaret } from './setKeepingCaret.js';

/** Wires the settings panel inside `root` to `doc`; returns a function that renders a state. */
export function settingsView(root: HTMLElement, doc: PatchesDoc<Settings>): (settings: Settings) => void {
  const name = root.querySelector<HTMLInputElement>('input[name="name"]')!;
  const themes = Array.from(root.querySelectorAll<HTMLInputElement>('input[name="theme"]'));
  name.addEventListener('input', () =>
    doc.change(draft => {
      draft.name = name.value;
    }),
  );
  for (const radio of themes) {
    radio.addEventListener('change', () =>
      doc.change(draft => {
        draft.theme = radio.value === 'dark' ? 'dark' : 'light';
      }),
    );
  }
  return settings => {
    if (name.value !== (settings.name ?? '')) setKeepingCaret(name, settings.name ?? '');
    const theme = settings.theme ?? 'light';
    for (const radio of themes) radio.checked = radio.value === theme;
    document.documentElement.dataset.theme = theme;
    document.querySelector('.board-name')!.textContent = settings.name || 'Untitled board';
  };
}
