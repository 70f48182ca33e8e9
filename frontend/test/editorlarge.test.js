// editorlarge.js: which texts turn Markdown highlighting off (a paragraph over LONG_PARAGRAPH units).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { LONG_PARAGRAPH, hasLongParagraph } from '../src/editorlarge.js';

test('only a paragraph longer than LONG_PARAGRAPH, wherever it is, counts', () => {
  const para = (n) => 'x'.repeat(n);
  assert.equal(hasLongParagraph(''), false);
  assert.equal(hasLongParagraph(para(LONG_PARAGRAPH)), false);
  assert.equal(hasLongParagraph(para(LONG_PARAGRAPH + 1)), true);
  // many ordinary paragraphs, however long the text
  assert.equal(hasLongParagraph(Array(100).fill(para(LONG_PARAGRAPH / 2)).join('\n\n')), false);
  // lines without a blank one between them are one paragraph
  assert.equal(hasLongParagraph(Array(30).fill(para(LONG_PARAGRAPH / 20)).join('\n')), true);
  assert.equal(hasLongParagraph('# title\n\n' + para(LONG_PARAGRAPH + 1)), true);
  assert.equal(hasLongParagraph(para(LONG_PARAGRAPH + 1) + '\n\nend'), true);
});
