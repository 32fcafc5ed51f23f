import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { applyPatch } from '../../src/algorithms/applyPatch.js';
import { PatchError } from '../../src/errors.js';
import type { JSONPatchOp } from '../../src/types.js';

/** One record of the json-patch-test-suite files (see the package README). */
interface SuiteCase {
  doc?: unknown;
  patch?: JSONPatchOp[];
  expected?: unknown;
  error?: string;
  comment?: string;
  disabled?: boolean;
}

/**
 * The cases where protocol.md §2.4 deliberately differs from RFC 6902, keyed by `file#index`.
 * `comment` pins the case (a new suite version that shifts indexes fails loudly instead of
 * silently exempting another case); `expected` is what our semantics produce instead.
 */
const EXCEPTIONS: Record<string, { comment: string; reason: string; expected: unknown }> = {
  'tests.json#62': {
    comment: "test remove with bad number should fail",
    reason: 'remove under a parent that does not exist ("1e0" names no element) is a silent no-op',
    expected: { foo: 1, baz: [{ qux: 'hello' }] },
  },
  'spec_tests.json#0': {
    comment: '4.1. add with missing object',
    reason: 'add creates missing parents',
    expected: { q: { bar: 2 }, a: { b: 1 } },
  },
  'spec_tests.json#12': {
    comment: 'A.12.  Adding to a Non-existent Target',
    reason: 'add creates missing parents',
    expected: { foo: 'bar', baz: { bat: 'qux' } },
  },
};

const suiteDir = createRequire(__filename).resolve('json-patch-test-suite/package.json').replace(/package\.json$/, '');
const load = (file: string): SuiteCase[] => JSON.parse(readFileSync(suiteDir + file, 'utf8')) as SuiteCase[];

describe('JSON Patch conformance (json-patch-test-suite)', () => {
  for (const file of ['tests.json', 'spec_tests.json']) {
    describe(file, () => {
      load(file).forEach((testCase, index) => {
        const key = `${file}#${index}`;
        const title = `${key}: ${testCase.comment ?? JSON.stringify(testCase.patch)}`;
        if (testCase.patch === undefined) return; // comment-only record
        const patch = testCase.patch;
        // The suite's convention: disabled cases are not run.
        const run = testCase.disabled ? it.skip : it;
        const exception = EXCEPTIONS[key];

        if (exception) {
          run(`${title} (protocol exception: ${exception.reason})`, () => {
            expect(testCase.comment).toBe(exception.comment);
            expect(applyPatch(testCase.doc, patch)).toStrictEqual(exception.expected);
          });
        } else if (testCase.error !== undefined) {
          run(`${title} should fail with a PatchError (${testCase.error})`, () => {
            expect(() => applyPatch(testCase.doc, patch)).toThrow(PatchError);
          });
        } else if ('expected' in testCase) {
          run(`${title} should produce the expected document`, () => {
            expect(applyPatch(testCase.doc, patch)).toStrictEqual(testCase.expected);
          });
        } else {
          // Neither expected nor error: the patch must simply apply (these are all tests).
          run(`${title} should apply without error`, () => {
            expect(applyPatch(testCase.doc, patch)).toStrictEqual(testCase.doc);
          });
        }
      });
    });
  }

  it('should list only exceptions that exist in the suite', () => {
    for (const key of Object.keys(EXCEPTIONS)) {
      const [file, index] = key.split('#');
      expect(load(file)[Number(index)]?.comment).toBe(EXCEPTIONS[key].comment);
    }
  });
});
