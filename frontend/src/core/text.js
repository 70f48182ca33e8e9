// Text in code points: the wire counts Unicode code points (the server is Python), browser
// strings count UTF-16 units. Conversions between the two, the common prefix and suffix of two
// strings (never ending inside a surrogate pair), the codec that lets diff-match-patch diff
// astral characters whole, and a text's size once %-escaped in a patch.
//
// core/: pure. No DOM, no socket, no storage, no network; imports only other core/ modules and
// diff-match-patch (frontend/test/layers.test.js enforces it).

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

/** `{encode, decode}` for these texts (null when none holds a surrogate pair): diff-match-patch
 * then sees each astral code point as one character and cannot split it. */
export function makeCodec(texts) {
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

// ---- common prefix and suffix, pair-safe ----

/** Length of the common prefix of `a` and `b` in UTF-16 units, never ending inside a pair. */
export function commonPrefix(a, b) {
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

/** Length of the common suffix, at most `min(a.length, b.length) - limit`, never starting inside a pair. */
export function commonSuffix(a, b, limit) {
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
