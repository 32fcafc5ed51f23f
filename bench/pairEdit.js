// The edits two clients make in the paired sync benches (bench/sync.js, bench/compression.js,
// bench/browserSyncPage.js), so all measure the same changes.

/** The change that creates the pair's doc, as a `doc.change()` callback: what `edit` then writes into. */
export function seed(algorithm) {
  return draft => {
    if (algorithm === 'ot') {
      draft.items = [];
      draft.fields = {};
    } else {
      draft.created = true;
    }
  };
}

/**
 * One edit of client `who` (its `i`-th), as a `doc.change()` callback: OT appends to a shared list
 * or sets a field; LWW sets a field, a tenth of them contested.
 */
export function edit(algorithm, who, i) {
  if (algorithm === 'ot') {
    return draft => {
      if (i % 2 === 0) draft.items.push(`${who}${i}`);
      else draft.fields[`${who}${i % 50}`] = i;
    };
  }
  return draft => {
    if (i % 10 === 0) draft[`shared${i % 7}`] = `${who}${i}`;
    else draft[`${who}${i % 100}`] = i;
  };
}
