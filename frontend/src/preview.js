// The live Markdown preview, loaded on first use: markdown-it renders GitHub-flavoured Markdown
// (tables, task lists, footnotes, heading anchors, a table of contents where `[[toc]]` stands),
// DOMPurify sanitises (raw HTML in a document is allowed through markdown-it, then cleaned: no
// scripts, no event handlers, no javascript: URLs, no form controls but task checkboxes).
// Pages also send a CSP that forbids inline scripts.
//
// Ids made from a document's headings and footnotes start with `md-`, so a heading "Status"
// never takes the id of the page's own #status.

import DOMPurify from 'dompurify';
import MarkdownIt from 'markdown-it';
import anchor from 'markdown-it-anchor';
import footnote from 'markdown-it-footnote';
import taskLists from 'markdown-it-task-lists';
import toc from 'markdown-it-toc-done-right';

const slugify = (s) => 'md-' + encodeURIComponent(String(s).trim().toLowerCase().replace(/\s+/g, '-'));

const md = new MarkdownIt({ html: true, linkify: true, breaks: false })
  .use(footnote)
  .use(taskLists, { enabled: true })
  .use(anchor, { slugify, permalink: anchor.permalink.ariaHidden({ placement: 'before', symbol: '#' }) })
  .use(toc, { slugify, containerClass: 'toc', listType: 'ul' });

// every list item says which source line it starts on: a task's checkbox toggles that line
md.core.ruler.push('source_lines', (state) => {
  for (const t of state.tokens) if (t.type === 'list_item_open' && t.map) t.attrSet('data-line', String(t.map[0]));
});

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  const href = node.tagName === 'A' && node.getAttribute('href');
  if (href && !href.startsWith('#')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  }
});
DOMPurify.addHook('uponSanitizeElement', (node, data) => {
  if (data.tagName === 'input' && node.getAttribute('type') !== 'checkbox') node.remove();
});

/** Render `text` into `target`; with `readOnly`, task checkboxes cannot be clicked. */
export function render(target, text, { readOnly = false } = {}) {
  const clean = DOMPurify.sanitize(md.render(text, { docId: 'md' }), { FORBID_TAGS: ['style', 'form', 'button', 'select', 'textarea'], RETURN_DOM_FRAGMENT: true });
  for (const box of clean.querySelectorAll('input')) box.disabled = readOnly || !box.classList.contains('task-list-item-checkbox');
  target.replaceChildren(clean);
}
