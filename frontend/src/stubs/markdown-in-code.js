// What @codemirror/language-data loads for a ```markdown block inside the document (build.mjs):
// plain Markdown highlighting. Its own lazy import of @codemirror/lang-markdown would make that
// whole module (and what `markdown()` needs) part of every editor's first load, since the
// editor imports `markdownLanguage` from it statically; this keeps that import to one export.

import { LanguageSupport } from '@codemirror/language';
import { markdownLanguage } from '@codemirror/lang-markdown';

export const markdown = () => new LanguageSupport(markdownLanguage);
