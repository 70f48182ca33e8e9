// core/: pure. No DOM, no socket, no storage, no network.
// The part of a large document the live preview shows: markdown-it renders a text in one go
// on the page's thread (a 3 M character document froze the tab for 37 s, and again after each
// keystroke), so above PART_LIMIT UTF-16 units the preview shows about PART_LIMIT units around
// the cursor, cut at blank lines and never inside a fenced code block, and says so.

export const PART_LIMIT = 200_000;
const FENCE = /^ {0,3}(```|~~~)/gm;

/**
 * @param {number} length  the text's length (UTF-16 units)
 * @param {(from: number, to: number) => string} slice  its units [from, to)
 * @param {number} at  the cursor (UTF-16)
 * @returns {{from: number, to: number, text: string, lineOffset: number} | null}  null: show it all
 */
export function previewPart(length, slice, at, limit = PART_LIMIT) {
  if (length <= limit) return null;
  let from = Math.max(0, Math.min(at - (limit >> 1), length - limit));
  let to = Math.min(length, from + limit);
  const before = slice(0, from); // read once a render (debounced), never per keystroke
  const blank = before.lastIndexOf('\n\n');
  from = blank < 0 ? 0 : blank + 2;
  // inside a fenced block (an odd number of fences before): start at its opening fence
  const fences = [...before.slice(0, from).matchAll(FENCE)];
  if (fences.length % 2) from = fences[fences.length - 1].index;
  const after = slice(to, Math.min(length, to + 20_000)).indexOf('\n\n');
  if (after >= 0) to += after;
  else to = Math.min(length, to + 20_000);
  let lineOffset = 0;
  for (let i = before.indexOf('\n'); i >= 0 && i < from; i = before.indexOf('\n', i + 1)) lineOffset++;
  return { from, to, text: slice(from, to), lineOffset };
}
