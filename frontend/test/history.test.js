import { test } from 'node:test';
import assert from 'node:assert/strict';

import { crc32Hex } from '../src/core/crc32.js';
import { DIFF_DELETE, DIFF_EQUAL, diff } from '../src/core/diff.js';
import { makePatch } from '../src/core/patch.js';
import {
  LruCache,
  RevisionPages,
  VersionTexts,
  blameSegments,
  collapseEqual,
  diffSegments,
  diffStats,
  parseHash,
  splitSides,
  stepForward,
  versionHash,
} from '../src/timeline.js';
import { mulberry32, randomText } from './helpers.js';

/** A history of random edits: texts[v] is version v; revs[v] its revision (as the server sends it). */
function randomHistory(seed, n) {
  const rng = mulberry32(seed);
  const texts = [''];
  const revs = [null];
  for (let v = 1; v <= n; v++) {
    const old = texts[v - 1];
    const cps = [...old];
    const at = Math.floor(rng() * (cps.length + 1));
    const del = Math.floor(rng() * Math.min(4, cps.length - at + 1));
    const next = cps.slice(0, at).join('') + randomText(rng, 1 + Math.floor(rng() * 5)) + cps.slice(at + del).join('');
    texts.push(next);
    revs.push({ version: v, author: v % 2 ? 'Alice' : 'Bob', ts: 1000 + v, patch: makePatch(old, next), hash: crc32Hex(next), id: `op${v}` });
  }
  return { texts, revs };
}

function fakeServer(history) {
  const calls = { pages: [], versions: [] };
  const head = history.texts.length - 1;
  return {
    calls,
    head,
    fetchPage: async (since, limit) => {
      calls.pages.push([since, limit]);
      return { version: head, revisions: history.revs.slice(since + 1, since + 1 + limit) };
    },
    fetchVersion: async (v) => {
      calls.versions.push(v);
      return history.texts[v];
    },
  };
}

test('hash links name a version', () => {
  assert.equal(parseHash('#v=123'), 123);
  assert.equal(parseHash('v=0'), 0);
  assert.equal(parseHash('#x=1&v=7'), 7);
  for (const bad of ['', '#', '#v=', '#v=-1', '#v=1e3', '#v=abc', '#v=12x', null, undefined]) assert.equal(parseHash(bad), null, String(bad));
  assert.equal(parseHash(versionHash(42)), 42);
});

test('the LRU cache keeps the most recently used', () => {
  const c = new LruCache(2);
  c.set(1, 'a');
  c.set(2, 'b');
  c.get(1);
  c.set(3, 'c');
  assert.equal(c.has(2), false);
  assert.equal(c.get(1), 'a');
  assert.equal(c.get(3), 'c');
});

test('revision metadata is loaded a page at a time, never the whole log', async () => {
  const history = randomHistory(1, 1000);
  const server = fakeServer(history);
  let head = null;
  const pages = new RevisionPages(server.fetchPage, { pageSize: 100, maxPages: 3, onHead: (h) => (head = h) });
  const r = await pages.ensure(450, server.head);
  assert.equal(r.version, 450);
  assert.equal(r.author, 'Bob');
  assert.equal(head, 1000);
  assert.deepEqual(server.calls.pages, [[400, 100]]);
  await pages.ensure(451, server.head); // same page: no request
  assert.equal(server.calls.pages.length, 1);
  await pages.ensure(495, server.head); // near the edge: the next page too
  assert.deepEqual(server.calls.pages.slice(1), [[500, 100]]);
  assert.equal(pages.get(505).version, 505);
  for (const v of [50, 950, 750]) await pages.ensure(v, server.head);
  assert.ok(pages.pages.size <= 3, `kept ${pages.pages.size} pages`);
  assert.equal(pages.get(750).version, 750);
  assert.equal(await pages.ensure(0, server.head), undefined);
  assert.equal(await pages.ensure(1001, server.head), undefined);
  assert.deepEqual(pages.authors().map((w) => w.author).sort(), ['Alice', 'Bob']);
});

test('concurrent asks for one page make one request', async () => {
  const history = randomHistory(2, 50);
  const server = fakeServer(history);
  const pages = new RevisionPages(server.fetchPage, { pageSize: 20 });
  await Promise.all([pages.ensure(5, 50), pages.ensure(6, 50), pages.ensure(7, 50)]);
  assert.equal(server.calls.pages.length, 1);
});

test('playing forward applies each revision to the text before it, checked by its hash', async () => {
  for (const seed of [3, 4, 5]) {
    const history = randomHistory(seed, 300);
    const server = fakeServer(history);
    const pages = new RevisionPages(server.fetchPage, { pageSize: 50 });
    const texts = new VersionTexts(server.fetchVersion, pages, 4);
    for (let v = 0; v <= 300; v++) {
      await pages.ensure(v, 300);
      assert.equal(await texts.get(v), history.texts[v], `seed ${seed} version ${v}`);
    }
    assert.equal(server.calls.versions.length, 0); // all from patches
    assert.equal(await texts.get(17), history.texts[17]); // a jump back asks the server
    assert.deepEqual(server.calls.versions, [17]);
  }
});

test('a revision that does not fit (or whose hash differs) is fetched instead', async () => {
  const history = randomHistory(6, 10);
  const wrong = { ...history.revs[5], hash: '00000000' };
  assert.equal(stepForward(history.texts[4], wrong), null);
  assert.equal(stepForward('something else entirely', history.revs[5]), null);
  assert.equal(stepForward(history.texts[4], history.revs[5]), history.texts[5]);
  assert.equal(stepForward('x', undefined), null);
});

test('blame spans in code points become segments covering the text exactly', () => {
  const text = '😀ab中\ncd😁';
  const spans = [
    { start: 0, end: 2, version: 1, author: 'A' },
    { start: 2, end: 5, version: 2, author: 'B' },
    { start: 5, end: 8, version: 3, author: 'A' },
  ];
  const segs = blameSegments(text, spans);
  assert.equal(segs.map((s) => s.text).join(''), text);
  assert.deepEqual(segs.map((s) => s.text), ['😀a', 'b中\n', 'cd😁']);
  assert.deepEqual(segs.map((s) => s.author), ['A', 'B', 'A']);
  // a gap or a short list still shows every character
  const partial = blameSegments(text, [{ start: 1, end: 2, version: 1, author: 'A' }]);
  assert.equal(partial.map((s) => s.text).join(''), text);
  assert.equal(partial[0].author, null);
  assert.deepEqual(blameSegments('', []), []);
});

test('diff edits become segments that spell both texts', () => {
  const rng = mulberry32(9);
  for (let i = 0; i < 200; i++) {
    const a = randomText(rng, Math.floor(rng() * 30));
    const b = randomText(rng, Math.floor(rng() * 30));
    // edits as the server sends them: positions in code points on a
    const edits = [];
    let cp = 0;
    let pending = null;
    for (const [op, t] of diff(a, b)) {
      if (op === DIFF_EQUAL) {
        if (pending) edits.push(pending);
        pending = null;
        cp += [...t].length;
        continue;
      }
      pending = pending || { pos: cp, delete: '', insert: '' };
      if (op === DIFF_DELETE) {
        pending.delete += t;
        cp += [...t].length;
      } else pending.insert += t;
    }
    if (pending) edits.push(pending);
    const segs = diffSegments(a, edits);
    const { left, right } = splitSides(segs);
    assert.equal(left.map((s) => s.text).join(''), a);
    assert.equal(right.map((s) => s.text).join(''), b);
    // the counts are the edits' own, in code points: nothing widened, nothing added
    const cps = (k) => edits.reduce((n, e) => n + [...e[k]].length, 0);
    assert.deepEqual(diffStats(segs), { inserted: cps('insert'), deleted: cps('delete') });
    assert.deepEqual(segs.filter((x) => x.op !== 'equal').map((x) => x.text), edits.flatMap((e) => [e.delete, e.insert].filter(Boolean)));
  }
  assert.throws(() => diffSegments('abc', [{ pos: 1, delete: 'x', insert: '' }]), /does not match/);
  assert.deepEqual(diffStats(diffSegments('héllo', [{ pos: 1, delete: 'é', insert: '😀😀' }])), { inserted: 2, deleted: 1 });
});

test('long unchanged stretches collapse to a few lines around each change', () => {
  const lines = Array.from({ length: 20 }, (_, i) => `line ${i}`);
  const segs = [
    { op: 'equal', text: lines.slice(0, 10).join('\n') + '\nchanged ' },
    { op: 'insert', text: 'NEW' },
    { op: 'equal', text: ' here\n' + lines.slice(10).join('\n') },
  ];
  const out = collapseEqual(segs, 2);
  assert.deepEqual(out.map((s) => s.op), ['skip', 'equal', 'insert', 'equal', 'skip']);
  assert.equal(out.map((s) => s.text).join(''), segs.map((s) => s.text).join(''));
  assert.ok(out[1].text.endsWith('changed '));
  assert.ok(out[3].text.startsWith(' here'));
  const short = [{ op: 'equal', text: 'a\nb' }, { op: 'delete', text: 'x' }];
  assert.deepEqual(collapseEqual(short, 2), short);
});
