// A text kept beside its string as chunks of a few thousand UTF-16 units, each with its CRC-32,
// UTF-8 length and code point count measured once (and again only when an edit touches it):
// what a keystroke must not cost the whole document. The text's CRC-32 (the wire's hash: of
// its UTF-8 bytes, exactly zlib's) is the chunks' CRCs combined (crc32Combine, below: zlib's),
// by groups of GROUP chunks kept combined until an edit touches one of theirs, and
// code point <-> UTF-16 offsets are found by skipping whole chunks; an edit re-measures the
// chunk or two it touches. Chunk boundaries never fall inside a surrogate pair, so each chunk's
// UTF-8 is exactly its share of the text's.
//
// core/: pure. No DOM, no socket, no storage, no network; imports only other core/ modules and
// diff-match-patch (frontend/test/layers.test.js enforces it).

import { crc32Bytes, crcHex } from './crc32.js';
import { cpLength, cpToUtf16, utf16ToCp } from './text.js';

/** Units a chunk is cut to; an edited chunk is split past twice this and merged below a quarter. */
export const CHUNK = 4096;
/** Chunks whose combined CRC is kept together: a hash combines the groups' and re-combines only
 *  the groups an edit touched (combining all ~1,000 chunks of a 4 M text took ~0.4 ms a
 *  revision, in each page: bench/keystroke.py's multModP). */
export const GROUP = 32;

const isHigh = (c) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c) => c >= 0xdc00 && c <= 0xdfff;

// one chunk: its text and, once asked for, its code points (cps) and {crc, shift (for its
// UTF-8 length)}: a text's chunks are counted, a shadow's also hashed
function chunk(s) {
  return { s, crc: 0, shift: -1, cps: -1 };
}

function measure(c) {
  if (c.cps < 0) c.cps = cpLength(c.s);
  return c;
}

/** `s` in chunks of about CHUNK units, none ending between the two halves of a pair. */
function cut(s, size) {
  const out = [];
  for (let i = 0; i < s.length; ) {
    let j = Math.min(s.length, i + size);
    if (j < s.length && isHigh(s.charCodeAt(j - 1)) && isLow(s.charCodeAt(j))) j++;
    out.push(chunk(s.slice(i, j)));
    i = j;
  }
  return out;
}

// ---- combining: the CRC of A + B from those of A and B (zlib's crc32_combine) ----
// A CRC is a polynomial over GF(2) (bit-reflected: the top bit is x^0); appending n zero bytes
// multiplies it by x^(8n) modulo the CRC's polynomial, so crc(A + B) = crc(A) * x^(8|B|) ^ crc(B).

const POLY = 0xedb88320;

/** a * b modulo the CRC-32 polynomial (both reflected). */
export function multModP(a, b) {
  let p = 0;
  for (let m = 0x80000000; m; m >>>= 1) {
    if (a & m) p ^= b;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return p >>> 0;
}

// X2N[k] = x^(2^k) modulo the polynomial
const X2N = (() => {
  const t = new Uint32Array(32);
  let p = 0x40000000; // x^1
  t[0] = p;
  for (let k = 1; k < 32; k++) t[k] = p = multModP(p, p);
  return t;
})();

/** x^(8 * bytes) modulo the polynomial: what appending `bytes` bytes multiplies a CRC by. */
export function shiftFor(bytes) {
  let p = 0x80000000; // x^0
  for (let k = 3; bytes; bytes = Math.floor(bytes / 2), k++) if (bytes % 2) p = multModP(X2N[k & 31], p);
  return p;
}

/** CRC-32 of A + B, given crc(A), crc(B) and shiftFor(|B| in bytes). */
export function crc32Combine(crcA, crcB, shiftB) {
  return (multModP(shiftB, crcA) ^ crcB) >>> 0;
}

export class ChunkedText {
  /** @param {string} text  @param {number} [size] units per chunk (tests use small ones) */
  constructor(text = '', size = CHUNK) {
    this._size = size;
    this.reset(text);
  }

  /** Start again from `text` (a join, a reset): the only step that costs the whole text. */
  reset(text) {
    this._chunks = cut(text, this._size);
    this._length = text.length;
    this._groups = []; // [k]: {crc, shift} of chunks [k * GROUP, (k + 1) * GROUP), once hashed
  }

  /** Length in UTF-16 units. */
  get length() {
    return this._length;
  }

  /** The text, joined (costs the whole text: only when a string is asked for). */
  text() {
    return this._chunks.map((c) => c.s).join('');
  }

  /** Units [from, to) of the text, as String.prototype.slice (0 <= from <= to). */
  slice(from, to) {
    let out = '';
    let start = 0;
    for (const c of this._chunks) {
      const end = start + c.s.length;
      if (end > from && start < to) out += c.s.slice(Math.max(0, from - start), to - start);
      if (end >= to) break;
      start = end;
    }
    return out;
  }

  /** Apply ops (core/ops.js: UTF-16 units on this text, pairs whole). */
  edit(ops) {
    // the changes in this text's coordinates, applied from the last so earlier ones keep their place
    const changes = [];
    let pos = 0;
    for (const o of ops) {
      if (typeof o === 'string') changes.push([pos, 0, o]);
      else if (o > 0) pos += o;
      else changes.push([pos, -o, '']), (pos -= o);
    }
    for (let k = changes.length - 1; k >= 0; k--) this._replace(...changes[k]);
  }

  /** Replace `n` units at `pos` by `ins`. */
  _replace(pos, n, ins) {
    const chunks = this._chunks;
    if (!chunks.length) chunks.push(chunk(''));
    // the first chunk whose end is at or past pos, and the one past pos + n
    let i = 0;
    let start = 0;
    while (i < chunks.length - 1 && start + chunks[i].s.length < pos) start += chunks[i++].s.length;
    let j = i;
    let startJ = start;
    while (j < chunks.length - 1 && startJ + chunks[j].s.length < pos + n) startJ += chunks[j++].s.length;
    let s = chunks[i].s.slice(0, pos - start) + ins + chunks[j].s.slice(pos + n - startJ);
    // too small a chunk goes with the next (so deletes cannot leave thousands of tiny chunks)
    if (s.length < this._size / 4 && j + 1 < chunks.length) s += chunks[++j].s;
    const made = s.length > 2 * this._size ? cut(s, this._size) : s || j - i + 1 === chunks.length ? [chunk(s)] : [];
    chunks.splice(i, j - i + 1, ...made);
    // the groups that hold the chunks replaced; all from there when the chunks after moved
    const groups = this._groups;
    const first = Math.floor(i / GROUP);
    if (made.length !== j - i + 1) groups.length = Math.min(groups.length, first);
    else for (let k = first; k <= Math.floor(j / GROUP) && k < groups.length; k++) groups[k] = null;
    // Ops never split a pair (core/ops.js) and the server takes no lone surrogates, so no edit
    // puts a cut between the halves of one; if one did, that chunk's UTF-8 would differ from
    // the text's, the hash would not match, and the re-join that follows cuts afresh (reset).
    this._length += ins.length - n;
  }

  /** CRC-32 of the text's UTF-8 bytes, as the wire writes it (= crc32Hex(text)). */
  hash() {
    let crc = 0;
    for (let k = 0; k * GROUP < this._chunks.length; k++) {
      const g = this._groups[k] || (this._groups[k] = this._hashGroup(k));
      crc = crc32Combine(crc, g.crc, g.shift);
    }
    return crcHex(crc);
  }

  /** {crc, shift} of group `k`'s chunks together (each hashed once, until an edit touches it). */
  _hashGroup(k) {
    let crc = 0;
    let shift = 0x80000000; // x^0: no bytes yet
    for (const c of this._chunks.slice(k * GROUP, (k + 1) * GROUP)) {
      if (c.shift < 0) {
        const [value, bytes] = crc32Bytes(c.s);
        c.crc = value;
        c.shift = shiftFor(bytes);
      }
      crc = crc32Combine(crc, c.crc, c.shift);
      shift = multModP(shift, c.shift); // x^(8a) * x^(8b) = x^(8(a + b))
    }
    return { crc, shift };
  }

  /** UTF-16 index of code point offset `cp` (clamped to the end), as text.js's cpToUtf16. */
  cpToUtf16(cp) {
    let units = 0;
    let cps = 0;
    for (const c of this._chunks) {
      measure(c);
      if (cps + c.cps >= cp) return units + cpToUtf16(c.s, cp - cps);
      units += c.s.length;
      cps += c.cps;
    }
    return units;
  }

  /** Code point offset of UTF-16 index `u`, as text.js's utf16ToCp. */
  utf16ToCp(u) {
    let units = 0;
    let cps = 0;
    for (const c of this._chunks) {
      if (units + c.s.length >= u) return cps + utf16ToCp(c.s, u - units);
      units += c.s.length;
      cps += measure(c).cps;
    }
    return cps;
  }
}
