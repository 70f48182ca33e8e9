// Code blocks of the preview highlighted by highlight.js (its common languages), loaded by
// preview.js only once a document has a fenced block that names a language. highlight.js
// escapes the code itself; it runs on the preview's already sanitised DOM.

import hljs from 'highlight.js/lib/common';

/** Highlight every `pre > code` of `root` whose language highlight.js knows. */
export function highlight(root) {
  for (const block of root.querySelectorAll('pre > code[class*="language-"]')) {
    const lang = /language-([\w+#.-]+)/.exec(block.className)[1];
    if (hljs.getLanguage(lang)) hljs.highlightElement(block);
  }
}
