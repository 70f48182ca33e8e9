// The colours of the history page's people (issue 15), loaded apart from the page's first
// load: each person in the colour the editor shows them in. Someone who picked a colour has
// the one they last wrote in (GET /colors: the server keeps it, so a person who left, or
// wrote before a restart, keeps it too); everyone else has their name's colour among those
// nobody picked, as the editor gives it (colors.js, dom.js). No two people share a colour
// while there are colours left.
// Imports neither historypanels.js nor timeline.js: the page's first load keeps them whole.

import { distinctColors } from './colors.js';
import { COLORS, colorBook } from './dom.js';

/**
 * `paint(name)`: the colour of the person the page shows as `name`.
 * `entries`: GET /colors' `colors` ([{author, account?, color}], the latest written first: of
 * two who wrote in one colour the later keeps it and the other gets its nearest free
 * neighbour, as the editor's people list does); `nameOf(entry)`: how the page names a person
 * (dom.js personName: a guest marked, with sign-in on).
 */
export function authorColors(entries, nameOf) {
  const picks = new Map(); // name -> colour picked, the latest entry of each name
  for (const e of entries) {
    const name = nameOf(e);
    if (COLORS.includes(e.color) && !picks.has(name)) picks.set(name, e.color);
  }
  const picked = distinctColors([...picks].map(([name, color]) => [name, name, color]));
  const book = colorBook(new Set([...picked.values()].map((c) => COLORS.indexOf(c))));
  return (name) => picked.get(name) || book(name);
}

/** authorColors of the document `api` reads; without an answer (an older server), everyone's from their name. */
export async function pageColors(api, nameOf) {
  let entries = [];
  try {
    entries = (await api('/colors')).colors || [];
  } catch {
    // the page still works: automatic colours for all
  }
  return authorColors(entries, nameOf);
}
