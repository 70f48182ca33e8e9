// Math in the preview: `$...$` and `$$...$$` typeset by KaTeX (through VS Code's markdown-it
// plugin), loaded by preview.js only once a document has math. KaTeX writes MathML, which
// browsers draw themselves: no stylesheet or font to fetch, so an exported HTML file shows the
// same math with nothing beside it, and the pages' CSP needs nothing new.

import katexPlugin from '@vscode/markdown-it-katex';

export const plugin = katexPlugin.default || katexPlugin;
export const options = { output: 'mathml', throwOnError: false, trust: false, maxSize: 50, maxExpand: 1000 };
