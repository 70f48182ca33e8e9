// Patch text, the wire format of every change: diff-match-patch's patch_toText, with offsets and
// lengths in code points (converted at this boundary), made from two texts or from ops, parsed,
// and applied exactly (a hunk that does not match is a conflict, never a fuzzy guess).
//
// core/: pure. No DOM, no socket, no storage, no network; imports only other core/ modules and
// diff-match-patch (frontend/test/layers.test.js enforces it).

import DiffMatchPatch from 'diff-match-patch';

import { DIFF_DELETE, DIFF_EQUAL, DIFF_INSERT, diff, dmp } from './diff.js';
import { applyOps, compose, del, insert, retain } from './ops.js';
import { commonPrefix, commonSuffix, cpLength, cpToUtf16, makeCodec } from './text.js';


/**
 * diff-match-patch patch_toText of a -> b, offsets and lengths in code points.
 * With `cleanup` (the default) the hunks are those of Python's `patch_make(a, b)`. Clients
 * send patches without it: the semantic cleanup turns "insert between existing characters"
 * into "delete them and insert them again", and two such concurrent rewrites of one region
 * would both put the characters back (doubling them) once their deletes collapse.
 */
export function makePatch(a, b, { cleanup = true } = {}) {
  return patchText(a, diff(a, b, { cleanup }));
}

/** patch_toText of diff tuples on `text` (pairs whole): patch_make runs on the codec's copy, in
 * which each astral code point is one character, so its offsets are code points (moved on by
 * `shift` code points: `text` is a window that starts there). */
export function patchText(text, diffs, shift = 0) {
  const codec = makeCodec([text, ...diffs.map((d) => d[1])]);
  const enc = (t) => (codec ? codec.encode(t) : t);
  const patches = dmp.patch_make(enc(text), diffs.map(([op, t]) => new DiffMatchPatch.Diff(op, enc(t))));
  for (const p of patches) {
    if (codec) for (const d of p.diffs) d[1] = codec.decode(d[1]);
    p.start1 += shift;
    p.start2 += shift;
  }
  return dmp.patch_toText(patches);
}

/**
 * Parse patch text into hunks `{start1, length1, start2, length2, diffs: [[op, text]]}`
 * (positions and lengths in code points). Throws PatchError on malformed input.
 */
export function parsePatch(patchText) {
  let patches;
  try {
    patches = dmp.patch_fromText(patchText || '');
  } catch (e) {
    throw new PatchError('bad_patch', `patch cannot be parsed: ${e.message}`);
  }
  return patches.map((p) => ({
    start1: p.start1,
    length1: p.length1,
    start2: p.start2,
    length2: p.length2,
    diffs: p.diffs.map((d) => [d[0], d[1]]),
  }));
}

export class PatchError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * Apply a patch exactly: each hunk (rolling context, as patch_make produces) must find its
 * context and deleted text at `start2` of the text produced by the hunks before it.
 * Returns `{text, ops}`: the new text and the change as ops on the old text. Throws PatchError.
 * `index` (a core/chunked.js ChunkedText of the text), when given, finds the hunks' places
 * and their text without counting the code points of everything before them; with `text`
 * null, the text is the index's and is not built either (the result's `text` is null: apply
 * `ops` to the index).
 */
export function applyPatchExact(text, patch, index = null) {
  const hunks = typeof patch === 'string' ? parsePatch(patch) : patch;
  let cur = text; // the text so far (null: not built)
  let length = text === null ? index.length : text.length;
  let ops = length ? [length] : [];
  // what the hunks before made longer, in code points and units, and where the last one ended
  // (code points of the old text): a later hunk's place there is its start2 less the shift
  let shiftCp = 0;
  let shiftUnits = 0;
  let doneCp = 0;
  for (const h of hunks) {
    let expect = '';
    let result = '';
    for (const [op, t] of h.diffs) {
      if (op !== DIFF_INSERT) expect += t;
      if (op !== DIFF_DELETE) result += t;
    }
    let at;
    let found;
    const old = h.start2 - shiftCp;
    if (index && old >= doneCp) {
      const oldAt = index.cpToUtf16(old);
      if (index.utf16ToCp(oldAt) !== old) throw new PatchError('conflict', `hunk at ${h.start2} is past the end of the text`);
      at = oldAt + shiftUnits;
      found = index.slice(oldAt, oldAt + expect.length);
    } else {
      // hunks out of order (no patch_make makes them): count in the text so far
      if (cur === null) cur = applyOps(index.text(), ops);
      index = null;
      at = cpToUtf16(cur, h.start2);
      if (cpLength(cur.slice(0, at)) !== h.start2) {
        throw new PatchError('conflict', `hunk at ${h.start2} is past the end of the text`);
      }
      found = cur.slice(at, at + expect.length);
    }
    if (found !== expect) {
      throw new PatchError('conflict', `hunk at ${h.start2} does not match the text`);
    }
    // The change as the hunk states it (each run of deletes and inserts between context is one
    // replacement), without what a run deletes and inserts again at its ends, as Python's
    // collab.patches.apply_patch does. Not a minimal diff of the hunk's old and new text: that
    // would split a replaced word into letters, and a concurrent edit of the same word would
    // then interleave with them and lose some.
    const hop = [];
    retain(hop, at);
    let del1 = '';
    let ins1 = '';
    const flush = () => {
      const k = commonPrefix(del1, ins1);
      const j = commonSuffix(del1, ins1, k);
      retain(hop, k);
      insert(hop, ins1.slice(k, ins1.length - j));
      del(hop, del1.length - k - j);
      retain(hop, j);
      del1 = '';
      ins1 = '';
    };
    for (const [op, t] of h.diffs) {
      if (op === DIFF_DELETE) del1 += t;
      else if (op === DIFF_INSERT) ins1 += t;
      else {
        flush();
        retain(hop, t.length);
      }
    }
    flush();
    retain(hop, length - at - expect.length);
    if (cur !== null) cur = cur.slice(0, at) + result + cur.slice(at + expect.length);
    length += result.length - expect.length;
    ops = compose(ops, hop);
    const expectCp = cpLength(expect);
    doneCp = old + expectCp;
    shiftCp += cpLength(result) - expectCp;
    shiftUnits += result.length - expect.length;
  }
  return { text: cur, ops };
}

