// core/: pure. No DOM, no socket, no storage, no network.
// The live preview, block by block: a keystroke re-renders the block it is in, not the whole
// document (markdown-it, DOMPurify and the DOM cost ~every character per keystroke: 150k
// characters took tens of ms each time). The text is cut into blocks at blank lines outside
// fenced code, as previewpart.js cuts a long document; a block whose text is what it was keeps
// its rendering (its DOM nodes: the host's), and only the others are rendered.
//
// Rendering a block alone must give what it gives inside the whole document, so:
// - a cut is made only where markdown-it's own blocks end: not inside a fence (tracked as
//   markdown-it does: same character, at least as long, at most 3 spaces in, nothing after),
//   and not before a line that may continue what is above it across the blank line (an
//   indented line: a list item's paragraph, indented code; a list marker: the next item of a
//   loose list). Too few cuts only cost speed; a wrong cut would change the output.
// - what one block's output takes from the others is kept right: the source line each list
//   item says (`data-line`, for task checkboxes) is the block's first line plus its own, moved
//   by the host when lines above change (shiftLines); heading ids, made unique across the
//   document ("intro", "intro-1"), are worked out again in document order each time, and a
//   block whose ids would differ is rendered again with the ids taken before it.
// - what needs the whole document at once falls back to a whole render (wholeOnly): reference
//   links and footnotes (a definition anywhere changes text elsewhere, and footnotes are listed
//   at the end), a table of contents (all headings), display math (`$$` blocks may hold blank
//   lines), diagrams (drawn into the DOM after the fact) and raw HTML blocks that may hold blank
//   lines (<pre>, <script>, <style>, <textarea>, comments, <? ?>, <!X>, CDATA).

const BLANK = /^[ \t]*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
// a line after a blank line that may belong to what is above it: indented (a list item's
// paragraph, indented code), or, after a list, a list marker (its next item, if it is loose)
const INDENTED = /^[ \t]/;

const WHOLE = [
  [/^[ \t>]*(?:(?:[-+*]|\d{1,9}[.)])[ \t]+)*\[[^\]\n]*\]:/m, 'reference links or footnotes'],
  [/\[\^|\^\[/, 'footnotes'],
  [/\[\[toc\]\]/i, 'a table of contents'],
  [/\$\$/, 'display math'],
  [/^ {0,3}(?:```|~~~)[ \t]*mermaid\b/m, 'diagrams'],
  [/^[ \t>]*<(?:!--|\?|![A-Za-z]|!\[CDATA\[|(?:pre|script|style|textarea)(?:[ \t>]|$))/im, 'raw HTML blocks'],
];

/** Why `text` must be rendered whole (see above), or null: it may be rendered block by block. */
export function wholeOnly(text) {
  for (const [test, why] of WHOLE) if (test.test(text)) return why;
  return null;
}

const LIST_MARKER = /^ {0,3}(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)/;
const HTML_START = /^ {0,3}<[A-Za-z/!?]/; // may start an HTML block (types 6 and 7 end at a blank line)
const TAG = /<(\/?)([A-Za-z][A-Za-z0-9-]*)\b[^<>]*?(\/?)>/g;
const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source', 'track', 'wbr']);
const CODE_SPAN = /(`+)[^`]*?\1/g;

/**
 * Track the elements `line`'s raw HTML opens and closes on `open` (a stack of tag names); false
 * when it closes one that is not the last open. The browser parses the whole preview at once:
 * an element left open in one block (a <footer> around the blocks below) takes in what follows,
 * so no cut is made while one is open. (Code spans are left out; fences are never looked at.)
 */
function trackTags(line, open) {
  for (const [, closing, name, selfClosing] of line.replace(CODE_SPAN, '').matchAll(TAG)) {
    const tag = name.toLowerCase();
    if (VOID.has(tag) || selfClosing) continue;
    if (!closing) open.push(tag);
    else if (open.pop() !== tag) return false;
  }
  return true;
}

const indentOf = (line) => /^[ \t]*/.exec(line)[0].replace(/\t/g, '    ').length;

/**
 * `text` cut into blocks: [{text, line}], `line` the source line (0-based) it starts on, its
 * text its lines and the line break after them, without the blank lines around it. Or null
 * where a cut could be wrong: a fence-like line in what may be an HTML block (raw text there,
 * or a fence if it is a paragraph: only markdown-it's whole parse can tell); in a list, a
 * fence opened indented whose list item may end before the fence does (a less indented line);
 * raw HTML that closes an element it did not open (one left open only joins what follows
 * into its block).
 */
export function splitBlocks(text) {
  const lines = text.split('\n');
  const blocks = [];
  let start = -1; // the current block's first line, or -1 between blocks
  let end = -1; // its last non-blank line
  let fence = null; // the open fence: [character, length, indent]
  let blankBefore = false; // a blank line since the current block's last line
  let html = false; // in what may be an HTML block (up to the next blank line)
  let list = false; // the current block has a list item
  const tags = []; // the raw HTML elements open here
  const close = () => {
    // with the line break after its last line, when there is one: raw HTML is rendered as its
    // lines are, breaks included
    if (start >= 0) blocks.push({ text: lines.slice(start, end + 1).join('\n') + (end + 1 < lines.length ? '\n' : ''), line: start });
    start = -1;
    list = false;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (fence) {
      // (a less indented line may end the list item, and the fence with it, even a closing one)
      if (fence[2] > 0 && list && !BLANK.test(line) && indentOf(line) < fence[2]) return null;
      const m = FENCE.exec(line);
      if (m && m[1][0] === fence[0] && m[1].length >= fence[1] && BLANK.test(m[2])) fence = null;
      end = i;
      continue;
    }
    if (BLANK.test(line)) {
      blankBefore = start >= 0;
      html = false;
      continue;
    }
    if (start >= 0 && blankBefore && !tags.length && !INDENTED.test(line) && !(list && LIST_MARKER.test(line))) close();
    if (start < 0) start = i;
    blankBefore = false;
    end = i;
    if (LIST_MARKER.test(line)) list = true;
    if (HTML_START.test(line)) html = true;
    if (line.includes('<') && !trackTags(line, tags)) return null;
    const m = FENCE.exec(line);
    // a backtick fence's info string holds no backtick (else it is inline code, not a fence)
    if (m && !(m[1][0] === '`' && m[2].includes('`'))) {
      if (html) return null;
      fence = [m[1][0], m[1].length, indentOf(line)];
    }
  }
  close();
  return blocks;
}

/**
 * The ids markdown-it-anchor gives headings of these base slugs after the ids in `taken`
 * (ids are made unique in document order: "intro", then "intro-1"). `taken` is not changed.
 */
function uniqueIds(bases, taken) {
  const mine = new Set();
  return bases.map((base) => {
    let id = base;
    for (let i = 1; Object.prototype.hasOwnProperty.call(taken, id) || mine.has(id); i++) id = `${base}-${i}`;
    mine.add(id);
    return id;
  });
}

const sameList = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Bring what `host` shows from `entries` (the last update's answer; null: nothing shown yet) to
 * `text`, rendering only the blocks that changed: the blocks the same at the start and at the
 * end keep their nodes, those between are rendered (a keystroke: one). Returns the new entries
 * and how many blocks were rendered.
 *
 * `renderBlock(text, env)` renders one block with markdown-it's env (`lineOffset`, and
 * `markdownItAnchor.slugs`: the heading ids taken before it) and returns {nodes, headings:
 * [base slug, ...], lines: whether it has list items that say their source line}. `host.insert(nodes, before)` puts nodes before the nodes `before` (null:
 * at the end), `host.remove(nodes)`, `host.shiftLines(nodes, by)` adds `by` to their list
 * items' source lines. `lineOffset`: the line `text` starts on in the document. `blocks`:
 * splitBlocks(text), never null (null: render it whole instead).
 */
export function updateBlocks(entries, text, renderBlock, host, lineOffset = 0, blocks = splitBlocks(text)) {
  const old = entries || [];
  const most = Math.min(old.length, blocks.length);
  let prefix = 0;
  while (prefix < most && old[prefix].text === blocks[prefix].text) prefix++;
  let suffix = 0;
  while (suffix < most - prefix && old[old.length - 1 - suffix].text === blocks[blocks.length - 1 - suffix].text) suffix++;
  for (const e of old.slice(prefix, old.length - suffix)) host.remove(e.nodes);
  const firstKept = blocks.length - suffix; // blocks from here on are old ones (the suffix)
  const shown = (j) => (j < prefix ? old[j] : j >= firstKept ? old[old.length - blocks.length + j] : null);
  // where block i's nodes go: before the next block already shown (the middle is added in order)
  const nextShown = (i) => {
    for (let j = i + 1; j < blocks.length; j++) {
      if (j >= prefix && j < firstKept) j = firstKept - 1; // (not shown yet: after i anyway)
      else if (shown(j).nodes.length) return shown(j).nodes;
    }
    return null;
  };
  const out = [];
  const taken = {}; // heading ids of the blocks so far
  let rendered = 0;
  for (let i = 0; i < blocks.length; i++) {
    const line = lineOffset + blocks[i].line;
    let entry = shown(i);
    if (entry) {
      if (entry.line !== line && entry.lines) host.shiftLines(entry.nodes, line - entry.line);
      entry = { ...entry, line };
      if (!sameList(uniqueIds(entry.bases, taken), entry.ids)) {
        // a heading of the same text came or went above: its ids differ, rendered again
        host.remove(entry.nodes);
        entry = render(blocks[i].text, line);
        host.insert(entry.nodes, nextShown(i));
      }
    } else {
      entry = render(blocks[i].text, line);
      host.insert(entry.nodes, nextShown(i));
    }
    if (entry.fresh) rendered++;
    for (const id of entry.ids) taken[id] = true;
    out.push({ ...entry, fresh: false });
  }
  return { entries: out, rendered };

  function render(blockText, line) {
    const { nodes, headings, lines } = renderBlock(blockText, { lineOffset: line, markdownItAnchor: { slugs: { ...taken } } });
    return { text: blockText, line, nodes, lines, bases: headings, ids: uniqueIds(headings, taken), fresh: true };
  }
}
