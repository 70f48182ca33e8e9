// Loaded only for a long text (editor.js): whether it holds a paragraph so long that lezer's
// Markdown parse, which re-parses a changed paragraph whole, would make each keystroke in it
// cost hundreds of ms (a log or a dump without blank lines: 620-700 ms a key in a 1 MB one,
// tests/browser/test_large.py). Then highlighting goes off for this page, and the page says so
// (body's data-large, the status's tooltip). Documents of ordinary paragraphs keep it at any
// size (docs/performance.md, "Big documents").

/** Units of one paragraph (text between blank lines) above which highlighting goes off. */
export const LONG_PARAGRAPH = 100_000;

/** Whether `text` has a paragraph longer than LONG_PARAGRAPH units. */
export function hasLongParagraph(text) {
  let from = 0;
  for (;;) {
    const blank = text.indexOf('\n\n', from);
    const end = blank < 0 ? text.length : blank;
    if (end - from > LONG_PARAGRAPH) return true;
    if (blank < 0) return false;
    from = blank + 2;
  }
}

/** If `text` has such a paragraph: highlighting off in `view` (its `language` compartment,
 * marked `off` so that editor.js does not turn it on again), and the page says so. */
export function check(view, language, text) {
  if (!hasLongParagraph(text)) return;
  language.off = true;
  view.dispatch({ effects: language.reconfigure([]) });
  document.body.dataset.large = 'true';
  const status = document.getElementById('status');
  if (status) status.title = 'A very long paragraph: Markdown highlighting is off to keep typing fast';
}
