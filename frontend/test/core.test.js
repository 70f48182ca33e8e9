import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import DiffMatchPatch from 'diff-match-patch';

import { crc32Hex } from '../src/core/crc32.js';
import { diff, diffOps } from '../src/core/diff.js';
import { randomId } from '../src/core/ids.js';
import { applyOps, compose, mapPosition, transform } from '../src/core/ops.js';
import { applyPatchExact, makePatch, parsePatch } from '../src/core/patch.js';
import { cpLength, cpToUtf16, utf16ToCp, wellFormed } from '../src/core/text.js';
import { mulberry32, randomText } from './helpers.js';

const SAMPLES = [
  ['', ''],
  ['', 'hello'],
  ['hello', ''],
  ['hello world', 'hello brave new world'],
  ['😀', '😁'], // same high surrogate: stock diff-match-patch splits the pair here
  ['a😀b', 'a😁b'],
  ['😀😁😂', '😀😂'],
  ['x😀😁y', 'x😁😀y'],
  ['中文字符', '中文的字符'],
  ['日本語のテキスト', '日本のテキスト語'],
  ['cafe\u0301', 'cafe\u0301s'], // combining acute accent
  ['e\u0301e\u0302', 'e\u0302e\u0301'],
  ['שלום עולם', 'שלום לכם עולם'], // RTL
  ['مرحبا بالعالم', 'مرحبا العالم'],
  ['line1\nline2\nline3\n', 'line1\nline two\nline3\nline4\n'],
  ['👩‍👩‍👧‍👦 family', '👩‍👩‍👧 family'], // ZWJ sequences
  ['\uE000 private \uE001', '\uE000 private 😀 \uE001'], // private use chars already in the text
];

test('stock diff-match-patch does split surrogate pairs (the bug we guard against)', () => {
  const dmp = new DiffMatchPatch();
  assert.throws(() => dmp.patch_toText(dmp.patch_make('😀', '😁')), /URI malformed/);
});

test('cpLength, cpToUtf16 and utf16ToCp count code points', () => {
  assert.equal(cpLength('a😀b'), 3);
  assert.equal(cpLength('😀😁'), 2);
  assert.equal(cpLength('中文'), 2);
  assert.equal(cpLength('e\u0301'), 2);
  assert.equal(cpToUtf16('a😀b', 2), 3);
  assert.equal(cpToUtf16('a😀b', 3), 4);
  assert.equal(cpToUtf16('abc', 2), 2);
  assert.equal(utf16ToCp('a😀b', 3), 2);
  assert.equal(utf16ToCp('a😀b', 4), 3);
});

test('wellFormed replaces lone surrogates only', () => {
  assert.equal(wellFormed('a\uD83Db'), 'a\uFFFDb');
  assert.equal(wellFormed('a\uDE00b'), 'a\uFFFDb');
  assert.equal(wellFormed('a😀b'), 'a😀b');
});

for (const [a, b] of SAMPLES) {
  test(`makePatch/applyPatchExact round trip: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`, () => {
    const p = makePatch(a, b);
    // Patch text is valid URI-encoded text (no split pair)...
    assert.doesNotThrow(() => parsePatch(p));
    // ...and applies exactly, giving b.
    const { text, ops } = applyPatchExact(a, p);
    assert.equal(text, b);
    assert.equal(applyOps(a, ops), b);
    // The minimal diff never splits a pair either.
    for (const [, t] of diff(a, b)) assert.equal(wellFormed(t), t);
  });
}

test('patch offsets count code points', () => {
  const p = makePatch('abcdefgh😀😀ijklmnop', 'abcdefgh😀😀iXjklmnop');
  const [h] = parsePatch(p);
  // "X" goes after 9 code points; the context starts 8 before it (Python writes the same)
  assert.equal(h.start2, 3);
  assert.equal(p, '@@ -4,15 +4,16 @@\n defgh%F0%9F%98%80%F0%9F%98%80i\n+X\n jklmnop\n');
});

// Written by Python's diff-match-patch (the server's): see fixtures/python-patches.json.
const PY = JSON.parse(readFileSync(new URL('./fixtures/python-patches.json', import.meta.url), 'utf8'));

test('Python patch text applies exactly here, and ours is byte-identical to it', () => {
  let identical = 0;
  for (const { a, b, patch } of PY) {
    assert.equal(applyPatchExact(a, patch).text, b, JSON.stringify({ a, b, patch }));
    const ours = makePatch(a, b);
    assert.equal(applyPatchExact(a, ours).text, b);
    if (ours === patch) identical++;
  }
  // Both ports run the same algorithm; only the semantic cleanup's idea of "alphanumeric"
  // differs for non-ASCII (Python's str.isalnum is Unicode-aware), so allow a few differences.
  assert.ok(identical >= PY.length - 5, `${identical} of ${PY.length} identical`);
});

test('patch text matches the format of Python diff-match-patch for ASCII', () => {
  assert.equal(makePatch('The quick brown fox', 'The quick red fox'), '@@ -7,13 +7,11 @@\n ick \n-brown\n+red\n  fox\n');
  assert.equal(makePatch('', 'abc'), '@@ -0,0 +1,3 @@\n+abc\n');
  assert.equal(makePatch('a\nb', 'a\nb c%'), '@@ -1,3 +1,6 @@\n a%0Ab\n+ c%25\n');
});

test('applyPatchExact refuses a hunk whose context does not match', () => {
  const p = makePatch('hello world', 'hello brave world');
  assert.throws(() => applyPatchExact('hello there world', p), (e) => e.code === 'conflict');
  assert.throws(() => applyPatchExact('hi', p), (e) => e.code === 'conflict');
  assert.throws(() => parsePatch('garbage'), (e) => e.code === 'bad_patch');
});

test('applyPatchExact applies rolling-context hunks on repetitive text', () => {
  const base = 'abc\n'.repeat(50);
  const lines = base.split('\n');
  lines[3] = 'abX';
  lines[10] = 'Yabc';
  lines[40] = '';
  const target = lines.join('\n');
  const { text } = applyPatchExact(base, makePatch(base, target));
  assert.equal(text, target);
});

test('random round trips with astral text (seeded)', () => {
  const rng = mulberry32(7);
  for (let i = 0; i < 400; i++) {
    const a = randomText(rng, Math.floor(rng() * 40));
    let b = a;
    const edits = 1 + Math.floor(rng() * 4);
    for (let k = 0; k < edits; k++) {
      const cps = [...b];
      const at = Math.floor(rng() * (cps.length + 1));
      const dl = Math.floor(rng() * 4);
      cps.splice(at, dl, ...randomText(rng, Math.floor(rng() * 4)));
      b = cps.join('');
    }
    const p = makePatch(a, b);
    assert.equal(applyPatchExact(a, p).text, b, `case ${i}: ${JSON.stringify([a, b])}`);
    assert.equal(applyOps(a, diffOps(a, b)), b);
  }
});

test('transform converges and keeps both sides intentions (seeded)', () => {
  const rng = mulberry32(11);
  for (let i = 0; i < 500; i++) {
    const s = randomText(rng, Math.floor(rng() * 30));
    const edit = () => {
      const cps = [...s];
      const at = Math.floor(rng() * (cps.length + 1));
      cps.splice(at, Math.floor(rng() * 5), ...randomText(rng, Math.floor(rng() * 4)));
      return cps.join('');
    };
    const a = diffOps(s, edit());
    const b = diffOps(s, edit());
    const [a1, b1] = transform(a, b);
    assert.equal(applyOps(applyOps(s, a), b1), applyOps(applyOps(s, b), a1));
    const c = compose(a, b1);
    assert.equal(applyOps(s, c), applyOps(applyOps(s, a), b1));
  }
});

test('transform: first side inserts first; deletes collapse; inserts in deleted ranges survive', () => {
  const s = 'hello world';
  const ins1 = diffOps(s, 'hello X world');
  const ins2 = diffOps(s, 'hello Y world');
  const [i1, i2] = transform(ins1, ins2);
  assert.equal(applyOps(applyOps(s, ins1), i2), 'hello X Y world');
  assert.equal(applyOps(applyOps(s, ins2), i1), 'hello X Y world');
  const delA = diffOps(s, 'hello');
  const delB = diffOps(s, 'hellorld');
  const [d1, d2] = transform(delA, delB);
  assert.equal(applyOps(applyOps(s, delA), d2), 'hello');
  assert.equal(applyOps(applyOps(s, delB), d1), 'hello');
  const insInside = diffOps(s, 'hello wo-new-rld');
  const [x1, x2] = transform(delA, insInside);
  assert.equal(applyOps(applyOps(s, delA), x2), 'hello-new-');
  assert.equal(applyOps(applyOps(s, insInside), x1), 'hello-new-');
});

test('mapPosition follows inserts and deletes', () => {
  const ops = diffOps('abcdef', 'abXcf');
  assert.equal(mapPosition(ops, 0), 0);
  assert.equal(mapPosition(ops, 2, -1), 2);
  assert.equal(mapPosition(ops, 2, 1), 3);
  assert.equal(mapPosition(ops, 4), 4);
  assert.equal(mapPosition(ops, 6), 5);
});

test('crc32Hex equals zlib.crc32 of the UTF-8 bytes', () => {
  assert.equal(crc32Hex(''), '00000000');
  assert.equal(crc32Hex('hello'), '3610a686');
  assert.equal(crc32Hex('The quick brown fox jumps over the lazy dog'), '414fa339');
  assert.equal(crc32Hex('😀'), '054db544'); // zlib.crc32('😀'.encode()) == 0x054db544
  // around the 8-byte steps, with 1- to 4-byte characters (values from Python's zlib.crc32)
  assert.equal(crc32Hex('aé😀中baé'), '0028d9f2');
  assert.equal(crc32Hex('aé😀中baé😀'), 'f627cb7d');
  assert.equal(crc32Hex('aé😀中baé😀中'), '04fc1a90');
  assert.equal(crc32Hex('aé😀中baé😀中baé😀中b'), '0e0e5269');
  // a text larger than the reused buffer, then a small one again
  assert.equal(crc32Hex('the quick brown fox 😀 jumps över the lazy dog 中文\n'.repeat(2000)), '4fd17059');
  assert.equal(crc32Hex('hello'), '3610a686');
});

test('randomId gives 22 base62 characters, all different', () => {
  const seen = new Set();
  for (let i = 0; i < 1000; i++) {
    const id = randomId();
    assert.match(id, /^[0-9A-Za-z]{22}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 1000);
});

test('large texts diff fast (1 MB, one edit in the middle)', () => {
  const big = 'lorem ipsum dolor sit amet 😀 中文\n'.repeat(30000);
  const mid = Math.floor(big.length / 2) & ~1;
  const edited = big.slice(0, mid) + 'NEW' + big.slice(mid);
  const t0 = performance.now();
  const p = makePatch(big, edited);
  const ops = diffOps(big, edited);
  const ms = performance.now() - t0;
  assert.equal(applyPatchExact(big, p).text, edited);
  assert.equal(applyOps(big, ops), edited);
  assert.ok(ms < 1500, `took ${ms} ms`);
});
