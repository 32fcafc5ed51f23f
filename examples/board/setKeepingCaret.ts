/** Sets a text field's value from a remote update, keeping the caret where it was if the user is typing there. */
export function setKeepingCaret(field: HTMLInputElement | HTMLTextAreaElement, value: string): void {
  const focused = document.activeElement === field;
  const start = field.selectionStart ?? value.length;
  const end = field.selectionEnd ?? value.length;
  field.value = value;
  if (focused) field.setSelectionRange(Math.min(start, value.length), Math.min(end, value.length));
}
