// core/chunked.js against the plain string it stands for: after thousands of seeded random
// edits (inserts and deletes across chunk boundaries, astral characters at the cuts, emptying
// the text), its hash is exactly crc32Hex of the whole string (the wire's CRC-32), and its
// code point offsets are text.js's.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { ChunkedText, CHUNK, GROUP, crc32Combine, shiftFor } from '../src/core/chunked.js';
import { crc32Bytes, crc32Hex, crcHex } from '../src/core/crc32.js';
import { applyOps, del, insert, retain } from '../src/core/ops.js';
import { makePatchFromOps } from '../src/core/opspatch.js';
import { applyPatchExact } from '../src/core/patch.js';
import { cpLength, cpToUtf16, utf16ToCp } from '../src/core/text.js';
import { mulberry32, randomText } from './helpers.js';

const joined = (t) => t.text();
const SEED = Number(process.env.COLLAB_JS_SEED || 15);

test('crc32Combine gives the CRC of the two texts joined', () => {
  const rng = mulberry32(SEED);
  for (let k = 0; k < 300; k++) {
    const a = randomText(rng, Math.floor(rng() * 40));
    const b = randomText(rng, Math.floor(rng() * 40));
    const [ca] = crc32Bytes(a);
    const [cb, nb] = crc32Bytes(b);
    assert.equal(crcHex(crc32Combine(ca, cb, shiftFor(nb))), crc32Hex(a + b));
  }
  assert.equal(crcHex(crc32Combine(crc32Bytes('abc')[0], 0, shiftFor(0))), crc32Hex('abc'));
});

test('a text in chunks hashes as the whole string, and is cut only between code points', () => {
  const text = '😀'.repeat(CHUNK) + 'a' + '中😁'.repeat(3000);
  const t = new ChunkedText(text);
  assert.equal(t.hash(), crc32Hex(text));
  assert.equal(joined(t), text);
  assert.equal(t.utf16ToCp(text.length), cpLength(text));
  for (const c of t._chunks) assert.doesNotMatch(c.s, /^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
  assert.equal(new ChunkedText('').hash(), '00000000');
});

/** A random op on `text` that keeps pairs whole: one or a few changes. */
function randomOp(rng, text) {
  const cuts = [];
  for (let i = 0; i <= text.length; i++) {
    const c = text.charCodeAt(i - 1);
    if (!(c >= 0xd800 && c <= 0xdbff)) cuts.push(i); // not between the halves of a pair
  }
  const op = [];
  let at = 0;
  const changes = 1 + Math.floor(rng() * 3);
  for (let k = 0; k < changes && at <= text.length; k++) {
    const rest = cuts.filter((c) => c >= at);
    const from = rest[Math.floor(rng() * Math.min(rest.length, rng() < 0.5 ? 8 : rest.length))];
    const after = cuts.filter((c) => c >= from);
    const big = rng() < 0.1;
    const to = after[Math.floor(rng() * Math.min(after.length, big ? after.length : 12))];
    retain(op, from - at);
    const ins = rng() < 0.7 ? randomText(rng, big ? Math.floor(rng() * 300) : Math.floor(rng() * 6)) : '';
    insert(op, ins);
    del(op, to - from);
    at = to;
  }
  retain(op, text.length - at);
  return op;
}

test('after thousands of random edits the chunks hash and count as the string', () => {
  const rng = mulberry32(SEED);
  for (const size of [8, 33, 256]) {
    let text = randomText(rng, 400);
    const t = new ChunkedText(text, size);
    for (let k = 0; k < 1500; k++) {
      const op = k % 200 === 199 ? [-text.length] : randomOp(rng, text); // now and then: empty it
      text = applyOps(text, op.length ? op : []);
      t.edit(op);
      assert.equal(t.length, text.length);
      assert.equal(t.hash(), crc32Hex(text), `size ${size}, edit ${k}`);
      if (k % 10 === 0) {
        assert.equal(joined(t), text);
        const from = Math.floor(rng() * (text.length + 1));
        const to = from + Math.floor(rng() * (text.length - from + 1));
        assert.equal(t.slice(from, to), text.slice(from, to));
        assert.equal(t.utf16ToCp(text.length), cpLength(text));
        for (let q = 0; q < 5; q++) {
          const u = Math.floor(rng() * (text.length + 2));
          const cp = Math.floor(rng() * (cpLength(text) + 2));
          assert.equal(t.utf16ToCp(u), utf16ToCp(text, u));
          assert.equal(t.cpToUtf16(cp), cpToUtf16(text, cp));
        }
        for (const c of t._chunks) assert.doesNotMatch(c.s, /[\uD800-\uDBFF]$/, 'a chunk ends inside a pair');
      }
    }
    assert.ok(t._chunks.length <= Math.ceil(text.length / (size / 4)) + 2, 'deletes left too many chunks');
  }
});

test('a text of many groups of chunks hashes as the string after edits that split and merge them', () => {
  const rng = mulberry32(SEED + 2);
  let text = randomText(rng, 16 * GROUP * 6); // six groups of 16-unit chunks, and more as it grows
  const t = new ChunkedText(text, 16);
  let fewest = Infinity;
  for (let k = 0; k < 1500; k++) {
    // mostly a few units typed or taken out; a tenth long inserts (splits), a tenth long deletes (merges)
    let from = Math.floor(rng() * (text.length + 1));
    const pair = (i) => i > 0 && i < text.length && /[\uDC00-\uDFFF]/.test(text[i]);
    if (pair(from)) from--;
    const r = rng();
    let to = Math.min(text.length, from + (r < 0.4 ? Math.floor(rng() * 4) : r > 0.9 ? 50 + Math.floor(rng() * 150) : 0));
    if (pair(to)) to++;
    const op = [];
    retain(op, from);
    insert(op, r >= 0.4 && r < 0.8 ? randomText(rng, 1 + Math.floor(rng() * 4)) : r >= 0.8 && r <= 0.9 ? randomText(rng, 100 + Math.floor(rng() * 300)) : '');
    del(op, to - from);
    retain(op, text.length - to);
    text = applyOps(text, op);
    t.edit(op);
    assert.equal(t.hash(), crc32Hex(text), `edit ${k}`);
    fewest = Math.min(fewest, t._chunks.length);
  }
  assert.ok(fewest > 2 * GROUP, `down to ${fewest} chunks`);
});

test('typing inside a chunk combines again only the group that holds it', () => {
  const text = 'abcdefgh'.repeat(16 * GROUP);
  const t = new ChunkedText(text, 16); // 8 groups
  t.hash();
  const before = [...t._groups];
  assert.equal(before.length, 8);
  t.edit([16 * GROUP * 3 + 5, 'x']); // in the fourth group's first chunk
  assert.equal(t.hash(), crc32Hex(text.slice(0, 16 * GROUP * 3 + 5) + 'x' + text.slice(16 * GROUP * 3 + 5)));
  assert.deepEqual(t._groups.map((g, k) => g === before[k]), [true, true, true, false, true, true, true, true]);
});

test('a patch made from a window of a long text applies, with and without an index, as the op', () => {
  const rng = mulberry32(SEED + 1);
  for (let k = 0; k < 300; k++) {
    const text = randomText(rng, 9000 + Math.floor(rng() * 4000));
    const op = randomOp(rng, text);
    const want = applyOps(text, op);
    const index = new ChunkedText(text, 64);
    const patch = makePatchFromOps(text, op, index);
    if (want === text) continue;
    assert.equal(applyPatchExact(text, patch).text, want, `case ${k}`);
    const res = applyPatchExact(text, patch, index);
    assert.equal(res.text, want);
    assert.equal(applyOps(text, res.ops), want);
    // with only the index (no string): the same patch, and the same ops, no text built
    assert.equal(makePatchFromOps(null, op, index), patch);
    const alone = applyPatchExact(null, patch, index);
    assert.equal(alone.text, null);
    assert.equal(applyOps(text, alone.ops), want);
    // the whole text's patch applies the same way through the index
    assert.equal(applyPatchExact(text, makePatchFromOps(text, op), index).text, want);
  }
});

test('a hunk past the end of the text is refused through the index too', () => {
  const text = 'abc😀'.repeat(3000);
  const patch = '@@ -12002,0 +12002 @@\n+x\n'; // at code point 12001 of 12000
  assert.throws(() => applyPatchExact(text, patch), /past the end/);
  assert.throws(() => applyPatchExact(text, patch, new ChunkedText(text)), /past the end/);
});
