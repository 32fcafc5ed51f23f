import { caretAfterEdit } from './caretAfterEdit.js';

/**
 * Sets a text field's value from a remote update, keeping the caret (or selection) of a user typing
 * there beside the same characters: an edit before it shifts it, one after it leaves it alone.
 * Shared with the Angular example's `keepCaretValue` directive.
 */
export function setKeepingCaret(field: HTMLInputElement | HTMLTextAreaElement, value: string): void {
  const before = field.value;
  if (before === value) return;
  const focused = document.activeElement === field;
  const { selectionStart, selectionEnd, selectionDirection } = field;
  field.value = value;
  if (!focused || selectionStart === null || selectionEnd === null) return;
  field.setSelectionRange(caretAfterEdit(before, value, selectionStart), caretAfterEdit(before, value, selectionEnd), selectionDirection ?? undefined);
}
