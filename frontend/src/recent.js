// The documents opened in this browser ("recent on this device"), kept in localStorage:
// [{path: "/d/<id>" or "/v/<token>", title, readOnly, at (ms)}], the newest first, at most
// MAX. Nothing leaves the browser. Unreadable or full storage: the list is simply empty.

const KEY = 'collab:recent:v1';
export const MAX = 50;

export function recentList() {
  try {
    const list = JSON.parse(localStorage.getItem(KEY) || '[]');
    return Array.isArray(list) ? list.filter((d) => d && typeof d.path === 'string' && /^\/[dv]\/[A-Za-z0-9_-]{1,64}$/.test(d.path)) : [];
  } catch {
    return [];
  }
}

function save(list) {
  try {
    localStorage.setItem(KEY, JSON.stringify(list.slice(0, MAX)));
  } catch {
    /* storage full or off: nothing remembered */
  }
}

export function remember(path, title, readOnly) {
  const old = recentList().filter((d) => d.path !== path);
  save([{ path, title: String(title || ''), readOnly: Boolean(readOnly), at: Date.now() }, ...old]);
}

export function forget(path) {
  save(recentList().filter((d) => d.path !== path));
}

export function forgetAll() {
  save([]);
}

const RELATIVE = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "3 days ago", "just now": when `at` (ms) was, for a list of documents. */
export function ago(at) {
  const s = (at - Date.now()) / 1000;
  for (const [unit, size] of [['year', 31536000], ['month', 2592000], ['week', 604800], ['day', 86400], ['hour', 3600], ['minute', 60]]) {
    if (Math.abs(s) >= size) return RELATIVE.format(Math.round(s / size), unit);
  }
  return 'just now';
}

/** Whether a title shows anything: zero-width characters only are no title (the entry needs a name to click). */
export const shows = (title) => /[^\s\u200b-\u200f\u2060-\u2064\ufeff]/.test(title || '');
