// The start page: create a new document, open one by name, or one opened before in this
// browser (recent.js: the list never leaves the device).

import { accountControls } from './account.js';
import { el, themeToggle } from './dom.js';
import { ago as when, forget, forgetAll, recentList, shows } from './recent.js';

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

const error = el('p', { id: 'start-error', class: 'error', role: 'alert' });
// COLLAB_CREATE=signed_in and nobody signed in (the server says so with data-create): no
// "New document" a guest could not use, but the way to sign in first
const guest = document.body.dataset.create === 'signed_in';
const create = guest
  ? el('a', { id: 'new-doc-sign-in', class: 'button primary', href: '/signin?next=/' }, 'Sign in to create a document')
  : el('button', { id: 'new-doc', class: 'primary', type: 'button' }, 'New document');
const name = el('input', { id: 'open-name', name: 'doc', placeholder: 'document name', pattern: '[A-Za-z0-9_-]{1,64}', required: '', 'aria-label': 'Document name' });
const form = el('form', { id: 'open-form', class: 'open' }, name, el('button', { type: 'submit' }, 'Open'));

create.addEventListener('click', async () => {
  create.disabled = true;
  error.textContent = '';
  try {
    const r = await fetch('/api/docs', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error ? body.error.message : `HTTP ${r.status}`);
    location.assign(new URL(body.edit_url, location.href).pathname);
  } catch (e) {
    error.textContent = `Could not create a document: ${e.message}`;
    create.disabled = false;
  }
});

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const doc = name.value.trim();
  if (!ID_RE.test(doc)) {
    error.textContent = 'A document name is 1-64 of A-Z a-z 0-9 _ -';
    return;
  }
  location.assign('/d/' + doc);
});

// ---- recent on this device ----
const recentBox = el('section', { id: 'recent', class: 'recent', 'aria-labelledby': 'recent-title' });
function showRecent(filter = '') {
  const all = recentList();
  recentBox.hidden = all.length === 0;
  if (!all.length) return recentBox.replaceChildren();
  const needle = filter.trim().toLowerCase();
  const shown = all.filter((d) => !needle || (d.title || d.path).toLowerCase().includes(needle));
  const items = shown.map((d) => {
    const name = shows(d.title) ? d.title : d.readOnly ? 'Untitled (read-only link)' : d.path.slice(3);
    return el('li', { class: 'recent-item' },
      el('a', { href: d.path, title: d.readOnly ? 'Read-only link' : d.path.slice(3) }, el('bdi', {}, name)),
      d.readOnly ? el('span', { class: 'tag' }, 'read-only') : '',
      el('span', { class: 'muted small' }, when(d.at)),
      el('button', { class: 'link forget', type: 'button', title: 'Remove from this list (the document stays)', 'aria-label': `Remove ${name} from this list`, onclick: () => { forget(d.path); showRecent(search.value); } }, '×'));
  });
  recentBox.replaceChildren(
    el('h2', { id: 'recent-title' }, 'Recent on this device'),
    all.length > 5 ? search : '',
    items.length ? el('ul', { class: 'recent-list' }, ...items) : el('p', { class: 'muted' }, 'No title matches.'),
    el('button', { id: 'recent-clear', class: 'link', type: 'button', onclick: () => { forgetAll(); showRecent(); } }, 'Clear this list'),
  );
}
const search = el('input', { id: 'recent-search', type: 'search', placeholder: 'Search by title', 'aria-label': 'Search recent documents by title' });
search.addEventListener('input', () => {
  showRecent(search.value);
  search.focus();
});
showRecent();
window.addEventListener('storage', () => showRecent(search.value)); // another tab opened one

// signed in: "my documents", from the server (mydocs.js, loaded only then)
const mineBox = el('section', { id: 'mine', class: 'recent', 'aria-labelledby': 'mine-title', hidden: true });
const startBar = el('header', { class: 'start-bar' }, themeToggle());
accountControls(null, () => import('./mydocs.js').then((m) => m.showMine(mineBox))).then((box) => box && startBar.prepend(box)); // with COLLAB_SIGN_IN only
document.body.append(
  startBar,
  el('main', { class: 'start' },
    el('h1', {}, 'collab'),
    el('p', {}, 'Write together, in real time. Share the edit link with people who may change the text, the read-only link with everyone else.'),
    create,
    el('p', { class: 'or' }, 'or open a document by name'),
    form,
    // a chosen name is the edit link itself: anyone who guesses it can edit
    el('p', { id: 'name-warning', class: 'muted' },
      'A name you choose can be guessed, and whoever guesses it can read and change the document. ',
      'For anything private, use New document: its link has a random id that cannot be guessed.'),
    error,
    mineBox,
    recentBox,
  ),
);
