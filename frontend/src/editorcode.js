// Highlighting inside the editor's fenced code blocks, with the language list of
// @codemirror/language-data (each language's parser is loaded when a block first names it).
// Loaded by editor.js only once a document has a fenced block that names a language.
//
// This is the parser @codemirror/lang-markdown's `markdown({codeLanguages})` builds, without importing
// `markdown()`: that function brings the HTML, CSS and JavaScript parsers (for HTML tags), and
// as the module is shared with the editor's first load, they would all load with every editor.

import { LanguageDescription, ParseContext } from '@codemirror/language';
import { languages } from '@codemirror/language-data';
import { parseCode } from '@lezer/markdown';

/** The parser of a fenced block's language, by its info string (`js`, `python title="x"`). */
function codeParser(info) {
  const found = info && LanguageDescription.matchLanguageName(languages, /\S*/.exec(info)[0], true);
  if (!found) return null;
  return found.support ? found.support.language.parser : ParseContext.getSkippingParser(found.load());
}

/** `markdown` (the editor's Markdown parser) with its code blocks parsed in their languages. */
export function withCode(markdown) {
  return markdown.configure([parseCode({ codeParser })]);
}
