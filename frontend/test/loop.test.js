// SyncLoop's join, written once for the browser and the bench driver: the first join's text
// replaces the state machine's (unless it starts from saved edits), a refused join is tried again
// (unless the document id is bad or unknown), a lost connection is told to the state machine, and
// this document's revisions reach it. The socket is a stand-in for socket.io-client's (the
// browser tests in tests/browser/ run the real one against the real server).

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { SyncLoop } from '../src/loop.js';
import { SyncClient } from '../src/sync.js';

/** What the loop uses of a socket.io-client socket: on, emit, timeout(ms).emit, connected. */
class Socket {
  constructor() {
    this.handlers = {};
    this.sent = []; // [event, message, ack]
    this.connected = false;
  }
  on(event, fn) {
    (this.handlers[event] ||= []).push(fn);
  }
  emit(event, message, ack) {
    this.sent.push([event, message, ack]);
  }
  timeout() {
    return { emit: (event, message, ack) => this.emit(event, message, (ans) => ack(null, ans)) };
  }
  /** The server's side: a connect, a message, an answer to the last `event` sent. */
  fire(event, ...args) {
    for (const fn of this.handlers[event] || []) fn(...args);
  }
  connect() {
    this.connected = true;
    this.fire('connect');
  }
  answer(event, ans) {
    const last = [...this.sent].reverse().find((s) => s[0] === event);
    assert.ok(last, `no ${event} was sent`);
    last[2](ans);
  }
  count(event) {
    return this.sent.filter((s) => s[0] === event).length;
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

function loop(o = {}) {
  const events = [];
  const sync = o.sync || new SyncClient({});
  const l = new SyncLoop({
    sync,
    key: 'doc1',
    joinMessage: () => ({ doc: 'doc1', name: 'Ada' }),
    joinRetryMs: 0,
    onJoining: (why) => events.push(['joining', why]),
    onJoined: (ans, first) => events.push(['joined', first]),
    onJoinFailed: (error) => events.push(['failed', error.code]),
    onLost: () => events.push(['lost']),
    ...o,
  });
  const socket = l.attach(new Socket());
  return { l, sync, socket, events };
}

test('every connect joins; the first answer gives the text, a later one catches up from where it was', () => {
  const { l, sync, socket, events } = loop();
  socket.connect();
  assert.deepEqual(socket.sent[0].slice(0, 2), ['join', { doc: 'doc1', name: 'Ada' }]);
  socket.answer('join', { ok: true, version: 3, text: 'abc' });
  assert.equal(sync.text, 'abc');
  assert.equal(sync.version, 3);
  assert.ok(l.joined);
  socket.fire('disconnect');
  assert.ok(!l.joined);
  sync.localEditUtf16(3, 3, '!'); // typed while the connection was gone
  socket.connect();
  socket.answer('join', { ok: true, version: 4, text: 'xabc' });
  const [, since] = socket.sent.find((s) => s[0] === 'sync');
  assert.deepEqual(since, { doc: 'doc1', since: 3 });
  socket.answer('sync', { ok: true, version: 4, revisions: [{ version: 4, patch: '@@ -0,0 +1,1 @@\n+x\n', id: 'r4' }] });
  assert.equal(sync.text, 'xabc!', 'the edit typed meanwhile is kept, rebased');
  assert.deepEqual(events, [['joining', undefined], ['joined', true], ['lost'], ['joining', undefined], ['joined', false]]);
  l.stop();
});

test('a loop restored from saved edits keeps them on its first join, and sends them', () => {
  const sync = new SyncClient({ version: 1, shadow: 'ab', text: 'ab+' });
  const { l, socket } = loop({ sync, restored: true });
  socket.connect();
  socket.answer('join', { ok: true, version: 1, text: 'ab' });
  assert.equal(sync.text, 'ab+');
  const [, patch] = socket.sent.find((s) => s[0] === 'patch');
  assert.equal(patch.base, 1);
  l.stop();
});

test('without saved edits the first join takes the server text as it is', () => {
  const sync = new SyncClient({ version: 1, shadow: 'ab', text: 'ab+' });
  const { l, socket } = loop({ sync });
  socket.connect();
  socket.answer('join', { ok: true, version: 1, text: 'ab' });
  assert.equal(sync.text, 'ab');
  assert.equal(socket.count('patch'), 0);
  l.stop();
});

test('a refused join is tried again; a bad or unknown document is not', async () => {
  const { l, socket, events } = loop();
  socket.connect();
  socket.answer('join', { ok: false, error: { code: 'rate_limited', message: 'slow down' } });
  await tick();
  assert.equal(socket.count('join'), 2, 'joined again');
  socket.answer('join', { ok: false, error: { code: 'not_found', message: 'no such document' } });
  await tick();
  assert.equal(socket.count('join'), 2, 'no retry can find it');
  assert.deepEqual(events.filter((e) => e[0] === 'failed'), [['failed', 'rate_limited'], ['failed', 'not_found']]);
  assert.ok(!l.joined);
  l.stop();
});

test("this document's revisions reach the state machine, another one's do not", () => {
  const { l, sync, socket } = loop();
  socket.connect();
  socket.answer('join', { ok: true, version: 0, text: '' });
  socket.fire('revision', { doc: 'other', version: 1, patch: '@@ -0,0 +1,1 @@\n+z\n', id: 'o1' });
  assert.equal(sync.text, '');
  const patch = '@@ -0,0 +1,2 @@\n+hi\n';
  socket.fire('revisions', { doc: 'doc1', revisions: [{ version: 1, patch, id: 'r1' }] });
  assert.equal(sync.text, 'hi');
  assert.equal(sync.version, 1);
  l.stop();
});

test('when the state machine asks for a fresh join, the loop joins again and says why', () => {
  const { l, sync, socket, events } = loop();
  socket.connect();
  socket.answer('join', { ok: true, version: 0, text: '' });
  // a revision that does not apply to the text it claims to follow: only a re-join can repair it
  socket.fire('revision', { doc: 'doc1', version: 1, patch: '@@ -1,3 +1,3 @@\n-xyz\n+abc\n', id: 'bad' });
  const why = events.find((e) => e[0] === 'joining' && e[1] !== undefined);
  assert.ok(why, `asked to re-join: ${JSON.stringify(events)}`);
  assert.equal(socket.count('join'), 2);
  socket.answer('join', { ok: true, version: 1, text: 'q' });
  assert.equal(sync.text, 'q');
  l.stop();
});

// The document was deleted: whichever way the client learns it, the loop stops for good (no
// join, no patch, no sync, no timer) and hands the server's error on as it came (main.js words
// its notice by fields such as `reason`).
const DELETED = { code: 'deleted', message: 'this document was deleted: its links no longer work', reason: 'deleted' };

function goneLoop() {
  const gone = [];
  const r = loop({ onGone: (error) => gone.push(error) });
  r.socket.connect();
  r.socket.answer('join', { ok: true, version: 1, text: 'abc' });
  return { ...r, gone };
}

function assertStopped({ l, sync, socket, gone }, error, sent) {
  assert.equal(gone.length, 1, 'told once');
  assert.equal(gone[0], error, 'the error object as the server sent it');
  assert.equal(sync.gone, error);
  assert.ok(!l.joined);
  assert.deepEqual(Object.values(l._timers).filter(Boolean), [], 'no timer left');
  // a reconnect (the socket library's own) joins no more, and typing sends nothing
  socket.connect();
  sync.localEditUtf16(0, 0, '>');
  l.pump();
  assert.equal(socket.sent.length, sent, `nothing more was sent: ${JSON.stringify(socket.sent.slice(sent))}`);
}

test('a `gone` message stops the loop for good, keeping the text', () => {
  const r = goneLoop();
  r.sync.localEditUtf16(3, 3, '!');
  r.l.pump();
  const error = { ...DELETED };
  r.socket.fire('gone', { doc: 'other', error: { code: 'deleted', message: 'not ours' } });
  assert.equal(r.gone.length, 0, "another document's");
  r.socket.fire('gone', { doc: 'doc1', error });
  assert.equal(r.sync.text, 'abc!');
  assertStopped(r, error, r.socket.sent.length);
});

test('a patch refused `deleted` stops the loop for good (not resent)', async () => {
  const r = goneLoop();
  r.sync.localEditUtf16(3, 3, '!');
  r.l.pump();
  assert.equal(r.socket.count('patch'), 1);
  const error = { ...DELETED };
  r.socket.answer('patch', { ok: false, error });
  await tick();
  assert.equal(r.sync.unsaved, 1);
  assertStopped(r, error, r.socket.sent.length);
});

test('a join answered `deleted` stops the loop for good (not tried again)', async () => {
  const r = goneLoop();
  r.socket.fire('disconnect');
  r.socket.connect();
  const error = { ...DELETED };
  r.socket.answer('join', { ok: false, error });
  await tick();
  assert.deepEqual(r.events.filter((e) => e[0] === 'failed'), [['failed', 'deleted']]);
  assertStopped(r, error, r.socket.sent.length);
});
