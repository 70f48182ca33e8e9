// One client type per system, all with the same small interface, so that every workload drives
// collab, the bare relay, y-websocket and Hocuspocus identically:
//
//   const c = makeClient(system, {url, doc, name, tracker})
//   await c.open()                 connected, joined and holding the document's text
//   c.type(pos, del, ins)          one local edit (UTF-16 offsets), sent as the protocol allows
//   c.batch(fn)                    several local edits sent as one change (Yjs: one transaction)
//   c.text / c.length              the text this client shows
//   c.inflight                     collab/relay: a patch awaits its ack (Yjs: always false)
//   c.close()
//
// The tracker (see tracker.js) is told of every keystroke as it is made (`made(key)`), of the
// message that carries it, and of its arrival at every other client (`arrived(key, client)`).
// collab keys are op ids (a patch carries every keystroke made since the previous one); Yjs keys
// are the (clientID, clock) of the inserted item, read back from the update the peer receives.
//
// collab clients are the browser's own code: the sync state machine (frontend/src/sync.js) and
// its transport loop (frontend/src/loop.js), which joins too; only the measurements are the driver's.

import { io } from 'socket.io-client';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { HocuspocusProvider } from '@hocuspocus/provider';

import { SyncLoop } from '../../frontend/src/loop.js';
import { SyncClient } from '../../frontend/src/sync.js';
import { makePatch } from '../../frontend/src/core/patch.js';


export function makeClient(system, o) {
  if (system === 'collab') return new CollabClient(o);
  if (system === 'relay') return new RelayClient(o);
  if (system === 'yws' || system === 'hocus') return new YjsClient(system, o);
  throw new Error(`unknown system ${system}`);
}

function socket(url) {
  // forceNew: one TCP connection per client (socket.io-client multiplexes by default)
  return io(url, { transports: ['websocket'], forceNew: true, reconnectionDelayMax: 2000, timeout: 60000 });
}

// ---------------------------------------------------------------------------------------------
// collab: the browser's own sync.js and transport loop (frontend/src/loop.js) over Socket.IO

class CollabClient {
  constructor({ url, doc, name, tracker, index }) {
    Object.assign(this, { url, doc, name, tracker, index });
    this.sync = new SyncClient({});
    this.pending = []; // keys typed since the last patch was taken
    this.acks = 0;
    this.errors = {};
    this.onAck = null; // (latencyMs) => void
    this.loop = new SyncLoop({
      sync: this.sync,
      key: doc,
      joinMessage: () => ({ doc, name }),
      joinRetryMs: 500,
      onJoining: (why) => why && this._count(`rejoin_${why}`),
      onJoined: () => this._opened?.(),
      onJoinFailed: (error) => this._count(error.code === 'timeout' ? 'join_timeout' : error.code),
      onRevisions: (revs) => this._arrived(revs),
      onPatch: (p) => {
        if (!this.tracker.carried(p.id)) {
          this.tracker.carry(p.id, this.pending);
          this.pending = [];
        }
        this.tracker.sent?.(p.id, this.index, performance.now());
      },
      onAck: (ack, p, ms) => this._acked(ack, p, ms),
    });
  }

  get text() {
    return this.sync.text;
  }
  get length() {
    return this.sync.text.length;
  }
  get version() {
    return this.sync.version;
  }
  get inflight() {
    return this.sync.inflight !== null;
  }
  get joined() {
    return this.loop.joined;
  }

  open() {
    const s = this.loop.attach(socket(this.url));
    return new Promise((resolve, reject) => {
      this._opened = resolve;
      s.on('connect_error', (e) => this.joined || reject(new Error(`${this.url}: ${e.message}`)));
    });
  }

  type(pos, del, ins, key) {
    this.sync.localEditUtf16(pos, pos + del, ins);
    if (key !== undefined) this.pending.push(key);
    this.loop.pump();
  }

  batch(fn) {
    fn((pos, del, ins) => this.sync.localEditUtf16(pos, pos + del, ins));
    this.loop.pump();
  }

  _arrived(revs) {
    const now = performance.now();
    for (const r of revs) {
      const keys = r.id && this.tracker.carried(r.id);
      if (keys) for (const k of keys) this.tracker.arrived(k, this.index, now);
      if (r.id) this.tracker.opArrived?.(r.id, this.index, now);
    }
    this.tracker.revisionsIn(this, revs.length, now);
  }

  _acked(ack, p, ms) {
    if (!ack) return this._count('ack_timeout');
    if (ack.ok) {
      this.acks++;
      this.onAck?.(ms);
    } else {
      this._count(ack.error?.code || 'bad_ack');
      if (ack.error?.code === 'conflict') {
        // nothing was applied: its keystrokes go out with the next patch
        this.pending = (this.tracker.carried(p.id) || []).concat(this.pending);
        this.tracker.carry(p.id, []);
      }
    }
  }

  _count(code) {
    this.errors[code] = (this.errors[code] || 0) + 1;
  }

  close() {
    this.loop.stop();
    this.loop.socket?.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// relay: the same messages (a real diff-match-patch patch of this client's own edits, one in
// flight, op ids) to a server that only forwards them; receivers note arrivals, apply nothing.

class RelayClient {
  constructor({ url, doc, name, tracker, index }) {
    Object.assign(this, { url, doc, name, tracker, index });
    this.shadow = '';
    this._text = '';
    this.pending = [];
    this.inflightId = null;
    this.base = 0;
    this.acks = 0;
    this.errors = {};
    this.onAck = null;
    this._n = 0;
  }

  get text() {
    return this._text;
  }
  get length() {
    return this._text.length;
  }
  get inflight() {
    return this.inflightId !== null;
  }

  open() {
    const s = (this.socket = socket(this.url));
    s.on('revision', (rev) => this._revisions([rev]));
    return new Promise((resolve, reject) => {
      s.on('connect', () =>
        s.emit('join', { doc: this.doc, name: this.name }, (ans) => {
          this.base = ans.version;
          resolve();
        }),
      );
      s.on('connect_error', (e) => reject(new Error(`${this.url}: ${e.message}`)));
    });
  }

  _revisions(revs) {
    const now = performance.now();
    for (const r of revs) {
      const keys = this.tracker.carried(r.id);
      if (keys) for (const k of keys) this.tracker.arrived(k, this.index, now);
    }
    this.tracker.revisionsIn(this, revs.length, now);
  }

  type(pos, del, ins, key) {
    this._text = this._text.slice(0, pos) + ins + this._text.slice(pos + del);
    if (key !== undefined) this.pending.push(key);
    this.pump();
  }

  batch(fn) {
    fn((pos, del, ins) => (this._text = this._text.slice(0, pos) + ins + this._text.slice(pos + del)));
    this.pump();
  }

  pump() {
    if (this.inflightId || this._text === this.shadow) return;
    const id = `${this.name}-${++this._n}`;
    const patch = makePatch(this.shadow, this._text, { cleanup: false });
    const upto = this._text;
    this.inflightId = id;
    this.tracker.carry(id, this.pending);
    this.pending = [];
    const sent = performance.now();
    this.socket.emit('patch', { doc: this.doc, base: this.base, patch, id }, (ack) => {
      this.inflightId = null;
      this.shadow = upto;
      this.base = ack.version;
      this.acks++;
      this.onAck?.(performance.now() - sent);
      this.pump();
    });
  }

  close() {
    this.socket?.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// Yjs: y-websocket's WebsocketProvider or Hocuspocus's provider on a Y.Doc with one Y.Text.

class YjsClient {
  constructor(system, { url, doc, name, tracker, index }) {
    Object.assign(this, { system, url, doc, name, tracker, index });
    this.ydoc = new Y.Doc();
    this.ytext = this.ydoc.getText('t');
    this.acks = 0;
    this.errors = {};
    this.inflight = false;
  }

  get text() {
    return this.ytext.toString();
  }
  get length() {
    return this.ytext.length;
  }

  open() {
    this.ydoc.on('update', (update, origin) => {
      if (origin === this.provider) this._received(update);
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.url}: no sync within 60 s`)), 60000);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      if (this.system === 'yws') {
        this.provider = new WebsocketProvider(this.url, this.doc, this.ydoc, { WebSocketPolyfill: WebSocket, disableBc: true });
        this.provider.once('sync', done);
      } else {
        this.provider = new HocuspocusProvider({ url: this.url, name: this.doc, document: this.ydoc, WebSocketPolyfill: WebSocket, onSynced: done });
      }
    });
  }

  _received(update) {
    const now = performance.now();
    const { structs } = Y.decodeUpdate(update);
    let n = 0;
    for (const s of structs) {
      if (s.constructor.name === 'Skip') continue;
      for (let c = s.id.clock; c < s.id.clock + s.length; c++) {
        n++;
        this.tracker.arrived(`${s.id.client}:${c}`, this.index, now);
      }
    }
    this.tracker.revisionsIn(this, 1, now);
  }

  type(pos, del, ins, key) {
    // the key of a one-character insert is the id of the item it creates
    const clock = Y.getState(this.ydoc.store, this.ydoc.clientID);
    this.ydoc.transact(() => {
      if (del) this.ytext.delete(pos, del);
      if (ins) this.ytext.insert(pos, ins);
    });
    if (key !== undefined) this.tracker.alias(key, `${this.ydoc.clientID}:${clock}`);
  }

  batch(fn) {
    this.ydoc.transact(() =>
      fn((pos, del, ins) => {
        if (del) this.ytext.delete(pos, del);
        if (ins) this.ytext.insert(pos, ins);
      }),
    );
  }

  close() {
    this.provider?.destroy();
  }
}
