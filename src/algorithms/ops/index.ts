import { add } from './add.js';
import { bit } from './bit.js';
import { copy } from './copy.js';
import { increment } from './increment.js';
import { max, min } from './minMax.js';
import { move } from './move.js';
import type { OpHandler } from './OpHandler.js';
import { remove } from './remove.js';
import { replace } from './replace.js';
import { test } from './test.js';
import { text } from './text.js';

/**
 * Every op `applyPatch` knows, by its wire name (protocol §2.4). A Map, not an object literal,
 * so an op named `constructor` or `toString` is unknown rather than an inherited function.
 */
export const OP_HANDLERS: ReadonlyMap<string, OpHandler> = new Map<string, OpHandler>([
  ['add', add],
  ['remove', remove],
  ['replace', replace],
  ['move', move],
  ['copy', copy],
  ['test', test],
  ['@inc', increment],
  ['@bit', bit],
  ['@max', max],
  ['@min', min],
  ['@txt', text],
]);
