// CodeMirror's search: find and replace (Ctrl+F), go to line, the selected word's other
// occurrences. Loaded by editor.js just after the editor shows, not with it: ~8 KB gzipped that
// the first load (tests/test_bundle.py's budget) does without.

import { highlightSelectionMatches, search, searchKeymap } from '@codemirror/search';
import { keymap } from '@codemirror/view';

export { searchKeymap };

/** The extensions editor.js puts in its search compartment. */
export const searchSupport = () => [search({ top: true }), highlightSelectionMatches(), keymap.of(searchKeymap)];
