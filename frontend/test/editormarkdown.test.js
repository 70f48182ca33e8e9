// editormarkdown.js. The editor's Markdown parse with its fragments cut into pieces gives the
// tree a whole parse gives, after random edits of texts holding every kind of block (lists that
// go on after blank lines, fences, indented code, quotes, HTML, setext headings, tables), with
// and without code blocks parsed in their languages, and through CodeMirror's own incremental
// parse; and it makes a keystroke's new tree share all but a few of the last one's nodes. The
// highlighting of a range from the tree around it is the highlighting from the whole tree.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { EditorState } from '@codemirror/state';
import { LanguageSupport, ensureSyntaxTree } from '@codemirror/language';
import { markdownLanguage } from '@codemirror/lang-markdown';
import { Tree, TreeFragment } from '@lezer/common';
import { parseCode } from '@lezer/markdown';
import { parser as pythonParser } from '@lezer/python';
import { classHighlighter, highlightTree } from '@lezer/highlight';

import { FIRST_PIECE, PiecewiseParser, cutFragments, markdownOf, treeAround } from '../src/editormarkdown.js';
import { mulberry32, pick } from './helpers.js';

const BLOCKS = [
  (r) => `${'#'.repeat(1 + Math.floor(r() * 3))} Heading ${Math.floor(r() * 1e4)}\n`,
  () => 'A paragraph with **bold**, _it_, `code`, [a link](https://example.com) and 漢字 😀.\nIt goes on.\n',
  () => 'Setext heading\n===\n',
  () => '- one\n- two\n\n- three, loose\n\n  still three\n',
  () => '1. first\n2. second\n   - nested\n',
  () => '```python\ndef f(x):\n\n    return x  # a blank line inside\n```\n',
  () => '~~~\nplain fence\n~~~\n',
  () => '    indented code\n\n    goes on after a blank line\n',
  () => '> quoted\n> more\nlazy line\n',
  () => '<div>\nhtml block\n</div>\n',
  () => '<!--\ncomment\n\nwith a blank line\n-->\n',
  () => '| a | b |\n|---|---|\n| 1 | 2 |\n',
  () => '[ref]: https://example.com "title"\n',
  () => '***\n',
];
const INSERTS = ['x', ' ', '\n', '\n\n', '```', '~~~', '- ', '1. ', '    ', '> ', '# ', '===', '<div>', '-->', '*', '`', '|', '[', ']'];

/** A text of `n` random blocks, separated by blank lines or not. */
function markdownText(r, n) {
  let out = '';
  for (let i = 0; i < n; i++) out += pick(r, BLOCKS)(r) + (r() < 0.8 ? '\n' : '');
  return out;
}

/** Every named node of `tree` (nested languages' too) as "name from to", in order. */
function nodes(tree) {
  const out = [];
  tree.iterate({ enter: (n) => void out.push(`${n.name} ${n.from} ${n.to}`) });
  return out;
}

/** One random edit of `text`: {from, to, insert}. */
function randomEdit(r, text) {
  const from = Math.floor(r() * (text.length + 1));
  if (r() < 0.3) return { from, to: Math.min(text.length, from + Math.floor(r() * 40)), insert: '' };
  return { from, to: from, insert: pick(r, INSERTS) };
}

/** `edits` random edits, each parsed incrementally from the last tree as CodeMirror does
 *  (its fragments, the change applied to them), compared with a whole parse. lezer's own
 *  incremental parse misses now and then (a paragraph reused whole when a table's delimiter
 *  row two lines below it was edited): there the pieces' tree may be that one, and the next
 *  edit starts from a whole parse. Returns how often lezer missed. */
function checkAlong(markdown, seed, blocks, edits) {
  const r = mulberry32(seed);
  const piecewise = new PiecewiseParser(markdown);
  let text = markdownText(r, blocks);
  let tree = piecewise.parse(text);
  assert.deepEqual(nodes(tree), nodes(markdown.parse(text)));
  let missed = 0;
  for (let i = 0; i < edits; i++) {
    const e = randomEdit(r, text);
    const fragments = TreeFragment.applyChanges(TreeFragment.addTree(tree), [{ fromA: e.from, toA: e.to, fromB: e.from, toB: e.from + e.insert.length }]);
    text = text.slice(0, e.from) + e.insert + text.slice(e.to);
    tree = piecewise.parse(text, fragments);
    assert.equal(tree.length, text.length);
    const whole = markdown.parse(text);
    const got = nodes(tree);
    const want = nodes(whole);
    const lezers = nodes(markdown.parse(text, fragments));
    if (lezers.join() !== want.join()) {
      missed++;
      if (got.join() !== lezers.join()) assert.deepEqual(got, want, `seed ${seed}, edit ${i} (lezer's own missed): ${JSON.stringify(e)}`);
      tree = whole;
    } else assert.deepEqual(got, want, `seed ${seed}, edit ${i}: ${JSON.stringify(e)}`);
  }
  return missed;
}

test('the fragments are cut, at block ends, into pieces that double', () => {
  const text = markdownText(mulberry32(1), 2000);
  const tree = markdownLanguage.parser.parse(text);
  const input = { read: (a, b) => text.slice(a, b), length: text.length };
  const pieces = cutFragments(TreeFragment.addTree(tree), input);
  assert.ok(pieces.length >= Math.log2(text.length / FIRST_PIECE) - 1, `${pieces.length} pieces of ${text.length}`);
  assert.equal(pieces[0].from, 0);
  assert.equal(pieces[pieces.length - 1].to, text.length);
  for (let i = 1; i < pieces.length; i++) {
    assert.equal(pieces[i].from, pieces[i - 1].to);
    assert.equal(text[pieces[i].from - 1], '\n', 'a piece starts on a new line');
    assert.ok(pieces[i].from > FIRST_PIECE * 2 ** (i - 1) && pieces[i].from < FIRST_PIECE * 2 ** (i + 1), `${pieces[i].from}`);
  }
});

test('after random edits the tree is a whole parse\'s', () => {
  let missed = 0;
  for (let seed = 1; seed <= 6; seed++) missed += checkAlong(markdownLanguage.parser, seed, 600, 120);
  assert.ok(missed < 30, `lezer's own incremental parse missed ${missed} of 720`);
});

test('with code blocks parsed in their language, too', () => {
  const withCode = markdownLanguage.parser.configure([parseCode({ codeParser: (info) => (/^python/.test(info) ? pythonParser : null) })]);
  for (let seed = 11; seed <= 13; seed++) checkAlong(withCode, seed, 500, 80);
});

test('through CodeMirror\'s own incremental parse (the editor\'s language)', () => {
  const r = mulberry32(21);
  const open = (doc, language) => {
    const state = EditorState.create({ doc, extensions: [new LanguageSupport(language)] });
    ensureSyntaxTree(state, state.doc.length, 1e9);
    return state;
  };
  let text = markdownText(r, 1500);
  let ours = open(text, markdownOf());
  let lezers = open(text, markdownLanguage); // lezer's own incremental parse, for its misses
  for (let i = 0; i < 60; i++) {
    const changes = randomEdit(r, text);
    ours = ours.update({ changes }).state;
    lezers = lezers.update({ changes }).state;
    text = ours.doc.toString();
    const got = nodes(ensureSyntaxTree(ours, text.length, 1e9));
    const want = nodes(markdownLanguage.parser.parse(text));
    const theirs = nodes(ensureSyntaxTree(lezers, text.length, 1e9));
    if (theirs.join() === want.join() || got.join() !== theirs.join()) assert.deepEqual(got, want, `edit ${i}: ${JSON.stringify(changes)}`);
    if (theirs.join() !== want.join()) {
      ours = open(text, markdownOf());
      lezers = open(text, markdownLanguage);
    }
  }
});

/** The trees (not buffers) in `tree`, the mounted languages' too. */
function subtrees(tree, into = new Set()) {
  into.add(tree);
  for (const child of tree.children) if (child instanceof Tree) subtrees(child, into);
  return into;
}

test('a keystroke\'s tree shares all but a few of the last tree\'s nodes, wherever it is', () => {
  // lezer alone took the blocks before the edit (and after one near the top) back one by one
  // and grouped them all again: some 1,500 new nodes a keystroke in this text
  let text = markdownText(mulberry32(31), 8000);
  const piecewise = new PiecewiseParser(markdownLanguage.parser);
  let tree = piecewise.parse(text);
  for (const at of [0.001, 0.5, 0.999]) {
    const fresh = [];
    for (let i = 0; i < 8; i++) {
      const before = subtrees(tree);
      const from = Math.floor(text.length * at) + i;
      const fragments = TreeFragment.applyChanges(TreeFragment.addTree(tree), [{ fromA: from, toA: from, fromB: from, toB: from + 1 }]);
      text = text.slice(0, from) + 'x' + text.slice(from);
      tree = piecewise.parse(text, fragments);
      fresh.push([...subtrees(tree)].filter((t) => !before.has(t)).length);
    }
    // the first keystroke after a whole parse regroups its top more than the next ones do
    assert.ok(Math.max(...fresh.slice(2)) < 300, `new nodes a keystroke at ${at} of ${text.length}: ${fresh}`);
  }
});

/** highlightTree's spans of [from, to) as "from to class". */
function spans(tree, from, to) {
  const out = [];
  highlightTree(tree, classHighlighter, (a, b, cls) => void out.push(`${a} ${b} ${cls}`), from, to);
  return out;
}

test('the tree around a range highlights it as the whole tree does, and holds few nodes', () => {
  const r = mulberry32(41);
  const withCode = markdownLanguage.parser.configure([parseCode({ codeParser: (info) => (/^python/.test(info) ? pythonParser : null) })]);
  const text = markdownText(r, 4000);
  let tree = new PiecewiseParser(withCode).parse(text);
  // and the tree a keystroke leaves, whose groups are partly the last tree's
  const at = text.length >> 1;
  const fragments = TreeFragment.applyChanges(TreeFragment.addTree(tree), [{ fromA: at, toA: at, fromB: at, toB: at + 1 }]);
  const typed = text.slice(0, at) + 'x' + text.slice(at);
  const trees = [[text, tree], [typed, new PiecewiseParser(withCode).parse(typed, fragments)]];
  for (const [t, whole] of trees) {
    for (let i = 0; i < 40; i++) {
      const from = i === 0 ? 0 : Math.floor(r() * t.length);
      const to = i === 1 ? t.length : Math.min(t.length, from + Math.floor(r() * 3000));
      const around = treeAround(whole, from, to);
      assert.deepEqual(spans(around, from, to), spans(whole, from, to), `[${from}, ${to})`);
      if (to - from < 3000) assert.ok(around.children.length < 120, `${around.children.length} nodes around [${from}, ${to})`);
    }
  }
});
