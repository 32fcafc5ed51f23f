import { CORPUS_DIR, CORPUS_FILES, loadCorpus, runCase, tagsOf, type CorpusCase, type CorpusFile } from '../helpers/transformCorpus.js';
import { enableRichText } from '../../src/txt/enableRichText.js';

/**
 * Conformance with the reference implementation, case for case: every case recorded from
 * @dabble/patches 0.28.1 in `../shared/spec/transform-corpus/` (transformPatch, rebaseChanges and
 * the server's transform of an incoming batch) run through our functions, compared as the
 * corpus README defines it. One test per case, named with its tags; when any fail, the file's
 * last test lists the failures grouped by tag (kinds, rel, scenario).
 */
// @txt goes through quill-delta once enabled, as in an app (`patches-rx/txt`).
beforeAll(enableRichText);

describe(`transform corpus (${CORPUS_DIR})`, () => {
  for (const file of Object.keys(CORPUS_FILES) as CorpusFile[]) {
    describe(`${file}.jsonl`, () => {
      const cases: CorpusCase[] = loadCorpus(file);
      const failed = new Map<string, string[]>();

      it('holds the cases its meta line announces', () => {
        expect(cases.length).toBeGreaterThan(0);
        expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
      });

      it.each(cases.map((c) => [`${c.id} [${tagsOf(c).join(' ')}]`, c] as const))('%s', (_name, c) => {
        const result = runCase(file, c);
        if (!result.ok) for (const tag of tagsOf(c)) failed.set(tag, [...(failed.get(tag) ?? []), c.id]);
        if (result.error !== undefined) throw new Error(`${c.id} threw: ${result.error}`);
        expect(result.actual).toEqual(c.expected);
        expect(result.ok).toBe(true);
      });

      it('reports no failure group', () => {
        const groups = [...failed].sort((a, b) => b[1].length - a[1].length).map(([tag, ids]) => `${tag}: ${ids.length} (${ids.slice(0, 5).join(', ')})`);
        expect(groups).toEqual([]);
      });
    });
  }
});
