// Shared test helpers: a seeded PRNG and random text with astral characters, CJK, combining
// marks, RTL and newlines.

export function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const ALPHABET = ['a', 'b', 'c', ' ', '\n', '😀', '😁', '😂', '中', '文', 'e\u0301', 'ש', 'ל', '\uE000'];

/** `n` random code points (a combining pair counts as two). */
export function randomText(rng, n) {
  let out = '';
  let count = 0;
  while (count < n) {
    const t = ALPHABET[Math.floor(rng() * ALPHABET.length)];
    out += t;
    count += [...t].length;
  }
  return out;
}

export function pick(rng, arr) {
  return arr[Math.floor(rng() * arr.length)];
}
