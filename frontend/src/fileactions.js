// The File menu's work (frontend/src/filemenu.js builds the menu): downloads, the
// self-contained HTML export and the import of a file. Loaded on first use, so that the
// editor's first load carries only the menu. Every user string goes in as text, never as
// HTML; the rendered document is sanitised by preview.js as the preview is.

import { el, savedName } from './dom.js';

const TEXT_FILE = /\.(md|markdown|txt|text)$/i;

/** Whether a dropped or picked file is one import takes: Markdown or plain text. */
export function importable(file) {
  return TEXT_FILE.test(file.name) || file.type === 'text/plain' || file.type === 'text/markdown';
}

const size = (n) => (n < 1024 ? `${n} bytes` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`);

export function download(blob, filename) {
  const a = el('a', { href: URL.createObjectURL(blob), download: filename, hidden: '' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

/** The document rendered as one .html file that runs and fetches nothing. */
export async function exportHtml(o) {
  const sheet = (name) => fetch(`/assets/${name}`).then((r) => (r.ok ? r.text() : ''));
  const [preview, css, previewCss] = await Promise.all([o.preview(), sheet('app.css'), sheet('preview.css')]);
  const page = document.implementation.createHTMLDocument(o.name);
  page.documentElement.lang = 'en';
  // the file runs nothing and fetches nothing, wherever it is opened (images it names excepted)
  page.head.prepend(el('meta', { charset: 'utf-8' }), el('meta', { 'http-equiv': 'Content-Security-Policy', content: "default-src 'none'; style-src 'unsafe-inline'; img-src * data:" }));
  page.head.append(el('meta', { name: 'viewport', content: 'width=device-width, initial-scale=1' }), el('style', {}, css + '\n' + previewCss));
  const article = el('article', { class: 'preview export' });
  await preview.render(article, o.text(), { readOnly: true, keepImages: true, light: true }); // diagrams and math included
  page.body.append(article);
  download(new Blob(['<!doctype html>\n' + page.documentElement.outerHTML], { type: 'text/html;charset=utf-8' }), `${o.name}.html`);
}

/** Replace the document's text with a file's, as one revision (the old text stays in the history). */
export function importFile(o, file) {
  if (!o.doc) return;
  if (!importable(file)) {
    o.say(`“${file.name}” is not a text file: import takes .md and .txt files.`, { error: true });
    return;
  }
  // UTF-8 takes at most 4 bytes a code point: a larger file cannot fit the document limit
  const limit = o.maxChars();
  if (file.size > 4 * limit) {
    o.say(`“${file.name}” (${size(file.size)}) is larger than a document may be: ${limit.toLocaleString('en')} characters.`, { error: true });
    return;
  }
  const replacing = o.text() !== '';
  if (replacing && !window.confirm(`Replace the whole document with “${file.name}” (${size(file.size)})?\nThe current text stays in the history, where it can be restored.`)) return;
  const xhr = new XMLHttpRequest();
  xhr.open('POST', `/api/docs/${encodeURIComponent(o.doc)}/import?name=${encodeURIComponent(savedName())}`);
  xhr.setRequestHeader('Content-Type', 'text/plain');
  xhr.upload.onprogress = (e) => e.lengthComputable && o.say(`Importing “${file.name}”… ${Math.round((100 * e.loaded) / e.total)} %`);
  xhr.onload = () => {
    let body = null;
    try {
      body = JSON.parse(xhr.responseText);
    } catch {
      // not JSON: said by its status
    }
    if (xhr.status === 201) o.say(`Imported “${file.name}” as version ${body.version}.`, { done: true });
    else o.say(`Could not import “${file.name}”: ${body && body.error ? body.error.message : `HTTP ${xhr.status}`}`, { error: true });
  };
  xhr.onerror = () => o.say(`Could not import “${file.name}”: the server could not be reached.`, { error: true });
  o.say(`Importing “${file.name}”…`);
  xhr.send(file);
}

/** Choose the document's title for everyone (empty: its first heading again). */
export async function chooseTitle(o) {
  const { shown, chosen } = o.title();
  const answer = window.prompt('The title of this document, for everyone (in the tab, the bar and lists).\nLeave it empty to use its first heading.', chosen || shown);
  if (answer === null || answer.trim() === (chosen || shown)) return;
  o.say('Setting the title…');
  try {
    const r = await fetch(`/api/docs/${encodeURIComponent(o.doc)}/title`, {
      method: 'PUT', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify({ title: answer.trim() || null }),
    });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(body.error ? body.error.message : `HTTP ${r.status}`);
    o.say(body.title ? `The title is now “${body.title}”.` : 'The title is the first heading again.', { done: true });
  } catch (e) {
    o.say(`Could not set the title: ${e.message}`, { error: true });
  }
}
