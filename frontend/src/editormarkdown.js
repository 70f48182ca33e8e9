// The editor's Markdown: lezer's parse and CodeMirror's highlighting, each made to cost a
// keystroke what it costs in a short text however long the document is (issue 15). Both spent
// it walking the top-level blocks of the whole text; bench/keystroke.py's profile showed them
// (lezer's nextChild, hasNode, nodeSize, divide; highlightTree's nextSibling).
//
// The parse. After an edit, lezer's Markdown parser parses again from the top, reusing the
// blocks of the last tree that the edit did not touch (its "fragments"). But it reuses a group
// of blocks only if the group is at most a quarter of the text before the place it resumes at,
// and it decides that once per fragment: a fragment that starts at the top (everything before
// the edit) is therefore taken back block by block, and so is the whole rest of the text after
// an edit near the top. A keystroke walked every block up to the parsed end and regrouped them
// all: 10-25 ms a key in a 4 M code point document in Node. So the fragments are cut, before
// the parser sees them, at top-level block ends near 4 KiB, 8 KiB, 16 KiB ... of the text: each
// piece then starts where groups of up to a quarter of its own start may be reused, and is
// taken back in a few dozen nodes. The tree is the same (test/editormarkdown.test.js).
//
// The highlighting. CodeMirror's highlighter (syntaxHighlighting) walks the document node's
// children from the first, skipping those before the screen: every block above it, a few
// thousand in a long text, after every change. Here it walks a tree of only the nodes that
// reach into what is shown (the same nodes, at the same places), and so draws the same classes.

import { Language, syntaxTree } from '@codemirror/language';
import { markdownLanguage } from '@codemirror/lang-markdown';
import { Prec, RangeSetBuilder } from '@codemirror/state';
import { Decoration, EditorView, ViewPlugin } from '@codemirror/view';
import { Parser, Tree, TreeFragment } from '@lezer/common';
import { highlightTree } from '@lezer/highlight';

// ---- the parse ----

/** Where the first piece of a fragment ends (UTF-16 units); each next piece is twice as far. */
export const FIRST_PIECE = 4096;

// blocks that can go on after a blank line: lezer never stops reusing just after them, so a
// piece ending there would have the block parsed again
const GOES_ON = new Set(['CodeBlock', 'BulletList', 'OrderedList', 'ListItem']);

/** The start of the line after the first top-level block of `f` that ends at or after `pos`
 *  (document positions), if `f` holds that block and the line; else -1. */
function blockEndAfter(f, pos, input) {
  const c = f.tree.cursor();
  if (!c.childAfter(pos + f.offset)) return -1;
  // a few blocks on, past a list or an indented code block (those are short, in practice)
  for (let i = 0; i < 4 && GOES_ON.has(c.name); i++) if (!c.nextSibling()) return -1;
  if (GOES_ON.has(c.name)) return -1;
  const end = c.to - f.offset;
  if (end + 1 >= f.to || input.read(end, end + 1) !== '\n') return -1;
  return end + 1;
}

/** `fragments` cut at top-level block ends near FIRST_PIECE * 2^k. A cut is inside a fragment,
 *  at a block's end, so neither side is open there: the tree is valid across it. */
export function cutFragments(fragments, input) {
  const out = [];
  for (const f of fragments) {
    let from = f.from;
    let openStart = f.openStart;
    for (let at = FIRST_PIECE; at < f.to; at *= 2) {
      if (at <= from) continue;
      const cut = blockEndAfter(f, at, input);
      if (cut <= from) continue;
      out.push(new TreeFragment(from, cut, f.tree, f.offset, openStart, false));
      from = cut;
      openStart = false;
    }
    out.push(from === f.from ? f : new TreeFragment(from, f.to, f.tree, f.offset, openStart, f.openEnd));
  }
  return out;
}

/** `markdown` (a lezer MarkdownParser, configured as it will be used) with its fragments cut. */
export class PiecewiseParser extends Parser {
  constructor(markdown) {
    super();
    this.markdown = markdown;
  }

  createParse(input, fragments, ranges) {
    return this.markdown.createParse(input, cutFragments(fragments, input), ranges);
  }
}

/** The editor's Markdown language: lang-markdown's, parsed by `parser` (its parser, or that
 *  parser configured with code blocks' languages: editorcode.js) with the fragments cut. */
export function markdownOf(parser = markdownLanguage.parser) {
  return new Language(markdownLanguage.data, new PiecewiseParser(parser), [], 'markdown');
}

// ---- the highlighting ----

/** A tree of `tree`'s type and length holding only its nodes that reach into [from, to): its
 *  top-level blocks there, and whole the groups of them (lezer's anonymous balancing nodes)
 *  that lie inside. The nodes are `tree`'s own, at their places. */
export function treeAround(tree, from, to) {
  const children = [];
  const positions = [];
  (function collect(t, offset) {
    for (let i = 0; i < t.children.length; i++) {
      const child = t.children[i];
      const start = offset + t.positions[i];
      const end = start + child.length;
      if (end < from || start > to) continue;
      if (child instanceof Tree && child.type.isAnonymous && (start < from || end > to)) collect(child, start);
      else children.push(child), positions.push(start);
    }
  })(tree, 0);
  return new Tree(tree.type, children, positions, tree.length);
}

/** CodeMirror's syntaxHighlighting(style), walking treeAround() the screen: same classes.
 *  (As the original, it highlights what the tree covers, and maps its marks while the parse
 *  has not reached the screen yet.) */
export function highlighting(style) {
  const marks = Object.create(null); // class -> its mark
  const build = (view, tree) => {
    if (!tree.length) return Decoration.none;
    const builder = new RangeSetBuilder();
    for (const { from, to } of view.visibleRanges) {
      highlightTree(treeAround(tree, from, to), style, (a, b, cls) => builder.add(a, b, marks[cls] || (marks[cls] = Decoration.mark({ class: cls }))), from, to);
    }
    return builder.finish();
  };
  // Prec.high as CodeMirror's own (so its marks nest with the others' as they did)
  const plugin = Prec.high(ViewPlugin.fromClass(
    class {
      constructor(view) {
        this.tree = syntaxTree(view.state);
        this.decorations = build(view, this.tree);
        this.decoratedTo = view.viewport.to;
      }

      update(update) {
        const tree = syntaxTree(update.state);
        const { viewport } = update.view;
        const decoratedTo = update.changes.mapPos(this.decoratedTo, 1);
        if (tree.length < viewport.to && tree.type === this.tree.type && decoratedTo >= viewport.to) {
          this.decorations = this.decorations.map(update.changes);
          this.decoratedTo = decoratedTo;
        } else if (tree !== this.tree || update.viewportChanged) {
          this.tree = tree;
          this.decorations = build(update.view, tree);
          this.decoratedTo = viewport.to;
        }
      }
    },
    { decorations: (v) => v.decorations },
  ));
  return [plugin, style.module ? EditorView.styleModule.of(style.module) : []];
}
