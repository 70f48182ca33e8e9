// The live Markdown preview, loaded on first use: markdown-it renders, DOMPurify sanitises
// (raw HTML in a document is allowed through markdown-it, then cleaned: no scripts, no event
// handlers, no javascript: URLs). Pages also send a CSP that forbids inline scripts.

import DOMPurify from 'dompurify';
import MarkdownIt from 'markdown-it';

const md = new MarkdownIt({ html: true, linkify: true, breaks: false });

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A' && node.getAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer nofollow');
  }
});

export function render(target, text) {
  const clean = DOMPurify.sanitize(md.render(text), { FORBID_TAGS: ['style', 'form', 'input', 'button'], RETURN_DOM_FRAGMENT: true });
  target.replaceChildren(clean);
}
