// What @codemirror/lang-markdown gets for its imports of @codemirror/lang-html and
// @codemirror/autocomplete (build.mjs): they serve only its `markdown()` (HTML tags and their
// completion), which collab never calls: editor.js builds on `markdownLanguage`, editorcode.js
// makes its own code-block support. @codemirror/language-data imports both lazily, and a module
// another chunk loads keeps esbuild from dropping an import it does not use, so without this the
// HTML, CSS and JavaScript parsers would ride along in every editor's first load. ```html blocks
// still get the real lang-html, which language-data loads when one needs it.

export function html() {
  return { language: { parser: null }, support: [] };
}

export function htmlCompletionSource() {
  return null;
}

export class CompletionContext {}
