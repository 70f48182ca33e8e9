// What every page (start, editor and viewer, history) shares: `el()` to build elements, the
// colour of a person, and the display name this browser keeps.
// Every user string goes in as text (text nodes, attributes), never as HTML.

/**
 * `el('a', {href, class, onclick}, 'text', child)`: an element with these attributes (`class`
 * sets className, `on...` adds a listener; false, null and undefined leave an attribute out,
 * true sets it empty) and children (strings become text nodes; null and undefined are skipped).
 */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== false && v !== null && v !== undefined) e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

const COLORS = ['#e11d48', '#2563eb', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#ea580c', '#4f46e5'];

/** A stable colour for a peer id or an author's name: the same key, the same colour, on every page. */
export function colorFor(key) {
  let h = 0;
  for (const ch of String(key)) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return COLORS[h % COLORS.length];
}

const NAME_KEY = 'collab:name';

/**
 * The display name this browser uses (editor presence, and the author of a restore or revert
 * made on the history page); the first call picks "Guest NNN" and keeps it.
 */
export function savedName() {
  try {
    let name = localStorage.getItem(NAME_KEY);
    if (!name) {
      name = guestName();
      localStorage.setItem(NAME_KEY, name);
    }
    return name;
  } catch {
    return guestName(); // storage off: a name for this page only
  }
}

/** Keep `name` (trimmed, at most 64 characters; blank keeps the current one); returns the name kept. */
export function saveName(name) {
  const kept = String(name).trim().slice(0, 64) || savedName();
  localStorage.setItem(NAME_KEY, kept);
  return kept;
}

function guestName() {
  return `Guest ${Math.floor(100 + Math.random() * 900)}`;
}
