// Who is signed in (COLLAB_SIGN_IN on the server; the page says so with data-sign-in): the
// editor bar's Name field shows the account's name, read-only (the server writes under it,
// whatever the field says), with a Sign out button; a guest gets a Sign in link.
// Nothing here runs on a server without sign-in.

import { el } from './dom.js';

// `nameInput`: the editor bar's Name field, or null (the start page: the name is shown beside)
export async function accountControls(nameInput, onAccount = () => {}) {
  if (!document.body.dataset.signIn) return null;
  const box = el('span', { id: 'account', class: 'account' });
  let me = null;
  try {
    const r = await fetch('/api/me', { headers: { Accept: 'application/json' } });
    if (r.ok) me = await r.json();
  } catch {
    return null; // offline: the page goes on as a guest's
  }
  const account = me && me.account;
  if (!account) {
    const back = encodeURIComponent(location.pathname);
    box.append(el('a', { id: 'sign-in', href: `/signin?next=${back}` }, 'Sign in'));
    return box;
  }
  if (nameInput) {
    nameInput.value = account.name;
    nameInput.readOnly = true;
    nameInput.title = `Signed in as ${account.email}: your revisions carry this account's name`;
    // another tab's guest name (dom.js follows it) does not replace the account's here
    window.addEventListener('storage', () => (nameInput.value = account.name));
  } else {
    box.append(el('span', { id: 'signed-in-as', class: 'muted' }, account.name, ' '));
  }
  onAccount(account.name);
  // by fetch, not a form: these pages send no referrer, and a form's POST then carries
  // `Origin: null`, which the server's Origin check refuses; fetch() sends the real origin
  // the answer's `next`: where to go instead of the start page (COLLAB_SIGN_IN=proxy: the
  // proxy's own sign-out, which would otherwise sign the browser in again)
  const signOut = async () => {
    let next = '/';
    try {
      const r = await fetch('/api/signout', { method: 'POST', headers: { Accept: 'application/json' } });
      const body = r.ok ? await r.json() : null;
      if (body && typeof body.next === 'string') next = body.next;
    } finally {
      location.assign(next);
    }
  };
  box.append(el('button', { id: 'sign-out', class: 'link', type: 'button', onclick: signOut }, 'Sign out'));
  return box;
}
