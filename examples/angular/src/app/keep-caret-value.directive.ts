import { Directive, ElementRef, Input, inject } from '@angular/core';
import { setKeepingCaret } from '../../../board/setKeepingCaret';

/**
 * `[keepCaretValue]="text"` on an `<input>` or `<textarea>`: binds its value like `[value]`, but a
 * remote edit keeps the caret of a user typing there beside the same characters. A plain `[value]`
 * binding writes `value`, which puts the caret at the end of the field. The vanilla demo's
 * `setKeepingCaret` does the write, so both apps move the caret by the same rule.
 */
@Directive({ selector: 'input[keepCaretValue], textarea[keepCaretValue]' })
export class KeepCaretValueDirective {
  private readonly field = inject<ElementRef<HTMLInputElement | HTMLTextAreaElement>>(ElementRef).nativeElement;

  /** The value to show. */
  @Input({ required: true })
  set keepCaretValue(value: string) {
    setKeepingCaret(this.field, value);
  }
}
