// The editor's File menu: import a .md or .txt file (also by dropping it on the editor), and take
// the document away as its Markdown, as one self-contained HTML file rendered by the preview's
// own renderer (so the file shows what the preview shows), or as PDF through the browser's print.
// This module builds the menu; what its items do is fileactions.js, loaded on first use.

import { el } from './dom.js';

/**
 * @param {object} o
 * @param {string|null} o.doc        the edit id (null on a viewer: no import)
 * @param {string} o.name            the file name to download as (without extension)
 * @param {() => string} o.text      the text on screen
 * @param {() => number} o.maxChars  the document limit in code points (the server's)
 * @param {(message: string, opts?: {error?: boolean, done?: boolean}) => void} o.say
 * @param {() => Promise<object>} o.preview  the preview module (loaded on first use)
 * @param {() => Promise<void>} o.beforePrint  renders what print shows
 * @param {() => {shown: string, chosen: string|null}} o.title  the title shown, and the one chosen if any
 */
export function fileMenu(o) {
  const actions = () => import('./fileactions.js');
  const importFile = (file) => o.doc && actions().then((a) => a.importFile(o, file));
  const picker = el('input', { type: 'file', accept: '.md,.markdown,.txt,text/plain,text/markdown', hidden: '', id: 'import-file' });
  picker.addEventListener('change', () => {
    if (picker.files[0]) importFile(picker.files[0]);
    picker.value = '';
  });
  const item = (id, label, run) => el('button', { id, type: 'button', role: 'menuitem', onclick: () => { menu.open = false; run(); } }, label);
  const items = [
    o.doc ? item('import', 'Import a .md or .txt file…', () => picker.click()) : null,
    o.doc ? item('set-title', 'Set the title…', () => actions().then((a) => a.chooseTitle(o))) : null,
    item('download-md', 'Download as Markdown (.md)', () => actions().then((a) => a.download(new Blob([o.text()], { type: 'text/markdown;charset=utf-8' }), `${o.name}.md`))),
    item('download-html', 'Download as web page (.html)', () => actions().then((a) => a.exportHtml(o))),
    item('print', 'Print or save as PDF…', () => o.beforePrint().then(() => window.print())),
  ].filter(Boolean);
  const menu = el('details', { id: 'file-menu', class: 'menu' }, el('summary', {}, 'File'), el('div', { class: 'menu-items', role: 'menu' }, ...items), o.doc ? picker : null);
  return { element: menu, importFile };
}
