// "My documents" on the start page, for a signed-in person: what they opened on any device,
// from the server (GET /api/me/docs: search by title, sort by last change, last opening or
// title). A document opened by its edit link may be renamed or deleted from here; any may be
// taken off the list. Loaded only once the page knows its person is signed in.

import { el } from './dom.js';
import { ago, shows } from './recent.js';

const SORTS = [['changed', 'Last change'], ['opened', 'Last opened'], ['title', 'Title']];

async function call(method, url, body) {
  const r = await fetch(url, {
    method, headers: { Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (r.ok) return r.status === 204 ? null : r.json();
  let message = `HTTP ${r.status}`;
  try {
    message = (await r.json()).error.message;
  } catch {
    /* not our JSON: the status says enough */
  }
  throw new Error(message);
}

export function showMine(box) {
  const status = el('p', { id: 'mine-status', class: 'muted', role: 'status' });
  const search = el('input', { id: 'mine-search', type: 'search', placeholder: 'Search by title', 'aria-label': 'Search my documents by title' });
  const sort = el('select', { id: 'mine-sort', 'aria-label': 'Sort my documents' },
    ...SORTS.map(([value, label]) => el('option', { value }, label)));
  const list = el('ul', { id: 'mine-list', class: 'recent-list' });
  box.replaceChildren(el('h2', { id: 'mine-title' }, 'My documents'),
    el('div', { class: 'mine-tools' }, search, sort), status, list);
  box.hidden = false;
  let asked = 0;

  async function act(what, fn) {
    status.textContent = `${what}…`;
    try {
      await fn();
      await load();
    } catch (e) {
      status.textContent = `Could not ${what.toLowerCase()}: ${e.message}`;
    }
  }

  function item(d) {
    const name = shows(d.title) ? d.title : 'Untitled';
    const id = d.url.slice(3);
    const editable = d.role === 'editor';
    return el('li', { class: 'recent-item' },
      el('a', { href: d.url, title: editable ? id : 'Read-only link' }, el('bdi', {}, name)), // its direction kept inside
      d.relation === 'owned' ? el('span', { class: 'tag' }, 'yours') : d.relation === 'shared' ? el('span', { class: 'tag' }, 'shared with you') : '',
      editable ? '' : el('span', { class: 'tag' }, 'read-only'),
      el('span', { class: 'muted small', title: `version ${d.version}` }, `changed ${ago(d.changed * 1000)}`),
      d.manage ? el('button', { class: 'link', type: 'button', 'aria-label': `Rename ${name}`, onclick: () => {
        const to = window.prompt(`A new name (edit link) for “${name}”. The old link stops working for everyone.`, id);
        if (to && to !== id) act('Rename', () => call('POST', `/api/docs/${id}/rename`, { id: to.trim() }));
      } }, 'Rename') : '',
      d.manage ? el('button', { class: 'link danger', type: 'button', 'aria-label': `Delete ${name}`, onclick: () => {
        if (window.confirm(`Delete “${name}” and all its history, for everyone? This cannot be undone.`)) act('Delete', () => call('DELETE', `/api/docs/${id}`));
      } }, 'Delete') : '',
      // what is theirs or shared with them stays listed: only what they merely opened goes
      d.relation === 'opened' ? el('button', { class: 'link forget', type: 'button', title: 'Remove from this list (the document stays)', 'aria-label': `Remove ${name} from my documents`,
        onclick: () => act('Remove', () => call('DELETE', `/api/me/docs${d.url}`)) }, '×') : '');
  }

  async function load() {
    const mine = ++asked;
    try {
      const q = new URLSearchParams({ q: search.value.trim(), sort: sort.value });
      const { docs } = await call('GET', `/api/me/docs?${q}`);
      if (mine !== asked) return; // a later search answered first
      list.replaceChildren(...docs.map(item));
      status.textContent = docs.length ? '' : search.value.trim() ? 'No title matches.' : 'Documents you open while signed in appear here, on every device.';
    } catch (e) {
      if (mine === asked) status.textContent = `Could not load your documents: ${e.message}`;
    }
  }

  let timer = 0;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(load, 150);
  });
  sort.addEventListener('change', load);
  return load();
}
