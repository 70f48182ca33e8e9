// Code-point-safe text helpers: diffs, diff-match-patch patch text, an exact patch applier,
// and the retain/insert/delete operations that sync.js rebases with.
//
// Units. On the wire every offset and length counts Unicode code points (the server is Python).
// Inside the browser, strings are UTF-16, so:
//   - patch text is made and read here, converting code points <-> UTF-16 at this boundary;
//   - operations (`ops`) count UTF-16 units, but never start or end inside a surrogate pair,
//     because every diff is computed on a copy of the text in which each astral code point is
//     one BMP character (stock diff-match-patch would otherwise split "😀😁", which share a high
//     surrogate, and patch_toText would throw "URI malformed").
//
// Pure: no DOM, no transport. Imports only diff-match-patch.

import DiffMatchPatch from 'diff-match-patch';

export const DIFF_DELETE = -1;
export const DIFF_INSERT = 1;
export const DIFF_EQUAL = 0;

const dmp = new DiffMatchPatch();
dmp.Diff_Timeout = 1.0; // seconds; a diff that times out is still correct, only less minimal

const SURROGATE = /[\uD800-\uDFFF]/;
const PAIR = /[\uD800-\uDBFF][\uDC00-\uDFFF]/g;

/** True when `s` holds any surrogate (i.e. UTF-16 length != code point count). */
export function hasSurrogates(s) {
  return SURROGATE.test(s);
}

/** Number of code points in `s`. */
export function cpLength(s) {
  if (!hasSurrogates(s)) return s.length;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** UTF-16 index in `s` of code point offset `cp` (clamped to the string's end). */
export function cpToUtf16(s, cp, fromUnit = 0, fromCp = 0) {
  if (!hasSurrogates(s)) return Math.min(cp, s.length);
  let i = fromUnit;
  let n = fromCp;
  while (n < cp && i < s.length) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    i++;
    n++;
  }
  return i;
}

/** Code point offset of UTF-16 index `u` in `s` (an index inside a pair counts as its end). */
export function utf16ToCp(s, u) {
  u = Math.min(u, s.length);
  if (!hasSurrogates(s)) return u;
  return cpLength(s.slice(0, u));
}

/** Replace lone surrogates (which cannot be stored or sent) by U+FFFD. */
export function wellFormed(s) {
  if (!hasSurrogates(s)) return s;
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

// ---- a per-call codec: each astral code point <-> one unused BMP character ----

function makeCodec(texts) {
  if (!texts.some(hasSurrogates)) return null;
  const forward = new Map();
  const backward = new Map();
  const candidates = codecCandidates();
  let next = 0;
  for (const t of texts) {
    for (const m of t.matchAll(PAIR)) {
      const pair = m[0];
      if (forward.has(pair)) continue;
      let ch;
      do {
        if (next >= candidates.length) throw new Error('too many distinct astral characters to diff');
        ch = String.fromCharCode(candidates[next++]);
      } while (texts.some((x) => x.includes(ch)));
      forward.set(pair, ch);
      backward.set(ch, pair);
    }
  }
  if (forward.size === 0) return null; // only lone surrogates: one unit each already
  const back = new RegExp('[' + [...backward.keys()].map(escapeClassChar).join('') + ']', 'g');
  return {
    encode: (s) => s.replace(PAIR, (p) => forward.get(p)),
    decode: (s) => s.replace(back, (c) => backward.get(c)),
  };
}

let candidateCache = null;
function codecCandidates() {
  // Private use area first, then the rest of the BMP except surrogates and controls.
  if (candidateCache) return candidateCache;
  const out = [];
  for (let c = 0xe000; c <= 0xf8ff; c++) out.push(c);
  for (let c = 0x3400; c <= 0x4dbf; c++) out.push(c);
  for (let c = 0x4e00; c <= 0x9fff; c++) out.push(c);
  for (let c = 0xac00; c <= 0xd7a3; c++) out.push(c);
  candidateCache = out;
  return out;
}

function escapeClassChar(c) {
  return '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');
}

// ---- diffs ----

function commonPrefix(a, b) {
  const n = Math.min(a.length, b.length);
  let i = 0;
  // Compare in chunks first: much faster than char by char on large texts.
  let step = 1024;
  while (step >= 1) {
    while (i + step <= n && a.slice(i, i + step) === b.slice(i, i + step)) i += step;
    step >>= 2;
  }
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  // Never end inside a surrogate pair.
  if (i > 0 && i < Math.max(a.length, b.length)) {
    const c = a.charCodeAt(i - 1);
    if (c >= 0xd800 && c <= 0xdbff) i--;
  }
  return i;
}

function commonSuffix(a, b, limit) {
  const n = Math.min(a.length, b.length) - limit;
  let i = 0;
  let step = 1024;
  while (step >= 1) {
    while (i + step <= n && a.slice(a.length - i - step, a.length - i) === b.slice(b.length - i - step, b.length - i)) i += step;
    step >>= 2;
  }
  while (i < n && a.charCodeAt(a.length - 1 - i) === b.charCodeAt(b.length - 1 - i)) i++;
  if (i > 0) {
    const c = a.charCodeAt(a.length - i);
    if (c >= 0xdc00 && c <= 0xdfff) i--;
  }
  return i;
}

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

// ---- patch text (wire format) ----

/**
 * diff-match-patch patch_toText of a -> b, offsets and lengths in code points.
 * With `cleanup` (the default) the hunks are those of Python's `patch_make(a, b)`. Clients
 * send patches without it: the semantic cleanup turns "insert between existing characters"
 * into "delete them and insert them again", and two such concurrent rewrites of one region
 * would both put the characters back (doubling them) once their deletes collapse.
 */
export function makePatch(a, b, { cleanup = true } = {}) {
  const diffs = diff(a, b, { cleanup });
  const codec = makeCodec([a, b]);
  const ea = codec ? codec.encode(a) : a;
  const ed = diffs.map(([op, t]) => new DiffMatchPatch.Diff(op, codec ? codec.encode(t) : t));
  const patches = dmp.patch_make(ea, ed);
  if (codec) for (const p of patches) for (const d of p.diffs) d[1] = codec.decode(d[1]);
  return dmp.patch_toText(patches);
}

/** diff-match-patch patch_toText of `ops` (UTF-16 units, pairs whole) applied to `text`. */
export function makePatchFromOps(text, ops) {
  const diffs = [];
  let i = 0;
  for (const o of ops) {
    if (typeof o === 'string') diffs.push([DIFF_INSERT, o]);
    else if (o > 0) diffs.push([DIFF_EQUAL, text.slice(i, (i += o))]);
    else diffs.push([DIFF_DELETE, text.slice(i, (i -= o))]);
  }
  if (i !== text.length) throw new Error(`operation covers ${i} units, text has ${text.length}`);
  const codec = makeCodec([text, ...diffs.map((d) => d[1])]);
  const enc = (t) => (codec ? codec.encode(t) : t);
  const patches = dmp.patch_make(enc(text), diffs.map(([op, t]) => new DiffMatchPatch.Diff(op, enc(t))));
  if (codec) for (const p of patches) for (const d of p.diffs) d[1] = codec.decode(d[1]);
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
 */
export function applyPatchExact(text, patch) {
  const hunks = typeof patch === 'string' ? parsePatch(patch) : patch;
  let cur = text;
  let ops = cur.length ? [cur.length] : [];
  for (const h of hunks) {
    const at = cpToUtf16(cur, h.start2);
    if (cpLength(cur.slice(0, at)) !== h.start2) {
      throw new PatchError('conflict', `hunk at ${h.start2} is past the end of the text`);
    }
    let expect = '';
    let result = '';
    for (const [op, t] of h.diffs) {
      if (op !== DIFF_INSERT) expect += t;
      if (op !== DIFF_DELETE) result += t;
    }
    if (cur.slice(at, at + expect.length) !== expect) {
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
    retain(hop, cur.length - at - expect.length);
    cur = cur.slice(0, at) + result + cur.slice(at + expect.length);
    ops = compose(ops, hop);
  }
  return { text: cur, ops };
}

// ---- operations: numbers > 0 retain, numbers < 0 delete, strings insert (as ot.js) ----

export function retain(ops, n) {
  if (n <= 0) return ops;
  const last = ops[ops.length - 1];
  if (typeof last === 'number' && last > 0) ops[ops.length - 1] = last + n;
  else ops.push(n);
  return ops;
}

export function insert(ops, s) {
  if (!s) return ops;
  const last = ops[ops.length - 1];
  if (typeof last === 'string') ops[ops.length - 1] = last + s;
  else if (typeof last === 'number' && last < 0) {
    // Keep inserts before deletes, so equal changes have one representation.
    const prev = ops[ops.length - 2];
    if (typeof prev === 'string') ops[ops.length - 2] = prev + s;
    else ops.splice(ops.length - 1, 0, s);
  } else ops.push(s);
  return ops;
}

export function del(ops, n) {
  if (n <= 0) return ops;
  const last = ops[ops.length - 1];
  if (typeof last === 'number' && last < 0) ops[ops.length - 1] = last - n;
  else ops.push(-n);
  return ops;
}

/** Length of the text an op list applies to. */
export function baseLength(ops) {
  let n = 0;
  for (const o of ops) if (typeof o === 'number') n += Math.abs(o);
  return n;
}

export function isNoop(ops) {
  return ops.every((o) => typeof o === 'number' && o > 0);
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

export function applyOps(text, ops) {
  if (baseLength(ops) !== text.length) {
    throw new Error(`operation covers ${baseLength(ops)} units, text has ${text.length}`);
  }
  const parts = [];
  let i = 0;
  for (const o of ops) {
    if (typeof o === 'string') parts.push(o);
    else if (o > 0) {
      parts.push(text.slice(i, i + o));
      i += o;
    } else i -= o;
  }
  return parts.join('');
}

/**
 * Transform two ops on the same text: returns [a', b'] with apply(apply(S,a),b') ==
 * apply(apply(S,b),a'). When both insert at one position, `a`'s insert goes first. Deletes of
 * the same text collapse; an insert inside a range the other side deletes survives.
 */
export function transform(a, b) {
  if (baseLength(a) !== baseLength(b)) throw new Error('transform: ops on different texts');
  const a1 = [];
  const b1 = [];
  let i = 0;
  let j = 0;
  let x = a[i++];
  let y = b[j++];
  for (;;) {
    if (x === undefined && y === undefined) break;
    if (typeof x === 'string') {
      insert(a1, x);
      retain(b1, x.length);
      x = a[i++];
      continue;
    }
    if (typeof y === 'string') {
      retain(a1, y.length);
      insert(b1, y);
      y = b[j++];
      continue;
    }
    if (x === undefined || y === undefined) throw new Error('transform: ops of different lengths');
    const lx = Math.abs(x);
    const ly = Math.abs(y);
    const m = Math.min(lx, ly);
    if (x > 0 && y > 0) {
      retain(a1, m);
      retain(b1, m);
    } else if (x < 0 && y > 0) {
      del(a1, m);
    } else if (x > 0 && y < 0) {
      del(b1, m);
    } // both delete: nothing left to do for either
    x = lx === m ? a[i++] : Math.sign(x) * (lx - m);
    y = ly === m ? b[j++] : Math.sign(y) * (ly - m);
  }
  return [a1, b1];
}

/** Compose: apply(apply(S, a), b) == apply(S, compose(a, b)). */
export function compose(a, b) {
  const out = [];
  let i = 0;
  let j = 0;
  let x = a[i++];
  let y = b[j++];
  for (;;) {
    if (x === undefined && y === undefined) break;
    if (typeof x === 'number' && x < 0) {
      del(out, -x);
      x = a[i++];
      continue;
    }
    if (typeof y === 'string') {
      insert(out, y);
      y = b[j++];
      continue;
    }
    if (x === undefined || y === undefined) throw new Error('compose: ops of mismatched lengths');
    if (typeof x === 'string') {
      const ly = Math.abs(y);
      if (y > 0) {
        const m = Math.min(x.length, ly);
        insert(out, x.slice(0, m));
        x = x.length === m ? a[i++] : x.slice(m);
        y = ly === m ? b[j++] : ly - m;
      } else {
        const m = Math.min(x.length, ly);
        x = x.length === m ? a[i++] : x.slice(m);
        y = ly === m ? b[j++] : -(ly - m);
      }
      continue;
    }
    // x is a retain
    const ly = Math.abs(y);
    const m = Math.min(x, ly);
    if (y > 0) retain(out, m);
    else del(out, m);
    x = x === m ? a[i++] : x - m;
    y = ly === m ? b[j++] : Math.sign(y) * (ly - m);
  }
  return out;
}

/** Map a UTF-16 position through ops (as CodeMirror's mapPos); `assoc` < 0 stays before inserts. */
export function mapPosition(ops, pos, assoc = -1) {
  let oldAt = 0;
  let newAt = 0;
  for (const o of ops) {
    if (typeof o === 'string') {
      if (oldAt < pos || (oldAt === pos && assoc > 0)) newAt += o.length;
      continue;
    }
    if (oldAt >= pos) break;
    const n = Math.abs(o);
    if (o > 0) {
      const m = Math.min(n, pos - oldAt);
      newAt += m;
      oldAt += m;
    } else {
      const m = Math.min(n, pos - oldAt);
      oldAt += m;
    }
  }
  return newAt + Math.max(0, pos - oldAt);
}

// ---- CRC-32 (as zlib.crc32) of the UTF-8 bytes, 8 lowercase hex digits ----

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

const encoder = new TextEncoder();

export function crc32Hex(text) {
  const bytes = encoder.encode(text);
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ((c ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0');
}

// ---- op ids ----

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A fresh random op id: 22 base62 characters (~131 bits). */
export function randomId(n = 22) {
  const bytes = new Uint8Array(n * 2);
  globalThis.crypto.getRandomValues(bytes);
  let out = '';
  for (let i = 0; i < bytes.length && out.length < n; i++) {
    if (bytes[i] < 248) out += BASE62[bytes[i] % 62]; // 248 = 4 * 62: no modulo bias
  }
  while (out.length < n) out += randomId(n - out.length);
  return out;
}

// ---- sizes on the wire ----

// what encodeURI (and so diff-match-patch's patch_toText, with %20 turned back into spaces)
// leaves as it is; Python's diff-match-patch quotes with the same safe set
const ASCII_COST = (() => {
  const t = new Uint8Array(128).fill(3);
  const safe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'();/?:@&=+$,# ";
  for (const ch of safe) t[ch.charCodeAt(0)] = 1;
  return t;
})();

/** Characters `s` takes in a patch's text, once %-escaped as UTF-8 (patch_toText). */
export function escapedLength(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += ASCII_COST[c];
    else if (c < 0x800) n += 6;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 12; // a surrogate pair: one code point of 4 UTF-8 bytes
      i++;
    } else n += 9;
  }
  return n;
}
