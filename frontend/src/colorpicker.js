// The colour picker of the editor's people panel (issue 15), loaded on first use (the first
// load has no room for it): the palette's twelve colours and "automatic" as a radio group,
// and the sentence that says when the pick is someone else's here and which colour was given
// instead. What is picked is kept on this device (colors.js saveColor) and sent with the join.

import { COLORS, el } from './dom.js';
import { saveColor, savedColor } from './colors.js';

// the palette's colours by name, in its (hue) order (collab/core/palette.py)
const NAMES = ['red', 'orange', 'amber', 'olive', 'green', 'teal', 'cyan', 'blue', 'indigo', 'purple', 'magenta', 'pink'];

// the picker's own rules, added when it first shows: the stylesheet is every page's first load,
// and the history page's has no room for what only this panel uses (the CSP allows inline styles)
const RULES = `.color-row p { margin: 0.2rem 0 0; }
.swatches { display: flex; flex-wrap: wrap; gap: 0.35rem; margin-top: 0.35rem; }
.swatch { width: 1.75rem; height: 1.75rem; padding: 0; border: 2px solid var(--bg); border-radius: 50%; box-shadow: 0 0 0 1px var(--line); }
.swatch.auto { width: auto; padding: 0 0.5rem; border-radius: 999px; font-size: 0.8rem; }
.swatch[aria-checked="true"] { box-shadow: 0 0 0 2px var(--fg); }`;
let styled = false;
function addRules() {
  if (styled) return;
  document.head.append(el('style', {}, RULES));
  styled = true;
}

/** A palette colour's name ("red"), for people and screen readers. */
export const colorName = (color) => NAMES[COLORS.indexOf(color)] || 'automatic';

/**
 * Fill `box` with the picker: one radio per colour and "Automatic", the current pick checked.
 * `onPick(color or null)` runs after a new pick was kept on this device.
 */
export function showPicker(box, onPick) {
  addRules();
  const current = savedColor();
  const option = (color) => {
    const label = color ? colorName(color) : 'Automatic';
    const attrs = { type: 'button', role: 'radio', class: color ? 'swatch' : 'swatch auto', 'aria-checked': String(current === color), 'aria-label': label, title: label, 'data-color': color || 'auto' };
    if (color) attrs.style = `background:${color}`; // one of the palette's strings, never a user's
    return el('button', { ...attrs, onclick: () => pick(color) }, color ? null : 'Auto');
  };
  const pick = (color) => {
    const kept = saveColor(color);
    for (const b of box.querySelectorAll('.swatch')) b.setAttribute('aria-checked', String(b.dataset.color === (kept || 'auto')));
    onPick(kept);
  };
  box.replaceChildren(el('div', { role: 'radiogroup', 'aria-label': 'Your colour', class: 'swatches' }, option(null), ...COLORS.map(option)));
}

/**
 * What `note` says of this page's colour: nothing when it shows the pick (or none was made);
 * else whose the pick is here and which colour this page was given instead (people present
 * never share a colour: the later pick gives way to the nearest free one).
 */
export function explainColor(note, pick, given, holder) {
  addRules();
  if (!pick || !given || pick === given) {
    note.textContent = '';
    return;
  }
  const whose = holder ? `${holder} has ${colorName(pick)} here` : `${colorName(pick)[0].toUpperCase()}${colorName(pick).slice(1)} is taken here`;
  note.textContent = `${whose}, so you are shown in ${colorName(given)} (the nearest free colour) while they are.`;
}
