import { test } from 'node:test';
import assert from 'node:assert/strict';

import { SyncClient } from '../src/sync.js';
import { crc32Hex } from '../src/core/crc32.js';
import { applyOps } from '../src/core/ops.js';
import { makePatch } from '../src/core/patch.js';
import { Authority } from './authority.js';
import { mulberry32, pick, randomText } from './helpers.js';

function ids(prefix) {
  let n = 0;
  return () => `${prefix}${++n}`;
}

function rev(version, from, to, id = `r${version}`) {
  return { doc: 'd', version, patch: makePatch(from, to), id, author: 'x', ts: 0, hash: crc32Hex(to) };
}

test('send, ack, next patch batches what was typed meanwhile', () => {
  const c = new SyncClient({ newId: ids('a') });
  c.localEdit(0, 0, 'hello');
  const p = c.takePatch();
  assert.deepEqual(p, { base: 0, patch: makePatch('', 'hello'), id: 'a1' });
  assert.equal(c.takePatch(), null, 'one patch in flight');
  c.localEdit(5, 0, ' world');
  c.localEdit(0, 1, 'H');
  assert.equal(c.unsaved, 3);
  c.receiveAck({ ok: true, version: 1, hash: crc32Hex('hello') }, 'a1');
  assert.equal(c.version, 1);
  assert.equal(c.shadow, 'hello');
  assert.equal(c.unsaved, 2);
  const p2 = c.takePatch();
  assert.equal(p2.base, 1);
  assert.equal(p2.id, 'a2');
  c.receiveAck({ ok: true, version: 2, hash: crc32Hex('Hello world') }, 'a2');
  assert.equal(c.shadow, 'Hello world');
  assert.equal(c.unsaved, 0);
  assert.equal(c.takePatch(), null);
});

test('localEdit counts code points', () => {
  const c = new SyncClient({ text: 'a😀b😁c' });
  c.localEdit(3, 1, 'X'); // replaces "😁"
  assert.equal(c.text, 'a😀bXc');
  c.localEdit(1, 1, '');
  assert.equal(c.text, 'abXc');
});

test('a remote revision rebases local edits (remote insert first at the same place)', () => {
  const changes = [];
  const c = new SyncClient({ version: 1, text: 'hello world', onChange: (ops) => changes.push(ops) });
  c.localEdit(11, 0, ' dear'); // unsent local edit
  c.receiveRevision(rev(2, 'hello world', 'hello big world'));
  assert.equal(c.version, 2);
  assert.equal(c.shadow, 'hello big world');
  assert.equal(c.text, 'hello big world dear');
  // the editor is told how its text changed
  assert.equal(applyOps('hello world dear', changes[0]), 'hello big world dear');
  // same position: the committed revision's insert goes first
  const d = new SyncClient({ version: 0, text: 'ab' });
  d.localEdit(1, 0, 'L');
  d.receiveRevision(rev(1, 'ab', 'aRb'));
  assert.equal(d.text, 'aRLb');
});

test('rebasing picks the right copy of identical lines', () => {
  const base = 'same\nsame\nsame\nsame\n';
  const c = new SyncClient({ version: 1, text: base });
  c.localEdit(15, 0, 'X'); // start of the 4th line
  assert.equal(c.text, 'same\nsame\nsame\nXsame\n');
  c.receiveRevision(rev(2, base, 'top\n' + base));
  assert.equal(c.text, 'top\nsame\nsame\nsame\nXsame\n');
});

test('own op recognised by id in a sync answer (ack lost)', () => {
  const a = new Authority();
  const c = new SyncClient({ newId: ids('c') });
  c.localEdit(0, 0, 'mine');
  const p = c.takePatch();
  a.patch(p); // applied, but the ack is lost with the connection
  c.disconnected();
  c.localEdit(4, 0, '!');
  c.receiveJoin(a.join());
  const again = c.takePatch();
  assert.deepEqual(again, p, 'resent with the same id and base');
  const [ack] = a.patch(again);
  assert.equal(ack.duplicate, true);
  c.receiveAck(ack, again.id); // a duplicate's ack carries the canonical patch: applied as is
  assert.equal(c.version, 1);
  const s = c.takeSync(); // the join named version 1: catch up to it (nothing more to come)
  assert.deepEqual(s, { since: 1 });
  c.receiveSync(a.sync(s.since));
  assert.equal(c.shadow, 'mine');
  assert.equal(c.text, 'mine!');
  const p3 = c.takePatch();
  assert.notEqual(p3.id, p.id);
  c.receiveAck(a.patch(p3)[0], p3.id);
  assert.equal(a.text, 'mine!');
});

test('conflict: nothing lost, sync to head, resend as a new op', () => {
  const c = new SyncClient({ version: 0, text: '', newId: ids('k') });
  c.localEdit(0, 0, 'abc');
  const p = c.takePatch();
  c.receiveAck({ ok: false, error: { code: 'conflict', message: 'x', version: 1 } }, p.id);
  assert.equal(c.text, 'abc');
  assert.equal(c.takePatch(), null, 'waits for the sync');
  assert.deepEqual(c.takeSync(), { since: 0 });
  c.receiveSync({ ok: true, version: 1, revisions: [rev(1, '', 'zz')] });
  assert.equal(c.text, 'zzabc');
  const p2 = c.takePatch();
  assert.equal(p2.base, 1);
  assert.equal(p2.id, 'k2');
});

test('rate_limited: the same op goes again after the wait', () => {
  const c = new SyncClient({ newId: ids('r') });
  c.localEdit(0, 0, 'x');
  const p = c.takePatch(0);
  c.receiveAck({ ok: false, error: { code: 'rate_limited', message: 'slow', retry_after: 0.5 } }, p.id, 1);
  assert.equal(c.wakeAt(), 1.5);
  assert.equal(c.takePatch(1.2), null);
  assert.deepEqual(c.takePatch(1.5), p);
});

test('a refused text is kept and not sent again; the next edit is sent without clearing', () => {
  const c = new SyncClient({ newId: ids('e') });
  c.localEdit(0, 0, 'x'.repeat(10));
  const p = c.takePatch();
  c.receiveAck({ ok: false, error: { code: 'too_large', message: 'too big' } }, p.id);
  assert.equal(c.error.code, 'too_large');
  assert.equal(c.stuck.code, 'too_large');
  assert.equal(c.text, 'x'.repeat(10));
  assert.equal(c.takePatch(), null);
  c.localEdit(0, 5, '');
  const p2 = c.takePatch();
  assert.equal(p2.id, 'e2');
  assert.equal(p2.patch, makePatch('', 'xxxxx'));
});

test('early revisions are held until the gap is filled', () => {
  const c = new SyncClient();
  const t = ['', 'a', 'ab', 'abc', 'abcd'];
  c.receiveRevisions([rev(3, t[2], t[3]), rev(4, t[3], t[4])]);
  assert.equal(c.version, 0);
  assert.deepEqual(c.heldVersions, [3, 4]);
  assert.deepEqual(c.takeSync(), { since: 0 });
  c.receiveSync({ ok: true, version: 4, revisions: [rev(1, t[0], t[1]), rev(2, t[1], t[2])] });
  assert.equal(c.version, 4);
  assert.equal(c.text, 'abcd');
});

test('a gap that only our in-flight op can fill waits for the ack', () => {
  const c = new SyncClient({ newId: ids('w') });
  c.localEdit(0, 0, 'me');
  const p = c.takePatch();
  c.receiveRevision(rev(2, 'me', 'me+you'));
  assert.equal(c.needsSync(), null);
  c.receiveAck({ ok: true, version: 1, hash: crc32Hex('me') }, p.id);
  assert.equal(c.version, 2);
  assert.equal(c.text, 'me+you');
});

test('an ack ahead of our version is held, then applied', () => {
  const c = new SyncClient({ newId: ids('h') });
  c.localEdit(0, 0, 'B');
  const p = c.takePatch();
  // someone else's revision 1 is still on its way; our op became revision 2
  c.receiveAck({ ok: true, version: 2, hash: crc32Hex('AB'), patch: makePatch('A', 'AB') }, p.id);
  assert.equal(c.version, 0);
  assert.deepEqual(c.takeSync(), { since: 0 });
  c.receiveSync({ ok: true, version: 2, revisions: [rev(1, '', 'A'), { ...rev(2, 'A', 'AB'), id: p.id }] });
  assert.equal(c.version, 2);
  assert.equal(c.text, 'AB');
  assert.equal(c.inflight, null);
});

test('a hash mismatch asks for a full resync that keeps typed text', () => {
  const c = new SyncClient({ version: 1, text: 'abc' });
  c.localEdit(3, 0, ' typed');
  c.receiveRevision({ ...rev(2, 'abc', 'abcd'), hash: 'deadbeef' });
  assert.equal(c.needsRejoin(), 'hash_mismatch');
  assert.equal(c.takePatch(), null);
  c.resetFromJoin({ ok: true, version: 2, text: 'abcd!' });
  assert.equal(c.needsRejoin(), null);
  assert.equal(c.text, 'abcd! typed');
  assert.equal(c.takePatch().base, 2);
});

test('re-join when the server is behind us rebases onto its text', () => {
  const c = new SyncClient({ version: 5, text: 'hello' });
  c.localEdit(5, 0, '!');
  c.receiveJoin({ ok: true, version: 3, text: 'hell' });
  assert.equal(c.version, 3);
  assert.equal(c.text, 'hell!');
});

test('a client restored from storage resends its op with the same id, then syncs', () => {
  const c = new SyncClient({ version: 2, shadow: 'ab', text: 'abXY', inflight: { id: 'keep', base: 2, patch: makePatch('ab', 'abX') } });
  assert.equal(c.unsaved > 0, true);
  c.receiveJoin({ ok: true, version: 3, text: 'abX' });
  assert.deepEqual(c.takePatch(), { base: 2, patch: makePatch('ab', 'abX'), id: 'keep' });
  c.receiveAck({ ok: true, duplicate: true, version: 3 }, 'keep');
  assert.deepEqual(c.takeSync(), { since: 2 });
  c.receiveSync({ ok: true, version: 3, revisions: [{ ...rev(3, 'ab', 'abX'), id: 'keep' }] });
  assert.equal(c.text, 'abXY');
  assert.equal(c.takePatch().patch, makePatch('abX', 'abXY'));
});

// ---- seeded random concurrency against the dummy authority ----

function simulate(seed, { clients = 4, steps = 1500, pConflict = 0.2, pRateLimit = 0.05, pDrop = 0.02, reorder = false, insertOnly = false } = {}) {
  const rng = mulberry32(seed);
  const auth = new Authority({ rng, pConflict, pRateLimit });
  const typed = [];
  const cs = [];
  for (let i = 0; i < clients; i++) {
    const c = { n: i, up: true, inbox: [], outbox: [] };
    c.sync = new SyncClient({ newId: ids(`c${i}-`) });
    c.sync.receiveJoin(auth.join(), { fresh: true });
    cs.push(c);
  }
  const pump = (c) => {
    if (!c.up) return;
    if (c.sync.needsRejoin()) throw new Error(`client ${c.n} diverged: ${c.sync.needsRejoin()}`);
    const s = c.sync.takeSync();
    if (s) c.outbox.push({ type: 'sync', since: s.since });
    const p = c.sync.takePatch();
    if (p) c.outbox.push({ type: 'patch', msg: p });
  };
  const serve = (c) => {
    const m = c.outbox.shift();
    if (!m) return;
    if (m.type === 'sync') c.inbox.push({ type: 'sync', ans: auth.sync(m.since) });
    else {
      const [ack, r] = auth.patch(m.msg, c.n);
      c.inbox.push({ type: 'ack', id: m.msg.id, ack });
      if (r) for (const o of cs) if (o !== c && o.up) o.inbox.push({ type: 'rev', rev: r });
    }
  };
  const deliver = (c) => {
    if (!c.inbox.length) return;
    const k = reorder ? Math.floor(rng() * c.inbox.length) : 0;
    const [m] = c.inbox.splice(k, 1);
    if (m.type === 'ack') c.sync.receiveAck(m.ack, m.id);
    else if (m.type === 'rev') c.sync.receiveRevision(m.rev);
    else c.sync.receiveSync(m.ans);
  };
  const reconnect = (c) => {
    c.up = true;
    c.sync.receiveJoin(auth.join());
  };
  for (let step = 0; step < steps; step++) {
    const c = pick(rng, cs);
    const r = rng();
    if (r < 0.35) {
      const len = [...c.sync.text].length;
      const at = Math.floor(rng() * (len + 1));
      const dl = insertOnly ? 0 : Math.min(len - at, Math.floor(rng() * 3));
      const ins = randomText(rng, Math.floor(rng() * 3) + (insertOnly ? 1 : 0));
      if (insertOnly) typed.push(ins);
      c.sync.localEdit(at, dl, ins);
    } else if (r < 0.5) pump(c);
    else if (r < 0.7) serve(c);
    else if (r < 0.97) deliver(c);
    else if (c.up && rng() < pDrop * 30) {
      // connection lost: what was not delivered is gone; a patch may or may not have been applied
      if (c.outbox.length && rng() < 0.5) serve(c);
      c.inbox = [];
      c.outbox = [];
      c.up = false;
      c.sync.disconnected();
    } else if (!c.up) reconnect(c);
  }
  // quiesce: everyone back online, deliver everything until nobody has anything to say
  for (const c of cs) if (!c.up) reconnect(c);
  auth.pConflict = 0;
  auth.pRateLimit = 0;
  for (let round = 0; round < 10000; round++) {
    let busy = false;
    for (const c of cs) {
      pump(c);
      while (c.outbox.length) {
        serve(c);
        busy = true;
      }
    }
    for (const c of cs) {
      while (c.inbox.length) {
        deliver(c);
        busy = true;
      }
    }
    if (!busy) break;
  }
  return { auth, cs, typed };
}

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  test(`random concurrent editing converges (seed ${seed}, FIFO delivery)`, () => {
    const { auth, cs } = simulate(seed);
    for (const c of cs) {
      assert.equal(c.sync.text, auth.text, `client ${c.n} text`);
      assert.equal(c.sync.shadow, auth.text);
      assert.equal(c.sync.version, auth.head);
      assert.equal(c.sync.unsaved, 0);
    }
    assert.ok(auth.head > 20, `only ${auth.head} revisions`);
  });
}

for (const seed of [11, 12, 13, 14, 15, 16]) {
  test(`random concurrent editing converges (seed ${seed}, random delivery order)`, () => {
    const { auth, cs } = simulate(seed, { reorder: true, clients: 5 });
    for (const c of cs) assert.equal(c.sync.text, auth.text, `client ${c.n} text`);
  });
}

for (const seed of [21, 22, 23, 24]) {
  test(`inserts only: every typed character survives exactly once (seed ${seed})`, () => {
    const { auth, cs, typed } = simulate(seed, { insertOnly: true, reorder: seed % 2 === 0, pDrop: 0.04 });
    for (const c of cs) assert.equal(c.sync.text, auth.text);
    const count = (s) => {
      const m = new Map();
      for (const ch of s) m.set(ch, (m.get(ch) || 0) + 1);
      return [...m.entries()].sort();
    };
    assert.deepEqual(count(auth.text), count(typed.join('')));
  });
}
