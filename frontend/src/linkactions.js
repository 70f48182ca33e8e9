// The Share menu's "New read-only link" and "New edit link": withdraw a link that went too far.
// The old one stops working at once for everyone (on every server process), and whoever was
// using it is told so; the new one is copied for the person who made it. Loaded on first use.

const NOTE_KEY = 'collab:note'; // a line for the next page of this tab (sessionStorage)

async function post(url, body) {
  const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body || {}) });
  const answer = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(answer.error ? answer.error.message : `HTTP ${r.status}`);
  return answer;
}

/**
 * @param {object} o
 * @param {string} o.doc                 the edit id
 * @param {(url: string) => void} o.setViewUrl
 * @param {(text: string) => Promise<boolean>} o.copy   copies, true when it could
 * @param {(message: string, opts?: object) => void} o.say
 */
export async function newViewLink(o) {
  if (!window.confirm('Make a new read-only link?\n\nThe current read-only link stops working at once: everyone who has it loses access, and people reading with it now are cut off. The edit link is not affected.')) return;
  o.say('Making a new read-only link…');
  try {
    const { view_url: url } = await post(`/api/docs/${encodeURIComponent(o.doc)}/view-token`);
    o.setViewUrl(url);
    const copied = await o.copy(url);
    o.say(`New read-only link made${copied ? ' and copied' : ''}: ${url} — the old one no longer works.`, { done: true });
  } catch (e) {
    o.say(`Could not make a new read-only link: ${e.message}`, { error: true });
  }
}

/**
 * @param {object} o  as newViewLink, and:
 * @param {() => number} o.unsaved  changes of this tab not yet saved
 */
export async function newEditLink(o) {
  if (o.unsaved() > 0) {
    o.say('Wait until all changes are saved, then make the new edit link.', { error: true });
    return;
  }
  if (!window.confirm('Make a new edit link?\n\nThis page’s address, the current edit link, stops working at once: everyone else editing with it is cut off and needs the new link from you. The history and the read-only link stay.')) return;
  o.say('Making a new edit link…');
  try {
    const { doc, edit_url: url } = await post(`/api/docs/${encodeURIComponent(o.doc)}/rename`);
    const copied = await o.copy(url);
    try {
      sessionStorage.setItem(NOTE_KEY, `This is the document’s new edit link${copied ? ' (copied)' : ''}: the old one no longer works. Share this one with the people who may edit.`);
    } catch {
      /* storage off: no note on the new page */
    }
    location.replace(`/d/${encodeURIComponent(doc)}`);
  } catch (e) {
    o.say(`Could not make a new edit link: ${e.message}`, { error: true });
  }
}

/** The note the page before left for this one, once. */
export function takeNote() {
  try {
    const note = sessionStorage.getItem(NOTE_KEY);
    sessionStorage.removeItem(NOTE_KEY);
    return note;
  } catch {
    return null;
  }
}
