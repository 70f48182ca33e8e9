// The owner's share dialog (issue 14, per-document permissions): the two links, who may edit and
// who may view (anyone with the link / signed-in people with it / only people invited), the
// people invited with their roles, invite by email or name, remove. Loaded only on a signed-in
// person's page (main.js, after account.js knows them): it asks the server whether this person
// owns the document (GET /api/docs/<id>/access: 200 only for the owner) and, if so, adds
// "Share and permissions…" to the File menu; nothing shows for anyone else. Every user string
// goes in as text, never as HTML. The server re-checks connected people itself when a setting
// changes (docs/protocol.md, `role` and `gone`).

import { el } from './dom.js';

const POLICIES = [
  ['link', 'Anyone with the link'],
  ['signed_in', 'Signed-in people with the link'],
  ['invited', 'Only people invited'],
];
const CSS = `
#share-dialog{max-width:34rem;width:calc(100% - 2rem);border:1px solid var(--border,#999);border-radius:8px;padding:1rem 1.25rem;background:var(--bg,#fff);color:var(--fg,#111)}
#share-dialog::backdrop{background:rgb(0 0 0 / .35)}
#share-dialog h2{margin:0 0 .75rem;font-size:1.15rem}
#share-dialog fieldset{border:0;padding:0;margin:0 0 .9rem}
#share-dialog legend{font-weight:600;margin-bottom:.3rem}
#share-dialog .row{display:flex;gap:.5rem;align-items:center;flex-wrap:wrap;margin:.25rem 0}
#share-dialog .row input[readonly]{flex:1;min-width:12rem;font:inherit;font-size:.85rem}
#share-dialog label.policy{display:flex;justify-content:space-between;gap:.75rem;align-items:center;margin:.3rem 0}
#share-dialog ul{list-style:none;padding:0;margin:.25rem 0}
#share-dialog li{display:flex;gap:.5rem;align-items:center;justify-content:space-between;padding:.25rem 0;border-bottom:1px solid var(--border,#ddd)}
#share-dialog li .who{flex:1;overflow-wrap:anywhere}
#share-dialog #share-invite-person{flex:1;min-width:10rem;font:inherit}
#share-dialog #share-message{min-height:1.3em;margin:.4rem 0}
#share-dialog #share-message[data-error]{color:var(--error,#b91c1c)}
#share-dialog .actions{display:flex;justify-content:flex-end}
`;

const api = (doc, path = '') => `/api/docs/${encodeURIComponent(doc)}${path}`;

async function call(url, method = 'GET', body) {
  const r = await fetch(url, {
    method,
    headers: { Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const answer = await r.json().catch(() => null);
  if (!r.ok) throw new Error((answer && answer.error && answer.error.message) || `the server answered ${r.status}`);
  return answer;
}

/**
 * If the signed-in person owns `doc`, add "Share and permissions…" to the File menu (`menu`:
 * its .menu-items element). Returns whether it did.
 */
export async function offerShare(doc, menu) {
  let access;
  try {
    access = await call(api(doc, '/access'));
  } catch {
    return false; // not the owner (403), signed out, offline: nothing to offer
  }
  const item = el('button', { id: 'share-permissions', type: 'button', role: 'menuitem' }, 'Share and permissions…');
  item.addEventListener('click', () => {
    item.closest('details')?.removeAttribute('open');
    // as it is now (changed in another tab meanwhile?), else as it was
    call(api(doc, '/access')).catch(() => access).then((now) => openDialog(doc, (access = now)));
  });
  menu.prepend(item);
  return true;
}

function openDialog(doc, first) {
  if (!document.querySelector('#share-css')) document.head.append(el('style', { id: 'share-css' }, CSS));
  document.querySelector('#share-dialog')?.remove();
  const message = el('p', { id: 'share-message', role: 'status' });
  const say = (text, error = false) => {
    message.textContent = text;
    message.toggleAttribute('data-error', error);
  };
  const linkRow = (id, label, url) => {
    const input = el('input', { id, readonly: true, value: url, 'aria-label': label });
    const copy = el('button', { type: 'button', onclick: () => {
      input.select();
      const done = () => say(`${label} copied.`);
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(url).then(done, () => document.execCommand('copy'));
      else document.execCommand('copy') && done();
    } }, 'Copy');
    return el('div', { class: 'row' }, el('span', {}, label), input, copy);
  };
  const select = (id, value, options) => {
    const s = el('select', { id });
    for (const [v, label] of options) s.append(el('option', { value: v, selected: v === value }, label));
    return s;
  };
  const editSel = select('share-edit', first.edit, POLICIES);
  const viewSel = select('share-view', first.view, POLICIES);
  const members = el('ul', { id: 'share-members' });
  const person = el('input', { id: 'share-invite-person', placeholder: 'Email or name of an account', autocomplete: 'off' });
  const role = select('share-invite-role', 'editor', [['editor', 'may edit'], ['viewer', 'may view']]);
  const invite = el('button', { id: 'share-invite', type: 'submit', class: 'primary' }, 'Invite');

  // "may view" limits nobody who holds the edit link while anyone (signed in) with it may
  // edit: say so beside the members, instead of a promise the policy does not keep
  const caveat = el('p', { id: 'share-caveat', class: 'muted small', hidden: true });
  const show = (access) => {
    editSel.value = access.edit;
    viewSel.value = access.view;
    const loose = access.edit !== 'invited' && access.members.some((m) => m.role === 'viewer');
    caveat.hidden = !loose;
    caveat.textContent = loose ? `While ${access.edit === 'link' ? 'anyone' : 'any signed-in person'} with the edit link may edit, someone invited to view edits too if they have that link: choose “only people invited” to keep them to viewing.` : '';
    members.replaceChildren();
    if (!access.members.length) members.append(el('li', { class: 'muted' }, 'Nobody is invited yet.'));
    for (const m of access.members) {
      const remove = el('button', { type: 'button', class: 'link', 'data-remove': m.id, 'aria-label': `Remove ${m.name}` }, 'Remove');
      remove.addEventListener('click', () => change(api(doc, `/members/${encodeURIComponent(m.id)}`), 'DELETE', null, `${m.name} is no longer invited.`));
      members.append(el('li', { 'data-member': m.id }, el('span', { class: 'who' }, m.name), el('span', { class: 'role' }, m.role === 'editor' ? 'may edit' : 'may view'), remove));
    }
  };
  async function change(url, method, body, done) {
    say('Saving…');
    try {
      show(await call(url, method, body));
      say(done);
      return true;
    } catch (e) {
      say(e.message[0].toUpperCase() + e.message.slice(1), true);
      return false;
    }
  }
  const policies = () => change(api(doc, '/access'), 'PUT', { edit: editSel.value, view: viewSel.value }, 'Saved: people connected now are checked again at once.');
  editSel.addEventListener('change', policies);
  viewSel.addEventListener('change', policies);
  const form = el('form', { class: 'row', id: 'share-invite-form' }, person, role, invite);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const who = person.value.trim();
    if (!who) return say('Type the email or name of the person to invite.', true);
    if (await change(api(doc, '/members'), 'POST', { person: who, role: role.value }, `${who} is invited: they ${role.value === 'editor' ? 'may edit' : 'may view'} once signed in.`)) person.value = '';
  });
  const dialog = el(
    'dialog',
    { id: 'share-dialog', 'aria-labelledby': 'share-title' },
    el('h2', { id: 'share-title' }, 'Share and permissions'),
    el('fieldset', {}, el('legend', {}, 'Links'), linkRow('share-edit-link', 'Edit link', first.links.edit), linkRow('share-view-link', 'Read-only link', first.links.view)),
    el('fieldset', {}, el('legend', {}, 'Who may…'), el('label', { class: 'policy' }, 'edit (with the edit link)', editSel), el('label', { class: 'policy' }, 'view (with either link)', viewSel)),
    el('fieldset', {}, el('legend', {}, 'People invited'), members, caveat, form),
    message,
    el('div', { class: 'actions' }, el('button', { id: 'share-close', type: 'button', onclick: () => dialog.close() }, 'Close')),
  );
  dialog.addEventListener('close', () => dialog.remove());
  show(first);
  document.body.append(dialog);
  dialog.showModal();
}
