// CRC-32 of A + B from those of A and B (zlib's crc32_combine), for a text kept in chunks
// (chunked.js): apart from crc32.js so that a page that only hashes (the history page)
// does not load it.
//
// core/: pure. No DOM, no socket, no storage, no network; imports only other core/ modules and
// diff-match-patch (frontend/test/layers.test.js enforces it).

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
