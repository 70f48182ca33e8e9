// core/title.js: a document's title from its text.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { TITLE_MAX, titleOf } from '../src/core/title.js';

test('the first heading, ATX or setext, without its marks', () => {
  assert.equal(titleOf('# Team *plan* for 2027 #\n\ntext'), 'Team plan for 2027');
  assert.equal(titleOf('Some intro\n\n## [Budget](https://x.example) 😀\n# Later'), 'Budget 😀');
  assert.equal(titleOf('Notes\n=====\n\n# Not this'), 'Notes');
  assert.equal(titleOf('Minutes `v2`\n---\n'), 'Minutes v2');
});

test('no heading: the first line of text, list and task marks taken off', () => {
  assert.equal(titleOf('\n\n  - [ ] buy **milk**\n- eggs'), 'buy milk');
  assert.equal(titleOf('> quoted first\n'), 'quoted first');
  assert.equal(titleOf(''), '');
  assert.equal(titleOf('\n \n'), '');
});

test('a heading inside a code fence is code, not the title', () => {
  assert.equal(titleOf('```\n# not a heading\n```\n# Real one'), 'Real one');
  assert.equal(titleOf('- one\n---\n'), 'one'); // a list item over a rule is no setext heading
});

test('long titles are clipped by code points, never splitting one', () => {
  const t = titleOf('# ' + '😀'.repeat(200));
  assert.equal(Array.from(t).length, TITLE_MAX);
  assert.ok(t.endsWith('…') && !/[\uD800-\uDBFF]…$/.test(t));
});

test('only the start of a huge document is read', () => {
  const big = 'x'.repeat(70000) + '\n# far down';
  assert.equal(titleOf(big).length, TITLE_MAX); // its first line, clipped: the heading is past the scan
  assert.equal(titleOf('# top\n' + 'y'.repeat(4_000_000)), 'top');
});

test('the titles of tests/vectors/titles/titles.json, which collab/core/title.py gives too', async (t) => {
  const { existsSync, readFileSync } = await import('node:fs');
  const { joined, traceStates } = await import('../../tests/vectors/titles/traces.mjs');
  const vectors = JSON.parse(readFileSync(new URL('../../tests/vectors/titles/titles.json', import.meta.url), 'utf8'));
  for (const { parts, title } of vectors.cases) assert.equal(titleOf(joined(parts)), title, JSON.stringify(parts).slice(0, 80));
  if (!existsSync(new URL('../../../shared/traces', import.meta.url)) && process.env.CI !== 'true') {
    return t.skip('the editing traces (../shared/traces, next to the repository) are missing');
  }
  for (const [name, titles] of Object.entries(vectors.traces)) assert.deepEqual(traceStates(name).map(titleOf), titles, name);
});
