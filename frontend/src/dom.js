// What every page (start, editor and viewer, history) shares: `el()` to build elements, the
// colour of a person, how a person's name is shown (`personName`: guests marked), the display
// name this browser keeps, and the light or dark theme.
// Every user string goes in as text (text nodes, attributes), never as HTML.

/**
 * The name of `who` (a revision, a blame span: `{author, account?}`) as shown wherever people
 * are named (presence, cursors, history, blame): with sign-in
 * on (the page's data-sign-in), whoever has no account is marked "(guest)", always, not only
 * when the name is a registered person's: a guest can call themselves anything, and telling
 * which names are registered would tell strangers who has an account.
 */
export const personName = (who) => (who.account || !document.body.dataset.signIn ? who.author : `${who.author} (guest)`);

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

// the palette (collab/core/palette.py, the same list: a test compares them): each reaches WCAG AA
// in both themes (3:1 on either background, 4.5:1 for a cursor's white label on it), in hue
// order, so a colour taken gives way to its neighbour
const COLORS = ['#d41111', '#aa4f0e', '#89630b', '#52760a', '#0a7b26', '#0a766d', '#0d6fa0', '#185fec', '#7147f0', '#a413ec', '#c110a4', '#cb105e'];

function colorIndex(key) {
  let h = 0;
  for (const ch of String(key)) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return h % COLORS.length;
}

/** A stable colour for an author's name: the same name, the same colour, on every page. */
export function colorFor(key) {
  return COLORS[colorIndex(key)];
}

export { COLORS }; // (colors.js: the colours of people present, and the one picked)

/**
 * `colorOf(key, name)`: the colour `key` got when first asked for, chosen as distinctColors
 * chooses (for a page that meets people one by one: the authors of a history, as it loads).
 * `taken`: indexes of colours already given (distinctColors: the picked ones).
 */
export function colorBook(taken = new Set()) {
  const colors = new Map();
  return (key, name = key) => {
    if (!colors.has(key)) {
      let i = colorIndex(name);
      for (let step = 0; step < COLORS.length && taken.has(i); step++) i = (i + 1) % COLORS.length;
      if (taken.size >= COLORS.length) i = colorIndex(name); // more people than colours: shared again
      taken.add(i);
      colors.set(key, COLORS[i]);
    }
    return colors.get(key);
  };
}

const NAME_KEY = 'collab:name';
let pageName = null; // the name this page uses: what storage keeps, or, with storage off, this page's own
let pageOnly = false; // this page's rename could not be stored (storage off or full): it is the name here

/**
 * Who this browser is: the display name of editor presence and the author of a restore or a
 * revert made on the history page, one name for both. The first call picks "Guest NNN" and
 * keeps it; with storage off (blocked, full) the page keeps it instead, so every write this page
 * makes has the same author, never a new guest each time.
 */
export function savedName() {
  if (pageOnly) return pageName;
  const stored = readStored();
  if (stored) return (pageName = stored);
  pageName = pageName || guestName();
  store(pageName);
  return pageName;
}

/** Keep `name` (trimmed, at most 64 characters; blank keeps the current one); returns the name kept. */
export function saveName(name) {
  const kept = String(name).trim().slice(0, 64) || savedName();
  pageName = kept;
  pageOnly = !store(kept);
  return kept;
}

const RENAME_AFTER_MS = 1000; // typing that stopped this long is a rename

/**
 * The "Your name" field of a page: shows savedName() and keeps what is typed as it is typed,
 * so a history page open in another tab credits its next restore to the name on screen; it
 * follows a rename made in another tab. `onRename(name)` runs once per new name: on Enter or
 * leaving the field, or a second after the typing (here or in another tab) stopped.
 */
export function nameField({ onRename = () => {} } = {}) {
  const input = el('input', { id: 'name', maxlength: '64', 'aria-label': 'Your name', value: savedName() });
  let renamed = input.value; // the name onRename last had
  let timer = null;
  const rename = () => {
    clearTimeout(timer);
    if (pageName !== renamed) onRename((renamed = pageName));
  };
  input.addEventListener('input', () => {
    if (!input.value.trim()) return; // a blank field keeps the name
    saveName(input.value);
    clearTimeout(timer);
    timer = setTimeout(rename, RENAME_AFTER_MS);
  });
  input.addEventListener('change', () => {
    input.value = saveName(input.value);
    rename();
  });
  window.addEventListener('storage', (e) => {
    if (e.key !== NAME_KEY || !e.newValue || e.newValue === pageName) return;
    pageName = e.newValue;
    pageOnly = false; // another tab could store a name: follow it
    if (document.activeElement !== input) input.value = e.newValue;
    clearTimeout(timer);
    timer = setTimeout(rename, RENAME_AFTER_MS);
  });
  return input;
}

function readStored() {
  try {
    return localStorage.getItem(NAME_KEY);
  } catch {
    return null; // storage off
  }
}

/** Whether storage kept `name` (off or full: no). */
function store(name) {
  try {
    localStorage.setItem(NAME_KEY, name);
    return true;
  } catch {
    return false;
  }
}

function guestName() {
  return `Guest ${Math.floor(100 + Math.random() * 900)}`;
}

const THEME_KEY = 'collab:theme'; // theme.js reads it before the first paint
const systemDark = () => window.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false;

function storedTheme() {
  try {
    const t = localStorage.getItem(THEME_KEY);
    return t === 'dark' || t === 'light' ? t : null;
  } catch {
    return null; // storage off
  }
}

/** Whether the page shows the dark theme: the toggle's choice, else the system's. */
export function isDark() {
  const chosen = document.documentElement.dataset.theme;
  return chosen ? chosen === 'dark' : systemDark();
}

/** Run `cb(dark)` whenever the theme changes: the toggle here or in another tab, or the system's. */
export function onThemeChange(cb) {
  window.addEventListener('collab:theme', () => cb(isDark()));
}

function applyTheme(theme) {
  const root = document.documentElement;
  if (theme) root.dataset.theme = theme;
  else delete root.dataset.theme;
  window.dispatchEvent(new Event('collab:theme'));
}

/**
 * The light/dark toggle of a page's bar. The page follows the system until the toggle is used;
 * the choice is kept (and followed by the other tabs), and choosing the system's own theme again
 * forgets it, so the page follows the system once more.
 */
export function themeToggle() {
  const button = el('button', { id: 'theme', type: 'button', class: 'theme-toggle' });
  const show = () => {
    const dark = isDark();
    button.textContent = dark ? '☀' : '☾';
    button.title = dark ? 'Light theme' : 'Dark theme';
    button.setAttribute('aria-label', button.title);
  };
  button.addEventListener('click', () => {
    const next = isDark() ? 'light' : 'dark';
    const keep = next === (systemDark() ? 'dark' : 'light') ? null : next;
    try {
      if (keep) localStorage.setItem(THEME_KEY, keep);
      else localStorage.removeItem(THEME_KEY);
    } catch {
      // storage off: this page only
    }
    applyTheme(keep);
  });
  window.addEventListener('storage', (e) => e.key === THEME_KEY && applyTheme(storedTheme()));
  window.matchMedia?.('(prefers-color-scheme: dark)').addEventListener?.('change', () => applyTheme(document.documentElement.dataset.theme || null));
  window.addEventListener('collab:theme', show);
  show();
  return button;
}
