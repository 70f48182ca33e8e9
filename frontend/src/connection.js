// The Socket.IO side of the browser client: joins, feeds the server's messages to the sync
// state machine (sync.js) and sends what it asks for. Also keeps unsaved edits in
// localStorage so that a reload (even offline) loses nothing.
//
// Knows nothing about the DOM except `window`'s online/offline events and localStorage.

import { io } from 'socket.io-client';

import { SyncClient } from './sync.js';
import { applyOps, diffOps } from './textutil.js';

const ACK_TIMEOUT_MS = 15000;
const SEEN_EVERY_MS = 250;
const GAP_PATIENCE_MS = 1000;
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
   * @param {(peers, you) => void} o.onPresence
   * @param {(msg) => void} o.onCursor      another peer's cursor (extension, see PROTOCOL-EXTENSIONS.md)
   * @param {(msg) => void} o.onReady       first join answered: {text, role, view}
   */
  constructor(o) {
    this.o = o;
    this.key = o.view || o.doc; // how this client names the document on the wire
    this.storageKey = o.doc ? `collab:doc:${o.doc}` : null;
    this.joined = false;
    this.ready = false;
    this.state = 'connecting';
    this.role = o.view ? 'viewer' : 'editor';
    this.you = null;
    this._timers = {};
    this._seenAt = 0;
    this._lastCursor = null;
    const saved = this._load();
    this.restored = Boolean(saved);
    this.sync = new SyncClient({ ...(saved || {}), onChange: (ops, origin) => o.onRemoteChange(ops, origin) });
  }

  start() {
    // the document in the URL lets a proxy send every client of a document to the same
    // process (deploy/nginx.conf hashes on it): cross-process races become rare
    const s = (this.socket = io({ autoConnect: false, transports: ['websocket'], reconnectionDelayMax: 4000, query: { doc: this.key } }));
    s.on('connect', () => this._join());
    s.on('disconnect', () => this._lost());
    s.on('connect_error', () => this._setState(navigator.onLine === false ? 'offline' : 'reconnecting'));
    s.on('revision', (rev) => this._mine(rev) && this._incoming(() => this.sync.receiveRevision(rev)));
    s.on('revisions', (m) => this._mine(m) && this._incoming(() => this.sync.receiveRevisions(m.revisions)));
    s.on('presence', (m) => this._mine(m) && this.o.onPresence(m.peers || [], this.you));
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

  // ---- the loop: send whatever the state machine wants sent ----

  pump() {
    if (!this.joined) return this._status();
    const s = this.socket;
    if (this.sync.needsRejoin()) {
      this.joined = false;
      this._join();
      return this._status();
    }
    const q = this.sync.takeSync();
    if (q) {
      s.timeout(ACK_TIMEOUT_MS).emit('sync', { doc: this.key, since: q.since }, (err, ans) => {
        if (err) this.sync.syncFailed();
        else this._incoming(() => this.sync.receiveSync(ans));
      });
    }
    const p = this.sync.takePatch(Date.now());
    if (p) {
      s.timeout(ACK_TIMEOUT_MS).emit('patch', { doc: this.key, ...p }, (err, ack) => {
        if (err) {
          // No answer: the op goes again with the same id (the server dedupes) after a pause.
          this.sync.disconnected();
          this._schedule('retry', 1000, () => this.pump());
          return;
        }
        const r = this._incoming(() => this.sync.receiveAck(ack, p.id, Date.now()));
        if (r && r.retryAfter !== undefined) this._schedule('retry', r.retryAfter * 1000 + 10, () => this.pump());
      });
    }
    if (this.sync.heldVersions.length && !this._timers.gap) {
      this._timers.gap = setTimeout(() => {
        this._timers.gap = null;
        if (this.sync.heldVersions.length) {
          this.sync.requestSync();
          this.pump();
        }
      }, GAP_PATIENCE_MS);
    }
    this._sendSeen();
    this._status();
  }

  // ---- internals ----

  _joinMessage() {
    const name = this.o.name || undefined;
    return this.o.view ? { view: this.o.view, name } : { doc: this.o.doc, name };
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
      this.joined = true;
      const first = !this.ready;
      this.ready = true;
      this._setState('connected');
      if (first) this.o.onReady({ text: this.sync.text, role: ans.role, view: ans.view });
      this.o.onPresence(ans.peers || [], this.you);
      if (this._lastCursor) this.sendCursor(this._lastCursor.anchor, this._lastCursor.head);
      this.pump();
    });
  }

  _lost() {
    if (this.joined || this.state === 'connected') this.sync.disconnected();
    this.joined = false;
    this._save(true);
    this._setState(navigator.onLine === false ? 'offline' : 'reconnecting');
  }

  _mine(m) {
    return m && m.doc === this.key;
  }

  _incoming(fn) {
    const r = fn();
    this.pump();
    this._schedule('save', SAVE_EVERY_MS, () => this._save());
    return r;
  }

  _sendSeen() {
    const now = Date.now();
    if (now - this._seenAt < SEEN_EVERY_MS) {
      this._schedule('seen', SEEN_EVERY_MS - (now - this._seenAt), () => this._sendSeen());
      return;
    }
    const s = this.sync.takeSeen();
    if (s && this.joined) {
      this._seenAt = now;
      this.socket.emit('seen', { doc: this.key, version: s.version });
    }
  }

  _setState(state) {
    this.state = state;
    this._status();
  }

  _status() {
    this.o.onStatus({ state: this.state, unsaved: this.sync.unsaved, error: this.sync.error, role: this.role });
  }

  _schedule(name, ms, fn) {
    if (this._timers[name]) return;
    this._timers[name] = setTimeout(() => {
      this._timers[name] = null;
      fn();
    }, ms);
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
    if (!now && this._timers.save) return;
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
