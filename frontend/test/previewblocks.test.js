// core/previewblocks.js with the preview's own markdown-it (previewmd.js): rendered block by
// block, the preview is what a whole render gives, for random edits of a real document (a
// blog post in Markdown from josephg/editing-traces, CC BY 4.0, Joseph Gentle) and along its
// real editing history; and a block whose text did not change keeps its nodes.
//
// The host here holds nodes in a list, as the page's preview element holds DOM nodes (this
// test runs without a DOM): a node is {html}, so the list's HTML is what the page would show
// before DOMPurify (which treats every block alike). tests/browser/test_preview_blocks.py does
// the same in Chromium with DOM nodes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

import { splitBlocks, updateBlocks, wholeOnly } from '../src/core/previewblocks.js';
import { renderBlockHtml, renderHtml } from '../src/previewmd.js';
import { mulberry32 } from './helpers.js';

const TRACES = new URL('../../../shared/traces/', import.meta.url);

/** A list of nodes with the preview element's three operations. */
function listHost() {
  const nodes = [];
  return {
    nodes,
    insert(add, before) {
      const at = before ? nodes.indexOf(before[0]) : nodes.length;
      assert.ok(at >= 0, 'inserted before a node that is shown');
      nodes.splice(at, 0, ...add);
    },
    remove(gone) {
      for (const n of gone) {
        const at = nodes.indexOf(n);
        assert.ok(at >= 0, 'removed a node that is shown');
        nodes.splice(at, 1);
      }
    },
    shiftLines(some, by) {
      for (const n of some) n.html = n.html.replace(/data-line="(\d+)"/g, (_, v) => `data-line="${Number(v) + by}"`);
    },
    html: () => nodes.map((n) => n.html).join(''),
  };
}

const renderBlock = (text, env) => {
  const { html, headings } = renderBlockHtml(text, env);
  return { nodes: [{ html }], headings, lines: html.includes('data-line=') };
};

function trace(name) {
  const file = new URL(name, TRACES);
  return existsSync(file) ? JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) : null;
}

/** A text edited as a trace's patch says ([position, deleted, inserted]; positions are code
 *  points, UTF-16 units here: the post has no character beyond the BMP, which the test checks). */
function applyPatch(text, [pos, del, ins]) {
  return text.slice(0, pos) + ins + text.slice(pos + del);
}

// what a person types that changes Markdown's blocks: blank lines, fences, list markers, headings
const PIECES = ['\n\n', '\n', '```', '```js\n', '~~~', '- ', '1. ', '  ', '    ', '# ', '## Intro\n', 'word ', '> ', '|a|b|\n|-|-|\n', '* [ ] task\n', 'x'];

function randomEdit(rng, text) {
  const at = Math.floor(rng() * (text.length + 1));
  if (text.length && rng() < 0.35) return text.slice(0, at) + text.slice(Math.min(text.length, at + 1 + Math.floor(rng() * 40)));
  return text.slice(0, at) + PIECES[Math.floor(rng() * PIECES.length)] + text.slice(at);
}

test('random edits of a real document: block by block is what a whole render gives', { skip: !trace('seph-blog1.json.gz') && 'no traces' }, () => {
  const rng = mulberry32(15);
  let text = trace('seph-blog1.json.gz').endContent;
  assert.ok(wholeOnly(text) === null && splitBlocks(text), 'the blog post is one the preview renders by blocks');
  const host = listHost();
  let entries = null;
  let checked = 0;
  for (let step = 0; step < 250; step++) {
    text = randomEdit(rng, text);
    if (wholeOnly(text) || !splitBlocks(text)) continue; // (an edit made, say, a footnote: rendered whole, not by this)
    const offset = step % 7 === 0 ? 12 : 0; // a part of a long document starts further down
    if (step % 7 === 0 || step % 7 === 1) entries = null; // from nothing, as after a whole render
    if (entries === null) host.nodes.length = 0;
    ({ entries } = updateBlocks(entries, text, renderBlock, host, offset));
    assert.equal(host.html(), renderHtml(text, { lineOffset: offset }), `step ${step}`);
    checked++;
  }
  assert.ok(checked > 120, checked);
});

// what tends to cross a blank line in Markdown, as lines to shuffle into documents
const TRICKY = [
  '- a', '- b', '  continued', '1. one', '2) two', '10. ten', '* [ ] task', '    indented code', '\t tabbed',
  '```', '````', '~~~', '```js', '~~~~ x', '``` a`b', 'code line', '> quote', '>', '> - in a quote',
  '# Intro', '## Intro', 'Intro', '===', '---', '***', '| a | b |', '|---|---|', '| 1 | 2 |',
  '<div>', '</div>', '<span>inline</span>', '<span class=x>', '  ```', '   ~~~', '  - nested', '  code in an item', 'text with `code` and *stars*', '', '', '', '   ', 'plain words',
];

test('shuffled lines of what crosses blank lines: block by block is what a whole render gives', () => {
  const rng = mulberry32(1515);
  const host = listHost();
  let entries = null;
  let text = '';
  let whole = 0; // texts rendered whole (wholeOnly, or splitBlocks found a cut it could not be sure of)
  for (let step = 0; step < 3000; step++) {
    if (step % 40 === 0) {
      text = Array.from({ length: 30 }, () => TRICKY[Math.floor(rng() * TRICKY.length)]).join('\n');
    } else {
      const lines = text.split('\n');
      const at = Math.floor(rng() * (lines.length + 1));
      if (lines.length > 1 && rng() < 0.4) lines.splice(at, 1);
      else lines.splice(at, 0, TRICKY[Math.floor(rng() * TRICKY.length)]);
      text = lines.join('\n');
    }
    if (wholeOnly(text) || !splitBlocks(text)) {
      whole++;
      continue;
    }
    ({ entries } = updateBlocks(entries, text, renderBlock, host));
    assert.equal(host.html(), renderHtml(text), JSON.stringify(text));
  }
  assert.ok(whole < 2000, `${whole} of 3000 rendered whole`);
});

test('along the real history of the post, sampled, it is the whole render too', { skip: !trace('seph-blog1.json.gz') && 'no traces' }, () => {
  const { startContent, endContent, txns } = trace('seph-blog1.json.gz');
  assert.equal(endContent.length, [...endContent].length, 'no astral characters: code points are UTF-16 units');
  let text = startContent;
  const host = listHost();
  let entries = null;
  for (let i = 0; i < txns.length; i++) {
    for (const p of txns[i].patches) text = applyPatch(text, p);
    if (i % 500 !== 0 && i !== txns.length - 1) continue;
    if (wholeOnly(text) || !splitBlocks(text)) continue;
    ({ entries } = updateBlocks(entries, text, renderBlock, host));
    assert.equal(host.html(), renderHtml(text), `transaction ${i}`);
  }
  assert.equal(text, endContent);
});

test('a keystroke renders its block only: the others keep their nodes', { skip: !trace('seph-blog1.json.gz') && 'no traces' }, () => {
  const text = trace('seph-blog1.json.gz').endContent;
  const host = listHost();
  let { entries, rendered } = updateBlocks(null, text, renderBlock, host);
  assert.equal(rendered, splitBlocks(text).length);
  const before = [...host.nodes];
  const at = text.indexOf('A few years ago');
  const typed = text.slice(0, at) + 'Hello. ' + text.slice(at);
  ({ entries, rendered } = updateBlocks(entries, typed, renderBlock, host));
  assert.equal(rendered, 1);
  const changed = host.nodes.filter((n) => !before.includes(n));
  assert.equal(changed.length, 1);
  assert.ok(changed[0].html.startsWith('<p>Hello. A few years ago'));
  assert.equal(host.nodes.length, before.length);
  // a new line above moves the list items' source lines below, and keeps their nodes
  const lines = text.slice(0, at) + 'One\nTwo\n' + text.slice(at);
  ({ entries, rendered } = updateBlocks(entries, lines, renderBlock, host));
  assert.equal(rendered, 1);
  assert.equal(host.html(), renderHtml(lines));
  assert.equal(host.nodes.filter((n) => !before.includes(n)).length, 1);
});

test('a heading of the same text above renumbers the ids below, and only their blocks render again', () => {
  const text = '# Intro\n\npara\n\n# Notes\n\nmore\n\n# Intro\n\nend';
  const host = listHost();
  let { entries } = updateBlocks(null, text, renderBlock, host);
  const edited = text.replace('# Notes', '# Intro');
  let rendered;
  ({ entries, rendered } = updateBlocks(entries, edited, renderBlock, host));
  assert.equal(host.html(), renderHtml(edited));
  assert.match(host.html(), /md-intro-2/);
  assert.equal(rendered, 2); // the edited heading, and the last one, now intro-2
});

test('cuts: never inside a fence, nor before what continues a list or indented code', () => {
  const cuts = (t) => splitBlocks(t).map((b) => b.text);
  assert.deepEqual(cuts('a\n\nb'), ['a\n', 'b']);
  assert.deepEqual(cuts('```\nx\n\ny\n```\n\nz\n'), ['```\nx\n\ny\n```\n', 'z\n']);
  assert.deepEqual(cuts('````\n```\n\nstill\n````\nz'), ['````\n```\n\nstill\n````\nz']);
  assert.deepEqual(cuts('``` a`b\n\nc'), ['``` a`b\n', 'c'], 'not a fence: inline code');
  assert.deepEqual(cuts('- a\n\n- b\n\n  more\n\nafter'), ['- a\n\n- b\n\n  more\n', 'after']);
  assert.deepEqual(cuts('    code\n\n    code'), ['    code\n\n    code']);
  assert.deepEqual(splitBlocks('\n\n# t\n\n\nx').map((b) => b.line), [2, 5]);
  for (const t of ['a [x]: /u', 'see [^1]\n\n[^1]: note', '[[toc]]', '$$\nx\n\ny\n$$', '```mermaid\ngraph TD\n```', '<pre>\n\n</pre>', '<!--\n\n-->'])
    assert.ok(wholeOnly(t + '\n[y]: /z') || wholeOnly(t), t);
  assert.equal(wholeOnly('plain *text* with `code` and <span>html</span>'), null);
  // raw HTML that leaves an element open around the blocks below: the browser nests them in it
  assert.deepEqual(cuts('<footer>\n\n[a](/b)\n\n</footer>\n\nafter'), ['<footer>\n\n[a](/b)\n\n</footer>\n', 'after']);
  assert.deepEqual(cuts('a <em>b\n\nc</em>'), ['a <em>b\n\nc</em>']);
  assert.equal(splitBlocks('a </em>\n\nb'), null, 'closes what it did not open');
  assert.ok(splitBlocks('<details><summary>s</summary>x</details>\n\n`Vec<T>` and <br> and <img src=x>\n\n```rust\nlet v: Vec<Span>;\n```'));
});
