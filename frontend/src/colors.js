// The colours of the people present in a document (the editor page only: the history page's
// first load has no room for it): picked ones first, then everyone else's from their name, so
// that no two people present share one; and the colour this device picked (issue 15).

import { COLORS, colorBook } from './dom.js';

/**
 * Colours for people seen together (those present in a document), in the order every screen
 * sees them. Picked colours first (a peer's `color`, if it is the palette's: the server gave
 * it, and a second one of a colour gives way to its nearest free neighbour, as the server
 * does); then everyone else gets their name's colour (colorFor) unless someone has it, then the
 * next free one, so no two share a colour while there are colours left.
 * `people`: [[key, name, picked?], ...]; returns Map key -> colour.
 */
export function distinctColors(people) {
  const taken = new Set();
  const picked = new Map();
  for (const [key, , color] of people) {
    const i = COLORS.indexOf(color);
    if (i >= 0) picked.set(key, nearestFree(i, taken));
  }
  const book = colorBook(taken);
  return new Map(people.map(([key, name]) => [key, picked.has(key) ? COLORS[picked.get(key)] : book(key, name)]));
}

/** The index of the free colour nearest `i` in hue (the next one up wins a tie), taken; `i` itself if none is free. */
function nearestFree(i, taken) {
  const n = COLORS.length;
  for (let step = 0; step < n; step++) {
    for (const j of [(i + step) % n, (i - step + n) % n]) {
      if (!taken.has(j)) {
        taken.add(j);
        return j;
      }
    }
  }
  return i;
}

const COLOR_KEY = 'collab:color';

/** The colour this device picked (one of the palette's), or null: automatic. */
export function savedColor() {
  try {
    const c = localStorage.getItem(COLOR_KEY);
    return COLORS.includes(c) ? c : null;
  } catch {
    return null; // storage off
  }
}

/** Keep `color` (a palette colour, or null for automatic) on this device; returns what is kept. */
export function saveColor(color) {
  const kept = COLORS.includes(color) ? color : null;
  try {
    if (kept) localStorage.setItem(COLOR_KEY, kept);
    else localStorage.removeItem(COLOR_KEY);
  } catch {
    // storage off: this page only
  }
  return kept;
}
