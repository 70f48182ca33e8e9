// Op ids: random, unguessable names for a patch, so that resending it is always safe (the
// server answers a known id with its first answer).
//
// core/: pure. No DOM, no socket, no storage, no network; imports only other core/ modules and
// diff-match-patch (frontend/test/layers.test.js enforces it).

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

