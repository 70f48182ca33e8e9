// The editor's File menu: import a .md or .txt file (also by dropping it on the editor), and take
// the document away as its Markdown, as one self-contained HTML file rendered by the preview's
// own renderer (so the file shows what the preview shows), or as PDF through the browser's print.
// Every user string goes in as text, never as HTML; the rendered document is sanitised by
// preview.js as the preview is.

import { el, savedName } from './dom.js';

const TEXT_FILE = /\.(md|markdown|txt|text)$/i;

/** Whether a dropped or picked file is one import takes: Markdown or plain text. */
export function importable(file) {
  return TEXT_FILE.test(file.name) || file.type === 'text/plain' || file.type === 'text/markdown';
}

const size = (n) => (n < 1024 ? `${n} bytes` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`);

/**
 * @param {object} o
 * @param {string|null} o.doc        the edit id (null on a viewer: no import)
 * @param {string} o.name            the file name to download as (without extension)
 * @param {() => string} o.text      the text on screen
 * @param {() => number} o.maxChars  the document limit in code points (the server's)
 * @param {(message: string, opts?: {error?: boolean, done?: boolean}) => void} o.say
 * @param {() => Promise<object>} o.preview  the preview module (loaded on first use)
 * @param {() => Promise<void>} o.beforePrint  renders what print shows
 */
export function fileMenu(o) {
  const picker = el('input', { type: 'file', accept: '.md,.markdown,.txt,text/plain,text/markdown', hidden: '', id: 'import-file' });
  picker.addEventListener('change', () => {
    if (picker.files[0]) importFile(picker.files[0]);
    picker.value = '';
  });
  const item = (id, label, run) => el('button', { id, type: 'button', role: 'menuitem', onclick: () => { menu.open = false; run(); } }, label);
  const items = [
    o.doc ? item('import', 'Import a .md or .txt file…', () => picker.click()) : null,
    item('download-md', 'Download as Markdown (.md)', () => download(new Blob([o.text()], { type: 'text/markdown;charset=utf-8' }), `${o.name}.md`)),
    item('download-html', 'Download as web page (.html)', () => exportHtml()),
    item('print', 'Print or save as PDF…', () => o.beforePrint().then(() => window.print())),
  ].filter(Boolean);
  const menu = el('details', { id: 'file-menu', class: 'menu' }, el('summary', {}, 'File'), el('div', { class: 'menu-items', role: 'menu' }, ...items), o.doc ? picker : null);

  function download(blob, filename) {
    const a = el('a', { href: URL.createObjectURL(blob), download: filename, hidden: '' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
  }

  async function exportHtml() {
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
  function importFile(file) {
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

  return { element: menu, importFile };
}
