// The Socket.IO side of the browser client: joins, and runs the loop (loop.js) that feeds the
// server's messages to the sync state machine (sync.js) and sends what it asks for. Also
// keeps unsaved edits in localStorage so that a reload (even offline) loses nothing.
//
// Knows nothing about the DOM except `window`'s online/offline events and localStorage.

import { io } from 'socket.io-client';

import { ACK_TIMEOUT_MS, SyncLoop } from './loop.js';
import { SyncClient } from './sync.js';
import { applyOps, diffOps } from './textutil.js';

const SAVE_EVERY_MS = 300;
const CURSOR_EVERY_MS = 80;

export class Connection {
  /**
   * @param {object} o
   * @param {string} [o.doc]   edit id (editor)
   * @param {string} [o.view]  view token (viewer)
   * @param {string} o.name    display name
   * @param {(ops, origin) => void} o.onRemoteChange  the text changed under the editor
   * @param {(status) => void} o.onStatus   {state, unsaved, error, role}
   * @param {(peers, you, counts) => void} o.onPresence  listed peers; counts {editors, viewers} when the server says
   * @param {(msg) => void} o.onCursor      another peer's cursor (extension, see PROTOCOL-EXTENSIONS.md)
   * @param {(msg) => void} o.onReady       first join answered: {text, role, view}
   */
  constructor(o) {
    this.o = o;
    this.key = o.view || o.doc; // how this client names the document on the wire
    this.storageKey = o.doc ? `collab:doc:${o.doc}` : null;
    this.ready = false;
    this.state = 'connecting';
    this.role = o.view ? 'viewer' : 'editor';
    this.you = null;
    this.peers = new Map(); // peers[id] = {id, name, role, version}: the listed ones (the server caps the list)
    this.counts = null; // {editors, viewers}: everyone, listed or not (servers before issue 13 send none)
    this._lastCursor = null;
    const saved = this._load();
    this.restored = Boolean(saved);
    this.sync = new SyncClient({ ...(saved || {}), onChange: (ops, origin) => o.onRemoteChange(ops, origin) });
    this.loop = new SyncLoop({
      sync: this.sync,
      key: this.key,
      rejoin: () => this._join(),
      onIncoming: () => this._schedule('save', SAVE_EVERY_MS, () => this._save()),
      afterPump: () => this._status(),
    });
  }

  get joined() {
    return this.loop.joined;
  }

  start() {
    // the document in the URL lets a proxy send every client of a document to the same
    // process (deploy/nginx.conf hashes on it): cross-process races become rare
    const s = (this.socket = this.loop.socket = io({ autoConnect: false, transports: ['websocket'], reconnectionDelayMax: 4000, query: { doc: this.key } }));
    s.on('connect', () => this._join());
    s.on('disconnect', () => this._lost());
    s.on('connect_error', () => this._setState(navigator.onLine === false ? 'offline' : 'reconnecting'));
    s.on('revision', (rev) => this._mine(rev) && this.loop.receive([rev]));
    s.on('revisions', (m) => this._mine(m) && this.loop.receive(m.revisions));
    s.on('presence', (m) => this._mine(m) && this._presence(m));
    s.on('cursor', (m) => this._mine(m) && m.peer !== this.you && this.o.onCursor(m));
    // Browsers know before the socket does: stop at once, come back as soon as we can.
    window.addEventListener('offline', () => {
      s.disconnect();
      this._lost();
      this._setState('offline');
    });
    window.addEventListener('online', () => {
      if (!s.connected) s.connect();
    });
    const flush = () => this._save(true);
    window.addEventListener('pagehide', flush);
    document.addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && flush());
    if (navigator.onLine === false) this._setState('offline');
    else s.connect();
  }

  /** A local edit happened in the editor (UTF-16 range of the text before the edit). */
  localEdit(from, to, insert) {
    this.sync.localEditUtf16(from, to, insert);
    this._schedule('pump', 0, () => this.pump());
    this._schedule('save', SAVE_EVERY_MS, () => this._save());
    this._status();
  }

  /** Share this client's selection (code points) with the others; throttled. */
  sendCursor(anchor, head) {
    this._lastCursor = { anchor, head };
    this._schedule('cursor', CURSOR_EVERY_MS, () => {
      if (this.joined && this.role === 'editor' && this._lastCursor) {
        this.socket.emit('cursor', { doc: this.key, ...this._lastCursor });
      }
    });
  }

  /** Change the display name: joining again with a new name renames (presence follows). */
  rename(name) {
    this.o.name = name;
    if (this.joined) this.socket.emit('join', this._joinMessage(), () => {});
  }

  /** The user asked to try again after an error. */
  retry() {
    this.sync.clearError();
    if (!this.socket.connected) this.socket.connect();
    this.pump();
  }

  /** Send whatever the state machine wants sent now. */
  pump() {
    this.loop.pump();
  }

  // ---- internals ----

  _joinMessage() {
    const name = this.o.name || undefined;
    // presence: 'delta' asks for only what changed after the join answer's list
    return this.o.view ? { view: this.o.view, name, presence: 'delta' } : { doc: this.o.doc, name, presence: 'delta' };
  }

  _join() {
    this._setState(this.ready ? 'reconnecting' : 'connecting');
    this.socket.timeout(ACK_TIMEOUT_MS).emit('join', this._joinMessage(), (err, ans) => {
      if (err || !ans || !ans.ok) {
        const error = ans && ans.error ? ans.error : { code: 'timeout', message: 'the server did not answer' };
        this._fatal = error.code === 'bad_doc' || error.code === 'not_found';
        this.o.onStatus({ state: 'error', unsaved: this.sync.unsaved, error, role: this.role });
        if (!this._fatal) this._schedule('join', 2000, () => this.socket.connected && this._join());
        return;
      }
      this.role = ans.role;
      this.you = ans.you ?? null;
      const fresh = !this.ready && !this.restored;
      this.sync.receiveJoin(ans, { fresh });
      this.loop.joined = true;
      const first = !this.ready;
      this.ready = true;
      this._setState('connected');
      if (first) this.o.onReady({ text: this.sync.text, role: ans.role, view: ans.view });
      this._presence({ peers: ans.peers, editors: ans.editors, viewers: ans.viewers });
      if (this._lastCursor) this.sendCursor(this._lastCursor.anchor, this._lastCursor.head);
      this.pump();
    });
  }

  _lost() {
    if (this.joined || this.state === 'connected') this.sync.disconnected();
    this.loop.joined = false;
    this._save(true);
    this._setState(navigator.onLine === false ? 'offline' : 'reconnecting');
  }

  /** A join answer or a `presence` message: a full list (it replaces ours) or a delta
   * (entries that changed, ids that are gone); a server that knows no deltas sends full lists. */
  _presence(m) {
    if (!m.delta) this.peers.clear();
    for (const id of Array.isArray(m.gone) ? m.gone : []) this.peers.delete(id);
    for (const p of Array.isArray(m.peers) ? m.peers : []) if (p && typeof p.id === 'string') this.peers.set(p.id, p);
    this.counts = typeof m.editors === 'number' && typeof m.viewers === 'number' ? { editors: m.editors, viewers: m.viewers } : null;
    this.o.onPresence([...this.peers.values()], this.you, this.counts);
  }

  _mine(m) {
    return m && m.doc === this.key;
  }

  _setState(state) {
    this.state = state;
    this._status();
  }

  _status() {
    this.o.onStatus({ state: this.state, unsaved: this.sync.unsaved, error: this.sync.error, role: this.role });
  }

  _schedule(name, ms, fn) {
    this.loop.schedule(name, ms, fn);
  }

  // ---- localStorage: unsaved edits survive a reload ----

  _load() {
    if (!this.storageKey) return null;
    try {
      const raw = localStorage.getItem(this.storageKey);
      if (!raw) return null;
      const s = JSON.parse(raw);
      if (s.v !== 1 || typeof s.version !== 'number' || typeof s.shadow !== 'string') return null;
      return { version: s.version, shadow: s.shadow, text: applyOps(s.shadow, s.ops), inflight: s.inflight || undefined };
    } catch {
      return null; // unreadable: start from the server's text
    }
  }

  _save(now = false) {
    if (!this.storageKey) return;
    if (!now && this.loop.scheduled('save')) return;
    const sync = this.sync;
    try {
      if (!sync.unsaved) {
        localStorage.removeItem(this.storageKey);
        return;
      }
      const state = { v: 1, version: sync.version, shadow: sync.shadow, ops: diffOps(sync.shadow, sync.text), inflight: sync.inflight, t: Date.now() };
      localStorage.setItem(this.storageKey, JSON.stringify(state));
    } catch (e) {
      console.warn('collab: could not keep unsaved edits in localStorage', e);
    }
  }
}
