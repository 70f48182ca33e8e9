// Character diffs that never split a surrogate pair: diff-match-patch's diff on a copy of the
// texts in which each astral code point is one BMP character (stock diff-match-patch would split
// "😀😁", which share a high surrogate, and patch_toText would then throw "URI malformed"), as
// diff tuples or as operations (ops.js).
//
// core/: pure. No DOM, no socket, no storage, no network; imports only other core/ modules and
// diff-match-patch (frontend/test/layers.test.js enforces it).

import DiffMatchPatch from 'diff-match-patch';

import { del, insert, retain } from './ops.js';
import { commonPrefix, commonSuffix, makeCodec } from './text.js';

export const DIFF_DELETE = -1;
export const DIFF_INSERT = 1;
export const DIFF_EQUAL = 0;

export const dmp = new DiffMatchPatch();
dmp.Diff_Timeout = 1.0; // seconds; a diff that times out is still correct, only less minimal

/**
 * Character diff of `a` -> `b` as diff-match-patch tuples `[op, text]`, never splitting a
 * surrogate pair. `cleanup` applies diff-match-patch's semantic + efficiency cleanups (as
 * patch_make(a, b) does); without it the diff is minimal, which is what rebasing wants.
 */
export function diff(a, b, { cleanup = false } = {}) {
  if (a === b) return a ? [[DIFF_EQUAL, a]] : [];
  const pre = commonPrefix(a, b);
  const suf = commonSuffix(a, b, pre);
  const ma = a.slice(pre, a.length - suf);
  const mb = b.slice(pre, b.length - suf);
  let mid;
  if (!ma) mid = [[DIFF_INSERT, mb]];
  else if (!mb) mid = [[DIFF_DELETE, ma]];
  else {
    const codec = makeCodec([ma, mb]);
    const ea = codec ? codec.encode(ma) : ma;
    const eb = codec ? codec.encode(mb) : mb;
    const d = dmp.diff_main(ea, eb, true);
    mid = d.map((x) => [x[0], codec ? codec.decode(x[1]) : x[1]]);
  }
  const out = [];
  if (pre) out.push([DIFF_EQUAL, a.slice(0, pre)]);
  out.push(...mid);
  if (suf) out.push([DIFF_EQUAL, a.slice(a.length - suf)]);
  if (cleanup && out.length > 2) {
    // Cleanups only merge and shift whole diff texts, so running them on the encoded form keeps
    // pairs whole; they need Diff objects.
    const codec = makeCodec([a, b]);
    const enc = out.map(([op, t]) => new DiffMatchPatch.Diff(op, codec ? codec.encode(t) : t));
    dmp.diff_cleanupSemantic(enc);
    dmp.diff_cleanupEfficiency(enc);
    return enc.map((x) => [x[0], codec ? codec.decode(x[1]) : x[1]]);
  }
  return out;
}

/** Ops for the diff `a` -> `b` (minimal, pair-safe). */
export function diffOps(a, b) {
  const ops = [];
  if (a === b) return retain(ops, a.length);
  for (const [op, t] of diff(a, b)) {
    if (op === DIFF_EQUAL) retain(ops, t.length);
    else if (op === DIFF_DELETE) del(ops, t.length);
    else insert(ops, t);
  }
  return ops;
}

