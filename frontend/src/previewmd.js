// The preview's Markdown: markdown-it with GitHub's extras (tables, task lists, footnotes,
// heading anchors, a table of contents where `[[toc]]` stands), as the preview (preview.js)
// and its tests use it. No DOM here: what it renders is sanitised by preview.js.
//
// Ids made from a document's headings and footnotes start with `md-`, so a heading "Status"
// never takes the id of the page's own #status.

import MarkdownIt from 'markdown-it';
import anchor from 'markdown-it-anchor';
import footnote from 'markdown-it-footnote';
import taskLists from 'markdown-it-task-lists';
import toc from 'markdown-it-toc-done-right';

const slugify = (s) => 'md-' + encodeURIComponent(String(s).trim().toLowerCase().replace(/\s+/g, '-'));

let headings = null; // while renderBlock renders: the base slugs of its headings, in order

export const md = new MarkdownIt({ html: true, linkify: true, breaks: false })
  .use(footnote)
  .use(taskLists, { enabled: true })
  .use(anchor, { slugify, permalink: anchor.permalink.headerLink(), callback: (token, { title }) => headings && headings.push(slugify(title)) })
  .use(toc, { slugify, containerClass: 'toc', listType: 'ul' });

// every list item says which source line it starts on: a task's checkbox toggles that line
md.core.ruler.push('source_lines', (state) => {
  for (const t of state.tokens) if (t.type === 'list_item_open' && t.map) t.attrSet('data-line', String(t.map[0] + (state.env.lineOffset || 0)));
});

/** A whole text's HTML (env: markdown-it's; `lineOffset`: the source line it starts on). */
export const renderHtml = (text, env = {}) => md.render(text, { docId: 'md', ...env });

/**
 * One block's HTML for core/previewblocks.js: {html, headings: the base slugs of its headings
 * (the ids they got depend on the ids taken before: env.markdownItAnchor.slugs)}.
 */
export function renderBlockHtml(text, env) {
  headings = [];
  try {
    return { html: renderHtml(text, env), headings };
  } finally {
    headings = null;
  }
}
