/**
 * Where a caret offset goes when a field's text changes under it from `before` to `after`.
 *
 * A remote edit replaces one stretch of the text: what lies between the longest common prefix and
 * the longest common suffix of the two values. A caret before that stretch keeps its offset; one
 * after it moves by as many characters as the text grew or shrank, so it stays after the same
 * characters; one inside it (its text is gone) is clamped into the new stretch. An insertion exactly
 * at the caret lands after it. Where the text repeats ("aa" → "aaa") the stretch is ambiguous and the
 * earliest reading wins: a diff of two strings cannot tell which of equal characters was typed.
 *
 * ## Example
 * ```ts
 * caretAfterEdit('hello world', 'XXhello world', 5); // 7: still after "hello"
 * ```
 *
 * @param before the field's value the caret was placed in
 * @param after the value replacing it
 * @param offset the caret (a selection end) in `before`, 0 to `before.length`
 * @return the offset in `after`
 */
export function caretAfterEdit(before: string, after: string, offset: number): number {
  const shorter = Math.min(before.length, after.length);
  let prefix = 0;
  while (prefix < shorter && before[prefix] === after[prefix]) prefix++;
  // The suffix may not overlap the prefix, or a repeated character would be counted twice.
  let suffix = 0;
  while (suffix < shorter - prefix && before[before.length - 1 - suffix] === after[after.length - 1 - suffix]) suffix++;
  if (offset <= prefix) return offset;
  if (offset >= before.length - suffix) return offset + after.length - before.length;
  return Math.min(offset, after.length - suffix);
}
