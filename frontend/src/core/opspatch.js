// Patch text from ops: what the sync client sends for the local edits (ops on its shadow),
// made from a window around them in a long text (a keystroke does not cost the document).
// Apart from patch.js because only the editor's client makes patches from ops: the history
// page, which shares patch.js, does not load this.
//
// core/: pure. No DOM, no socket, no storage, no network; imports only other core/ modules and
// diff-match-patch (frontend/test/layers.test.js enforces it).

import { DIFF_DELETE, DIFF_EQUAL, DIFF_INSERT } from './diff.js';
import { del, insert, retain } from './ops.js';
import { patchText } from './patch.js';

/** Units of text kept on each side of the changes when a patch is made from a window of a long
 * text; a hunk's context is at most 32 characters (diff-match-patch's Match_MaxBits). */
export const PATCH_WINDOW = 1024;

/**
 * diff-match-patch patch_toText of `ops` (UTF-16 units, pairs whole) applied to `text`.
 * With `index` (a core/chunked.js ChunkedText of `text`) and a text much longer than the span
 * of the changes, the patch is made from a window of PATCH_WINDOW units around them, its
 * offsets moved to the window's place: a keystroke does not cost the whole document. The one
 * difference from the whole text's patch: a hunk's context grows (up to its maximum) only
 * until it is unique within the window rather than within the whole text.
 */
export function makePatchFromOps(text, ops, index = null) {
  const length = text === null ? index.length : text.length; // text null: the index's
  let first = -1; // where the first change starts and the last one ends (units of `text`)
  let last = 0;
  let i = 0;
  for (const o of ops) {
    if (typeof o === 'number' && o > 0) i += o;
    else {
      if (first < 0) first = i;
      if (typeof o === 'number') i -= o;
      last = i;
    }
  }
  if (i !== length) throw new Error(`operation covers ${i} units, text has ${length}`);
  if (index && first >= 0 && length > 4 * (last - first + 2 * PATCH_WINDOW)) {
    let from = Math.max(0, first - PATCH_WINDOW);
    let to = Math.min(length, last + PATCH_WINDOW);
    const unit = (k) => index.slice(k, k + 1).charCodeAt(0);
    if (isLow(unit(from))) from--; // never inside a pair (ops keep them whole)
    if (to < length && isLow(unit(to))) to++;
    const near = retain([], first - from);
    let at = 0;
    for (const o of ops) {
      const was = at;
      at += typeof o === 'number' ? Math.abs(o) : 0;
      if (at <= first && typeof o === 'number') continue; // the retain before the first change
      if (was >= last && typeof o === 'number') break; // the retain after the last one
      if (typeof o === 'string') insert(near, o);
      else if (o < 0) del(near, -o);
      else retain(near, o);
    }
    retain(near, to - last);
    const part = index.slice(from, to);
    return patchText(part, diffsOf(part, near), index.utf16ToCp(from));
  }
  if (text === null) text = index.text();
  return patchText(text, diffsOf(text, ops));
}

const isLow = (c) => c >= 0xdc00 && c <= 0xdfff;

function diffsOf(text, ops) {
  const diffs = [];
  let i = 0;
  for (const o of ops) {
    if (typeof o === 'string') diffs.push([DIFF_INSERT, o]);
    else if (o > 0) diffs.push([DIFF_EQUAL, text.slice(i, (i += o))]);
    else diffs.push([DIFF_DELETE, text.slice(i, (i -= o))]);
  }
  return diffs;
}
