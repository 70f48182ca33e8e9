// The editor and viewer pages: builds the page, connects, and wires the editor to the sync
// client. Everything a user typed or named is put into the page as text, never as HTML.

import { Connection } from './connection.js';
import { taskToggle } from './core/tasks.js';
import { distinctColors, savedColor } from './colors.js';
import { COLORS, colorBook, el, nameField, onThemeChange, personName, themeToggle } from './dom.js';
import { createEditor } from './editor.js';
import { fileMenu } from './filemenu.js';
import { PART_LIMIT, previewPart } from './core/previewpart.js';

function main() {
  const body = document.body;
  const doc = body.dataset.doc || null;
  const view = body.dataset.view || null;
  const readOnly = body.dataset.page === 'viewer';
  let editor = null;
  let viewUrl = null;
  let preview = null; // the preview module, loaded on first use
  const cursors = new Map(); // peer id -> {anchor, head (code points), name, color}
  let peers = [];
  let colors = new Map(); // peer id -> colour: distinct among those listed, the same on every screen
  let authorBook = colorBook(); // authors not here now: a colour each, kept while the page is open
  let kept = null; // author -> the colour they last wrote in (GET /colors), once authorship is on
  // a person's colour by name: theirs in presence while they are here, else the one they last
  // wrote in unless someone here has it now (as on the history page), else the book's
  const nameColor = (name) => {
    const here = peers.find((p) => p.name === name);
    if (here && colors.get(here.id)) return colors.get(here.id);
    const theirs = kept && kept.get(name);
    return theirs && ![...colors.values()].includes(theirs) ? theirs : authorBook(name);
  };
  async function keptColors(key) {
    if (kept) return;
    try {
      const r = await fetch(`/api/docs/${encodeURIComponent(key)}/colors`);
      const entries = r.ok ? (await r.json()).colors || [] : []; // an older server: from names only
      kept = new Map();
      for (const e of entries) if (!kept.has(e.author)) kept.set(e.author, e.color); // the latest first
      // the book gives no one a colour someone absent kept (while colours last)
      authorBook = colorBook(new Set([...kept.values()].map((c) => COLORS.indexOf(c)).filter((i) => i >= 0)));
    } catch {
      // colours from names alone: the text is still coloured
    }
  }
  const colorOf = (id, name) => colors.get(id) || distinctColors([[id, name || id]]).get(id);

  // ---- page ----
  const status = el('span', { id: 'status', class: 'status', 'data-state': 'connecting', role: 'status' }, 'Connecting…');
  const retry = el('button', { id: 'retry', class: 'link', hidden: '', onclick: () => conn.retry() }, 'Retry');
  // who is here: a count with their colours, opening the list (a crowd never widens the bar)
  const peerList = el('ul', { id: 'peers', class: 'peers', 'aria-label': 'People here' });
  const peerDots = el('span', { class: 'dots', 'aria-hidden': 'true' });
  const peerCount = el('span', { id: 'people-count' }, '');
  // authorship colours (Etherpad's): who wrote what, from the server's blame, then live
  const authorsBox = el('input', { type: 'checkbox', id: 'authorship' });
  const authorsNote = el('span', { id: 'authorship-note', class: 'muted small', role: 'status' });
  const authorsToggle = el('label', { class: 'authors-toggle' }, authorsBox, ' Colour the text by author ', authorsNote);
  // your own colour: the picker loads when opened (colorpicker.js); what was picked is sent with the join
  const colorDot = el('span', { class: 'dot', style: 'display:inline-block', 'aria-hidden': 'true' });
  const colorNote = el('p', { id: 'color-note', class: 'muted small', role: 'status' });
  const colorBox = el('div', { id: 'color-picker', class: 'color-picker' });
  const colorButton = el('button', { id: 'color-pick', type: 'button', class: 'link', 'aria-expanded': 'false', onclick: () => togglePicker() }, colorDot, ' Your colour');
  const colorRow = el('div', { class: 'color-row', hidden: readOnly || null }, colorButton, colorBox, colorNote);
  const people = el('details', { id: 'people', class: 'people' }, el('summary', { title: 'People here' }, peerDots, peerCount), el('div', { class: 'people-panel' }, peerList, colorRow, authorsToggle));
  const nameInput = nameField({
    onRename: (name) => {
      conn.rename(name);
      if (editor) editor.setLocalAuthor({ name, color: nameColor(name) }); // what is typed from now on
    },
  }); // who this browser is, as on the history page
  const copyEdit = el('button', { id: 'copy-edit', role: 'menuitem', title: 'Whoever has it can change the text', onclick: () => copy(location.origin + '/d/' + doc, copyEdit) }, 'Copy edit link');
  const copyView = el('button', { id: 'copy-view', role: 'menuitem', title: 'Whoever has it can read the text, live', onclick: () => viewUrl && copy(viewUrl, copyView) }, 'Copy read-only link');
  const togglePreview = el('button', { id: 'toggle-preview', 'aria-pressed': 'false', onclick: () => setPreview(togglePreview.getAttribute('aria-pressed') !== 'true') }, 'Preview');
  const title = el('span', { class: 'docname', title: readOnly ? 'read-only' : doc }, readOnly ? 'Read-only' : doc);
  const bar = el(
    'header',
    { class: 'bar' },
    el('a', { href: '/', class: 'brand' }, 'collab'),
    title,
    status,
    retry,
    el('span', { class: 'spacer' }),
    people,
    el('label', { class: 'name' }, 'Name ', nameInput),
  );
  // signed in: the account's name, read-only, and Sign out (account.js; only with COLLAB_SIGN_IN)
  // loaded only then: a server without sign-in sends not a byte more
  const showAccount = () => import('./account.js').then(({ accountControls }) => accountControls(nameInput, (name) => editor && editor.setLocalAuthor({ name, color: nameColor(name) }))).then((box) => {
    if (box) nameInput.parentElement.after(box);
    offerShare();
  });
  // the owner's share dialog (share.js, loaded only for a signed-in person: offered only to the
  // document's owner), asked once the account is known and the document joined (joining makes it)
  let shared = null;
  function offerShare() {
    if (shared || readOnly || !conn.joined || !document.querySelector('#sign-out')) return;
    shared = import('./share.js').then((m) => m.offerShare(doc, document.querySelector('#file-menu .menu-items'))).then((ok) => ok || (shared = null));
  }
  if (body.dataset.signIn) showAccount();
  // the server ended the socket: signed out (in another tab, or the session ended)? Then say
  // so, and what is typed from now on is a guest's
  async function checkAccount() {
    if (!document.querySelector('#sign-out')) return;
    const me = await fetch('/api/me', { headers: { Accept: 'application/json' } }).then((r) => r.json()).catch(() => null);
    if (!me || me.account) return;
    document.querySelector('#account')?.remove();
    nameInput.readOnly = false;
    nameInput.title = '';
    notice.textContent = 'You were signed out (in another tab, or your session ended): what you type now is saved as a guest. Sign in again to write under your account.';
    notice.hidden = false;
    showAccount();
  }
  // the two links, in one menu: the bar keeps one row at 1280 px
  // and the two ways to withdraw one (linkactions.js, loaded on first use)
  const hasNote = () => { try { return sessionStorage.getItem('collab:note') !== null; } catch { return false; } };
  const links = (name) => () => import('./linkactions.js').then((m) => m[name]({
    doc, say: sayFile, unsaved: () => conn.sync.unsaved, setViewUrl: (url) => (viewUrl = url),
    copy: (text) => (navigator.clipboard && window.isSecureContext ? navigator.clipboard.writeText(text).then(() => true, () => false) : Promise.resolve(false)),
  }));
  const shareItem = (id, label, hint, run) => el('button', { id, role: 'menuitem', title: hint, onclick: () => { share.open = false; run(); } }, label);
  const share = el('details', { id: 'share', class: 'menu' }, el('summary', {}, 'Share'), el('div', { class: 'menu-items', role: 'menu' }, copyEdit, copyView,
    shareItem('new-view-link', 'New read-only link…', 'The current read-only link stops working', links('newViewLink')),
    shareItem('new-edit-link', 'New edit link…', 'The current edit link stops working', links('newEditLink'))));
  if (!readOnly) bar.append(share);
  // the page before this one (a new edit link) left a line to say
  if (!readOnly && hasNote()) import('./linkactions.js').then((m) => { const note = m.takeNote(); if (note) sayFile(note, { done: true }); });
  bar.append(togglePreview);
  // import, download as .md or .html, print or save as PDF
  const loadPreview = async () => (preview = preview || (await import('./preview.js')));
  const files = fileMenu({
    doc: readOnly ? null : doc,
    name: readOnly ? 'document' : doc,
    text: () => conn.sync.text,
    maxChars: () => conn.sync.limits.doc,
    title: () => ({ shown: shownTitle || '', chosen: chosenTitle }),
    say: sayFile,
    preview: loadPreview,
    beforePrint: async () => {
      await loadPreview();
      await preview.render(previewPane, conn.sync.text, { readOnly: true, light: true }); // printed even when the preview is closed
    },
  });
  bar.append(files.element);
  // the history page, named the way this page names the document (a viewer never learns the edit id)
  const historyHref = readOnly ? `/v/${encodeURIComponent(view)}/history` : `/d/${encodeURIComponent(doc)}/history`;
  bar.append(el('a', { id: 'history-link', class: 'button', href: historyHref, title: 'Replay, compare, restore and export versions' }, 'History'), themeToggle());
  const editorPane = el('div', { id: 'editor', class: 'pane' });
  const previewPane = el('article', { id: 'preview', class: 'pane preview', hidden: '' });
  const notice = el('div', { id: 'notice', class: 'notice', role: 'alert', hidden: '' });
  const fileNote = el('div', { id: 'file-note', class: 'notice', role: 'status', hidden: '' });
  let fileNoteTimer = null;
  function sayFile(message, { error = false, done = false } = {}) {
    fileNote.textContent = message;
    fileNote.dataset.kind = error ? 'error' : done ? 'done' : 'busy';
    fileNote.hidden = false;
    clearTimeout(fileNoteTimer);
    if (done) fileNoteTimer = setTimeout(() => (fileNote.hidden = true), 8000);
  }
  // Tab indents inside the editor (CodeMirror): how to leave it by keyboard, said when Tab is used
  const tabHint = el('div', { id: 'tab-hint', class: 'tab-hint', role: 'status', hidden: '' }, 'Tab indents here. To leave the editor with the keyboard, press Esc, then Tab.');
  let tabHintTimer = null;
  const showTabHint = () => {
    tabHint.hidden = false;
    clearTimeout(tabHintTimer);
    tabHintTimer = setTimeout(() => (tabHint.hidden = true), 6000);
  };
  body.append(bar, notice, fileNote, el('main', { class: 'panes' }, editorPane, previewPane), tabHint);

  function copy(text, button) {
    const done = () => {
      const old = button.textContent;
      button.textContent = 'Copied!';
      setTimeout(() => (button.textContent = old), 1200);
    };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, () => window.prompt('Copy this link:', text));
    else window.prompt('Copy this link:', text);
  }

  function showStatus({ state, unsaved, error, role }) {
    let text;
    const pending = unsaved ? `${unsaved} change${unsaved === 1 ? '' : 's'} not yet saved` : '';
    // the name this page uses is dead (extension of v1: the error's `reason`): the document was
    // deleted, or lives on under a link this page does not have (renamed, view link rotated)
    const revoked = state === 'deleted' && error && (error.reason === 'renamed' || error.reason === 'rotated');
    const refused = state === 'deleted' && error && (error.code === 'forbidden' || error.code === 'sign_in_required');
    if (refused) text = 'No longer open to you';
    else if (revoked) text = 'This link no longer works';
    else if (state === 'deleted') text = 'This document was deleted';
    else if (error) text = `Not saved: ${error.message || error.code}${pending ? ' — ' + pending : ''}`;
    else if (state === 'connected') text = role === 'viewer' ? 'Live (read-only)' : unsaved ? `Saving… ${pending}` : 'All changes saved';
    else if (state === 'offline') text = `Offline${pending ? ' — ' + pending : ''}`;
    else if (state === 'reconnecting') text = `Reconnecting…${pending ? ' ' + pending : ''}`;
    else if (state === 'error') text = 'Cannot open this document';
    else text = 'Connecting…';
    status.textContent = text;
    status.title = text; // all of it, where the bar shows its start (style.css: one row at 1280 px)
    status.dataset.state = state === 'deleted' ? state : error ? 'error' : state;
    status.dataset.unsaved = String(unsaved);
    // offline or reconnecting, who is here is not known: not "2 here" of a minute ago (the
    // next join's presence says again)
    people.dataset.stale = String(state !== 'connected');
    if (state !== 'connected' && state !== 'deleted') peerCount.textContent = 'Not connected';
    retry.hidden = !error || state === 'deleted';
    if (state === 'deleted') {
      // for good: no retry can help; what is on screen stays, to be copied
      const said = revoked && error.message ? ` ${error.message[0].toUpperCase()}${error.message.slice(1)}.` : '';
      const why = refused ? `The document's owner changed who may open it: ${error.message}.` : revoked ? `This link no longer works.${said}` : 'This document was deleted: its links no longer work.';
      notice.textContent = `${why}${unsaved ? ' The text below holds your last changes, which were not saved: copy it if you need it.' : ''}`;
      notice.hidden = false;
      document.body.dataset.deleted = 'true';
      if (editor) editor.setReadOnly(true); // typing here could never be saved
      showPeers([], null, null); // its people and cursors are gone with it
      people.hidden = true;
      if (error && error.reason) status.dataset.reason = error.reason;
      import('./recent.js').then((r) => r.forget(here)); // not offered again on the start page: it cannot open
    }
  }

  // ---- presence and cursors ----
  function showPeers(list, you, counts) {
    peers = list;
    const before = colors;
    colors = distinctColors(list.map((p) => [p.id, p.name, p.color]));
    showOwnColor(list, you, before);
    // a colour that changed changes everywhere: the text coloured by author too (it kept the
    // colour it was typed in, and disagreed with the people list)
    if (editor && (colors.size !== before.size || [...colors].some(([id, c]) => before.get(id) !== c))) {
      editor.recolorAuthors(nameColor);
      editor.setLocalAuthor({ name: nameInput.value, color: nameColor(nameInput.value) });
    }
    const items = list.map((p) => {
      const shown = personName({ author: p.name, account: p.account }); // a guest marked (with sign-in on)
      const li = el('li', { class: 'peer', title: `${shown} (${p.role})`, 'data-peer': p.id, 'data-account': p.account || null }, el('span', { class: 'dot', style: `background:${colors.get(p.id)}` }), shown + (p.id === you ? ' (you)' : ''));
      if (p.role === 'viewer') li.classList.add('viewer');
      return li;
    });
    // the server lists a few editors and counts everyone else (viewers are never listed)
    const listed = list.filter((p) => p.role !== 'viewer').length;
    const more = counts ? Math.max(0, counts.editors - listed) : 0;
    const watching = counts ? counts.viewers : 0;
    if (more || watching) {
      const parts = [more && `+${more} more`, watching && `${watching} viewing`].filter(Boolean);
      items.push(el('li', { class: 'peer more', id: 'peers-more' }, parts.join(', ')));
    }
    peerList.replaceChildren(...items);
    const total = counts ? counts.editors + counts.viewers : list.length; // everyone here, you included
    peerDots.replaceChildren(...list.slice(0, 4).map((p) => el('span', { class: 'dot', style: `background:${colors.get(p.id)}` })));
    peerCount.textContent = total <= 1 ? 'Only you' : `${total} here`;
    const here = new Set(list.map((p) => p.id));
    let changed = false;
    for (const [id, c] of cursors) {
      if (!here.has(id)) changed = cursors.delete(id) || changed;
      else if (c.color !== colors.get(id)) changed = Boolean((c.color = colors.get(id)));
    }
    if (changed) showCursors();
  }

  // ---- your colour ----
  let heldBy = null; // the peer id that has this page's pick (it was given the nearest free one)
  function togglePicker() {
    const open = colorButton.getAttribute('aria-expanded') !== 'true';
    colorButton.setAttribute('aria-expanded', String(open));
    if (!open) return colorBox.replaceChildren();
    import('./colorpicker.js').then(({ showPicker }) => showPicker(colorBox, (color) => conn.recolor(color)));
  }
  function showOwnColor(list, you, before) {
    const mine = you && colors.get(you);
    colorDot.style.background = mine || 'transparent';
    const pick = savedColor();
    const holder = pick && mine !== pick ? list.find((p) => p.id !== you && colors.get(p.id) === pick) : null;
    // the one who had it left: joining again asks for it back (once per holder)
    if (heldBy && !list.some((p) => p.id === heldBy) && pick && mine !== pick) conn.recolor(pick);
    heldBy = holder ? holder.id : null;
    if (pick && mine && mine !== pick) import('./colorpicker.js').then(({ explainColor }) => explainColor(colorNote, pick, mine, holder && holder.name));
    else colorNote.textContent = '';
    // the colours in the text follow: what is typed from now on, and the authors' spans
    if (editor && mine && before.get(you) !== mine) editor.setLocalAuthor({ name: nameInput.value, color: mine });
    if (authorsBox.checked && list.some((p) => before.has(p.id) && before.get(p.id) !== colors.get(p.id))) showAuthorship(true);
  }

  function showCursors() {
    if (!editor) return;
    const sync = conn.sync; // its offsets come from its text's chunks: no pass over the document
    const list = [...cursors.values()].map((c) => ({ ...c, anchor: sync.textIndex.cpToUtf16(c.anchor), head: sync.textIndex.cpToUtf16(c.head) }));
    editor.setCursors(list);
  }

  // ---- authorship colours ----
  const BLAME_TRIES = 5;
  async function showAuthorship(on) {
    if (!editor) return;
    if (!on) {
      editor.setAuthorship(null);
      authorsNote.textContent = '';
      return;
    }
    const key = readOnly ? view : doc;
    await keptColors(key);
    if (!authorsBox.checked) return;
    editor.setLocalAuthor({ name: nameInput.value, color: nameColor(nameInput.value) });
    for (let attempt = 0; attempt < BLAME_TRIES && authorsBox.checked; attempt++) {
      // the spans are of the confirmed version: they fit the screen when nothing is unsaved
      const version = conn.sync.version;
      authorsNote.textContent = '(finding who wrote what…)';
      try {
        const r = await fetch(`/api/docs/${encodeURIComponent(key)}/blame?version=${version}`);
        const body = await r.json();
        if (!r.ok) throw new Error(body.error ? body.error.message : `HTTP ${r.status}`);
        if (!authorsBox.checked) return;
        if (conn.sync.version === version && !conn.sync.unsaved) {
          const sync = conn.sync;
          editor.setAuthorship(body.spans.map((s) => ({ from: sync.textIndex.cpToUtf16(s.start), to: sync.textIndex.cpToUtf16(s.end), name: s.author, color: nameColor(s.author) })));
          authorsNote.textContent = '';
          return;
        }
      } catch (e) {
        authorsNote.textContent = `(could not colour: ${e.message})`;
        authorsBox.checked = false;
        return;
      }
      await new Promise((done) => setTimeout(done, 300 * (attempt + 1))); // typing went on: look again
    }
    if (authorsBox.checked) {
      authorsNote.textContent = '(the text keeps changing: try again in a moment)';
      authorsBox.checked = false;
    }
  }
  authorsBox.addEventListener('change', () => showAuthorship(authorsBox.checked));

  // ---- title: the first heading, in the tab, the bar and this device's recent list ----
  const here = readOnly ? `/v/${view}` : `/d/${doc}`;
  let titleTimer = null;
  let shownTitle = null;
  let chosenTitle = null; // the title its editors chose (the join's `title`, then `title` messages)
  // loaded after the first paint (the title can wait a moment; the first load cannot grow)
  const titling = Promise.all([import('./core/title.js'), import('./recent.js')]);
  async function showTitle() {
    titleTimer = null;
    const [{ titleOf, TITLE_SCAN }, { remember }] = await titling;
    const t = chosenTitle || titleOf(conn.sync.textIndex.slice(0, TITLE_SCAN)); // its start only: no copy of a 4 M text
    if (t === shownTitle) return;
    shownTitle = t;
    document.title = `${t || (readOnly ? 'Read-only' : doc)} · collab`;
    title.textContent = t || (readOnly ? 'Read-only' : doc);
    title.classList.toggle('titled', Boolean(t));
    title.title = readOnly ? `${t ? t + ' — ' : ''}read-only` : t ? `${t} — ${doc}` : doc;
    if (document.body.dataset.deleted !== 'true') remember(here, t, readOnly);
  }
  function scheduleTitle() {
    if (!titleTimer) titleTimer = setTimeout(showTitle, 1000);
  }

  // ---- preview ----
  let previewTimer = null;
  function renderPreview() {
    previewTimer = null;
    if (!preview || previewPane.hidden) return;
    const index = conn.sync.textIndex;
    const part = previewPart(index.length, (a, b) => index.slice(a, b), editor ? editor.view.state.selection.main.head : 0);
    if (!part) return preview.render(previewPane, conn.sync.text, { readOnly });
    const note = `This document is long (${index.length.toLocaleString('en')} characters): the preview shows the part around the cursor, characters ${part.from.toLocaleString('en')}–${part.to.toLocaleString('en')}. Move the cursor to see another part.`;
    preview.render(previewPane, part.text, { readOnly, lineOffset: part.lineOffset, note });
  }
  function schedulePreview() {
    // a long document's part: less often (each render reads the text up to the cursor)
    const wait = conn.sync.textIndex.length > PART_LIMIT ? 800 : 120;
    if (!previewTimer && !previewPane.hidden) previewTimer = setTimeout(renderPreview, wait);
  }
  // a task's checkbox in the preview ticks its line in the source: an ordinary edit (undoable, sent)
  previewPane.addEventListener('click', (e) => {
    const box = e.target.closest('input.task-list-item-checkbox');
    if (!box) return;
    e.preventDefault(); // the box shows what the text says, once re-rendered
    const item = box.closest('li[data-line]');
    const change = editor && !readOnly && item && taskToggle(editor.text(), Number(item.dataset.line));
    if (!change) return;
    editor.view.dispatch({ changes: change, userEvent: 'input.task' });
    editor.view.focus(); // so that Ctrl+Z takes the tick back at once
  });
  async function setPreview(on) {
    togglePreview.setAttribute('aria-pressed', String(on));
    previewPane.hidden = !on;
    body.classList.toggle('with-preview', on);
    if (on) {
      await loadPreview();
      renderPreview();
    }
  }
  // Ctrl+P prints the rendered document too, once the preview module is here (it is by then if
  // the File menu or the preview was used; else the text is printed as the editor shows it)
  window.addEventListener('beforeprint', () => preview && preview.render(previewPane, conn.sync.text, { readOnly: true, light: true }));
  window.addEventListener('afterprint', () => renderPreview());
  onThemeChange(() => renderPreview()); // diagrams are drawn in the theme's colours

  // ---- connection ----
  const conn = new Connection({
    doc,
    view,
    name: nameInput.value,
    color: readOnly ? null : savedColor(),
    onStatus: showStatus,
    onPresence: showPeers,
    onCursor: (m) => {
      if (typeof m.anchor !== 'number' || typeof m.head !== 'number') return;
      const peer = peers.find((p) => p.id === m.peer);
      cursors.set(m.peer, { anchor: m.anchor, head: m.head, name: personName({ author: m.name || (peer && peer.name) || 'someone', account: m.account || (peer && peer.account) }), color: colorOf(m.peer, peer && peer.name) });
      showCursors();
    },
    onServerDisconnect: () => body.dataset.signIn && checkAccount(),
    // an edit link that only lets this person read (the owner's setting), now or from now on
    onRole: (role) => {
      body.dataset.role = role;
      offerShare();
      if (editor && !readOnly && !conn.gone) editor.setReadOnly(role === 'viewer');
    },
    onTitle: (t) => {
      if (t === chosenTitle) return;
      chosenTitle = t;
      title.dataset.chosen = t ? 'true' : 'false';
      showTitle();
    },
    onRemoteChange: (ops, origin, author) => {
      if (!editor) return;
      editor.applyRemote(ops, () => conn.sync.text, author ? { name: author, color: nameColor(author) } : null);
      schedulePreview();
      scheduleTitle();
    },
    onReady: ({ view: token }) => {
      if (token) viewUrl = `${location.origin}/v/${token}`;
      if (!editor) start(conn.sync.text);
      if (!readOnly && !viewUrl) fetchViewUrl();
    },
  });

  function start(text) {
    editor = createEditor(editorPane, {
      text,
      readOnly,
      onTab: showTabHint,
      onDropFile: readOnly ? null : (file) => files.importFile(file),
      onImages: readOnly ? null : addImages,
      onLocalChange: (from, to, insert) => {
        conn.localEdit(from, to, insert);
        schedulePreview();
        scheduleTitle();
      },
      onSelection: (anchor, head) => {
        if (conn.sync.textIndex.length > PART_LIMIT) schedulePreview(); // the part shown follows the cursor
        if (readOnly) return;
        conn.sendCursor(conn.sync.textIndex.utf16ToCp(anchor), conn.sync.textIndex.utf16ToCp(head));
      },
    });
    window.collab = { conn, sync: conn.sync, editor, files, preview: () => preview }; // (preview: its module, once loaded)
    showTitle();
    if (!readOnly) editor.view.focus();
  }

  // images pasted or dropped: uploaded by images.js (loaded on first use), each then named in
  // the text where it was put, a position tracked from now on (typing may go on meanwhile)
  function addImages(list, pos) {
    const at = editor.track(pos);
    import('./images.js').then((m) => m.addImages(editor, at, list, { doc, say: sayFile, maxBytes: Number(body.dataset.maxImageBytes) }));
  }

  async function fetchViewUrl() {
    // a server whose join answer has no `view`: its links, by edit id (creating nothing)
    try {
      const r = await fetch(`/api/docs/${encodeURIComponent(doc)}/links`);
      if (r.ok) viewUrl = (await r.json()).view_url;
    } catch {
      /* offline: try again on the next click */
    }
  }
  copyView.addEventListener('click', () => !viewUrl && fetchViewUrl().then(() => viewUrl && copy(viewUrl, copyView)));

  // A document restored from localStorage can be edited at once, even offline.
  if (conn.restored) start(conn.sync.text);
  conn.start();
  if ('serviceWorker' in navigator) {
    // Keep this page's shell for an offline reload (the worker precaches the bundle).
    navigator.serviceWorker.register('/sw.js').catch(() => {});
    if (window.caches) caches.open('collab-shell-v1').then((c) => c.add(location.pathname)).catch(() => {});
  }
}

main();
