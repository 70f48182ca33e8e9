// The start page: create a new document, or open one by name.

import { el, themeToggle } from './dom.js';

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

const error = el('p', { id: 'start-error', class: 'error', role: 'alert' });
const create = el('button', { id: 'new-doc', class: 'primary', type: 'button' }, 'New document');
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

document.body.append(
  el('header', { class: 'start-bar' }, themeToggle()),
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
  ),
);
