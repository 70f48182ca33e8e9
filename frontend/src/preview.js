// The live Markdown preview, loaded on first use: markdown-it renders GitHub-flavoured Markdown
// (previewmd.js: tables, task lists, footnotes, heading anchors, a table of contents where
// `[[toc]]` stands), DOMPurify sanitises (raw HTML in a document is allowed through
// markdown-it, then cleaned: no scripts, no event handlers, no javascript: URLs, no form
// controls but task checkboxes). Pages also send a CSP that forbids inline scripts.
//
// The live preview is rendered block by block (core/previewblocks.js): a keystroke renders the
// block it is in, and every other block keeps its DOM nodes. A document that needs the whole
// at once (reference links, footnotes, a table of contents, display math, diagrams, raw HTML
// blocks that may hold blank lines: previewblocks.js says why each), and an export or a print,
// is rendered whole, as before.
//
// Three extras are loaded only when a document uses them, each in a chunk of its own: code
// highlighting (previewcode.js, a fenced block naming a language), math (previewmath.js, `$`),
// diagrams (previewdiagrams.js, a ```mermaid block). A render draws at once with what is here,
// and again when what it needed has arrived.

import DOMPurify from 'dompurify';

import { splitBlocks, updateBlocks, wholeOnly } from './core/previewblocks.js';
import { isDark } from './dom.js';
import { md, renderBlockHtml, renderHtml } from './previewmd.js';

// its stylesheet, once, when the preview is first used (an exported page inlines it: fileactions.js)
if (typeof document !== 'undefined' && !document.querySelector('link[href="/assets/preview.css"]')) {
  document.head.append(Object.assign(document.createElement('link'), { rel: 'stylesheet', href: '/assets/preview.css' }));
}

// ids and names the document brings in raw HTML get the prefix too (its own headings' and
// footnotes' already have it), so nothing in a document can take an id of the page's own
// (the document's Markdown only: a diagram's SVG refers to its own ids, and DOMPurify's hooks
// are shared with previewdiagrams.js)
const OWN_ID = /^(md-|fn-md-|fnref-md-)/;
let documentHtml = false; // set while the document's rendered Markdown is sanitised
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  for (const attr of documentHtml ? ['id', 'name'] : []) {
    const value = node.getAttribute(attr);
    if (value && !OWN_ID.test(value)) node.setAttribute(attr, 'md-' + value);
  }
  const href = node.tagName === 'A' && node.getAttribute('href');
  if (href && !href.startsWith('#')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  }
});
DOMPurify.addHook('uponSanitizeElement', (node, data) => {
  if (data.tagName === 'input' && node.getAttribute('type') !== 'checkbox') node.remove();
});

const EXTRAS = {
  code: { test: /^ {0,3}(```|~~~)[ \t]*[\w+#.-]+/m, load: () => import('./previewcode.js') },
  math: { test: /\$\$[\s\S]+?\$\$|(^|[^\\$\w])\$(?=\S)[^$\n]+?\$(?![\w$])/, load: () => import('./previewmath.js').then((m) => (md.use(m.plugin, m.options), m)) },
  diagrams: { test: /^ {0,3}(```|~~~)[ \t]*mermaid\b/m, load: () => import('./previewdiagrams.js') },
};
const loaded = {}; // kind -> module, once here
const loading = {}; // kind -> its promise

const renders = new WeakMap(); // target -> the number of its latest render

// Images from other sites: shown only where the server allows them (COLLAB_REMOTE_IMAGES: its
// CSP then admits https:); otherwise, and for plain http: anywhere, a note says why instead of
// a broken image. An exported page keeps them all (`keepImages`).
function holdImages(root) {
  const allowed = document.body.dataset.remoteImages;
  for (const img of root.querySelectorAll('img[src]')) {
    let url;
    try {
      url = new URL(img.getAttribute('src'), location.href);
    } catch {
      continue;
    }
    if (url.origin === location.origin || url.protocol === 'data:' || url.protocol === 'blob:') continue;
    if (allowed === '1' && url.protocol === 'https:') continue;
    const why = allowed === '1'
      ? 'only https: images from other sites are shown'
      : 'this server shows only its own images (its operator can allow others: COLLAB_REMOTE_IMAGES=1)';
    const note = document.createElement('span');
    note.className = 'image-held';
    note.textContent = `[image from ${url.host || url.protocol} not shown: ${why}]`;
    note.title = img.getAttribute('alt') || url.href;
    img.replaceWith(note);
  }
}

/** Rendered HTML as sanitised DOM, made ready to show (images held, checkboxes, highlighting). */
function ready(html, readOnly, keepImages) {
  documentHtml = true;
  let clean;
  try {
    clean = DOMPurify.sanitize(html, { FORBID_TAGS: ['style', 'form', 'button', 'select', 'textarea'], RETURN_DOM_FRAGMENT: true });
  } finally {
    documentHtml = false;
  }
  if (!keepImages) holdImages(clean);
  // an exported page is opened elsewhere: this server's own images (uploads, /images/<id>) keep its address
  else for (const img of clean.querySelectorAll('img[src^="/"]:not([src^="//"])')) img.setAttribute('src', new URL(img.getAttribute('src'), location.href).href);
  for (const box of clean.querySelectorAll('input')) box.disabled = readOnly || !box.classList.contains('task-list-item-checkbox');
  if (loaded.code) loaded.code.highlight(clean);
  return clean;
}

const noteOf = (note) => Object.assign(document.createElement('p'), { className: 'preview-part', textContent: note });

function paint(target, text, readOnly, keepImages, lineOffset, note) {
  shown.delete(target); // what it shows is no block's any more
  const clean = ready(renderHtml(text, { lineOffset }), readOnly, keepImages);
  if (note) clean.prepend(noteOf(note));
  target.replaceChildren(clean);
}

// what the block-by-block preview of each target shows: {entries (previewblocks.js), readOnly,
// extras (how many extras were loaded when it was drawn: one arriving draws every block
// again), note (the element of a long document's note)}
const shown = new WeakMap();
let extrasLoaded = 0;

/** `target`'s children, as previewblocks.js moves them. */
const hostOf = (target) => ({
  insert: (nodes, before) => {
    const ref = before ? before[0] : null;
    for (const n of nodes) target.insertBefore(n, ref);
  },
  remove: (nodes) => nodes.forEach((n) => n.remove()),
  shiftLines: (nodes, by) => {
    for (const n of nodes) {
      if (n.nodeType !== 1) continue;
      const items = [...n.querySelectorAll('li[data-line]')];
      if (n.matches('li[data-line]')) items.push(n);
      for (const li of items) li.dataset.line = String(Number(li.dataset.line) + by);
    }
  },
});

function paintBlocks(target, text, blocks, readOnly, lineOffset, note) {
  let state = shown.get(target);
  if (!state || state.readOnly !== readOnly || state.extras !== extrasLoaded) {
    target.replaceChildren();
    state = { entries: null, readOnly, extras: extrasLoaded, note: null };
    shown.set(target, state);
  }
  const renderBlock = (blockText, env) => {
    const { html, headings } = renderBlockHtml(blockText, env);
    return { nodes: [...ready(html, readOnly, false).childNodes], headings, lines: html.includes(' data-line="') };
  };
  state.entries = updateBlocks(state.entries, text, renderBlock, hostOf(target), lineOffset, blocks).entries;
  // the note of a long document's part, above the blocks
  if (note && !state.note) target.prepend((state.note = noteOf(note)));
  else if (!note && state.note) state.note = state.note.remove() || null;
  else if (note) state.note.textContent = note;
}

/**
 * Render `text` into `target` (with `readOnly`, task checkboxes cannot be clicked; with
 * `keepImages`, images from other sites are kept, for an exported page; with `light`, diagrams
 * are drawn light whatever the theme, for print; `lineOffset`: the source line `text` starts on,
 * for a part of a document; `note`: said above it). Resolves
 * once everything is drawn, the extras this text needs included (an export waits for that).
 */
export async function render(target, text, { readOnly = false, keepImages = false, light = false, lineOffset = 0, note = '' } = {}) {
  const seq = (renders.get(target) || 0) + 1;
  renders.set(target, seq);
  const needed = Object.keys(EXTRAS).filter((k) => EXTRAS[k].test.test(text));
  // block by block only for the live preview (an export or a print is drawn whole, once), and
  // only where previewblocks.js can cut it surely
  const blocks = keepImages || light || wholeOnly(text) ? null : splitBlocks(text);
  const draw = () => (blocks ? paintBlocks(target, text, blocks, readOnly, lineOffset, note) : paint(target, text, readOnly, keepImages, lineOffset, note));
  draw();
  const missing = needed.filter((k) => !loaded[k]);
  if (missing.length) {
    await Promise.all(missing.map((k) => (loading[k] ||= EXTRAS[k].load().then((m) => ((loaded[k] = m), extrasLoaded++, m)))));
    if (renders.get(target) !== seq) return;
    draw();
  }
  if (loaded.diagrams && needed.includes('diagrams')) await loaded.diagrams.renderDiagrams(target, !light && isDark());
}
