// core/previewpart.js: the part of a long document the preview shows.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { previewPart } from '../src/core/previewpart.js';

const sliceOf = (text) => (a, b) => text.slice(a, b);

test('a document within the limit is shown whole', () => {
  assert.equal(previewPart(10, sliceOf('short text'), 3, 100), null);
});

test('a long one: about the limit around the cursor, cut at blank lines, lines counted', () => {
  const paras = Array.from({ length: 400 }, (_, i) => `Paragraph ${i}\nits second line`);
  const text = paras.join('\n\n');
  const at = text.indexOf('Paragraph 200');
  const part = previewPart(text.length, sliceOf(text), at, 2000);
  assert.ok(part.from <= at && at < part.to);
  assert.ok(part.text.startsWith('Paragraph '), part.text.slice(0, 20)); // at a paragraph's start
  assert.ok(text.slice(part.to).startsWith('\n\n') || part.to === text.length);
  assert.equal(part.text, text.slice(part.from, part.to));
  assert.equal(part.lineOffset, text.slice(0, part.from).split('\n').length - 1);
  assert.ok(part.to - part.from < 2000 + 100);
});

test('never starting inside a fenced code block', () => {
  const code = '```js\n' + 'let x = 1;\n\n'.repeat(300) + '```\n';
  const text = 'intro\n\n' + code + '\n\nafter\n\n' + 'more text\n\n'.repeat(300);
  const at = text.indexOf('let x', 2000);
  const part = previewPart(text.length, sliceOf(text), at, 1000);
  assert.ok(part.text.startsWith('```js'), part.text.slice(0, 20));
});
