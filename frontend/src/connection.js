// The Socket.IO side of the browser client: opens the socket and runs the loop (loop.js) over it,
// which joins, feeds the server's messages to the sync state machine (sync.js) and sends what it
// asks for; adds the status, presence and cursors. Also keeps unsaved edits in localStorage so
// that a reload (even offline) loses nothing.
//
// Every tab keeps its unsaved edits under its own key, `collab:doc:<doc>:<tab>` (one shared
// key let the tab closed last erase the others' work). A tab's id lives in sessionStorage, so a
// reload finds its own entry again. The entry of a tab that is gone (no Web Lock held for it;
// without Web Locks: no heartbeat for STALE_MS) is adopted by the next tab of that document:
// a second, hidden Connection restored from that entry joins, resends its op in flight with
// the same id (the server dedupes), rebases and sends its edits like any offline edits, then
// removes the entry and closes.
//
// Knows nothing about the DOM except `window`'s online/offline events and localStorage.

import { io } from 'socket.io-client';

import { SyncLoop } from './loop.js';
import { SyncClient } from './sync.js';
import { randomId } from './core/ids.js';
import { applyOps } from './core/ops.js';

const SAVE_EVERY_MS = 300;
// ... or more: a save writes the whole shadow (JSON, localStorage), hundreds of ms for a 4 M
// document, so the next one waits SAVE_COST_FACTOR times as long as the last took (at most 3 %
// of the page's time; ~10 s apart at 4 M, when a crash could lose that much typing). Leaving
// the page, going offline or losing the socket saves at once, whatever the size.
const SAVE_COST_FACTOR = 30;
const CURSOR_EVERY_MS = 80;
const ALIVE_EVERY_MS = 2000; // without Web Locks: how often a tab says it is still open
// ... and after how long without it a tab counts as gone (a hidden tab's timers may run only
// once a minute in Chromium)
const STALE_MS = 90_000;
const LEGACY_STALE_MS = 10_000; // an entry of a client before per-tab keys (one key per document)

/** This tab's id: kept across a reload of the tab (sessionStorage), new in a new tab. */
function tabId() {
  try {
    const nav = performance.getEntriesByType('navigation')[0];
    const known = sessionStorage.getItem('collab:tab');
    // a duplicated tab copies sessionStorage: only a reload may take the old id (and entry)
    if (known && nav && nav.type === 'reload') return known;
    const id = randomId(12);
    sessionStorage.setItem('collab:tab', id);
    return id;
  } catch {
    return randomId(12);
  }
}

export class Connection {
  /**
   * @param {object} o
   * @param {string} [o.doc]   edit id (editor)
   * @param {string} [o.view]  view token (viewer)
   * @param {string} o.name    display name
   * @param {string|null} [o.color]  the colour picked (one of dom.js COLORS), or null: automatic
   * @param {(ops, origin, author) => void} o.onRemoteChange  the text changed under the editor (author: a revision's)
   * @param {(status) => void} o.onStatus   {state, unsaved, error, role}
   * @param {(peers, you, counts) => void} o.onPresence  listed peers; counts {editors, viewers} when the server says
   * @param {(msg) => void} o.onCursor      another peer's cursor (extension, see PROTOCOL-EXTENSIONS.md)
   * @param {(msg) => void} o.onReady       first join answered: {text, role, view}
   * @param {(role) => void} [o.onRole]     what this page may do, at each join and when the owner changes it
   * @param {(title: string|null) => void} [o.onTitle]  the title its editors chose (null: none), on each join and when it changes
   * @param {string} [o.storageKey]  (adopting a closed tab's entry) the entry to restore from
   * @param {() => void} [o.onSaved] (adopting) everything of that entry is acknowledged
   */
  constructor(o) {
    this.o = o;
    this.key = o.view || o.doc; // how this client names the document on the wire
    this.tab = o.storageKey ? null : o.doc ? tabId() : null;
    this.storageKey = o.storageKey || (o.doc ? `collab:doc:${o.doc}:${this.tab}` : null);
    this._listeners = new AbortController();
    this.ready = false;
    this.state = 'connecting';
    this.role = o.view ? 'viewer' : 'editor';
    this.you = null;
    this.peers = new Map(); // peers[id] = {id, name, role, version}: the listed ones (the server caps the list)
    this.counts = null; // {editors, viewers}: everyone, listed or not (servers before issue 13 send none)
    this._lastCursor = null;
    const saved = this._load();
    this.restored = Boolean(saved);
    this.sync = new SyncClient({ ...(saved || {}), onChange: (ops, origin, old, author) => o.onRemoteChange(ops, origin, author) });
    this.loop = new SyncLoop({
      sync: this.sync,
      key: this.key,
      restored: this.restored,
      joinMessage: () => this._joinMessage(),
      onJoining: () => this._setState(this.ready ? 'reconnecting' : 'connecting'),
      onJoined: (ans, first) => this._joined(ans, first),
      onJoinFailed: (error) => this.sync.gone || this.o.onStatus({ state: 'error', unsaved: this.sync.unsaved, error, role: this.role }),
      onGone: (error) => this._gone(error),
      onLost: () => this._lost(),
      onIncoming: () => this._schedule('save', this._saveEvery(), () => this._save()),
      afterPump: () => this._status(),
    });
  }

  get joined() {
    return this.loop.joined;
  }

  get socket() {
    return this.loop.socket;
  }

  start() {
    // the document in the URL lets a proxy send every client of a document to the same
    // process (deploy/nginx.conf hashes on it): cross-process races become rare
    const s = this.loop.attach(io({ autoConnect: false, forceNew: Boolean(this.o.storageKey), transports: ['websocket'], reconnectionDelayMax: 4000, query: { doc: this.key } }));
    const on = { signal: this._listeners.signal };
    s.on('connect_error', () => this._setState(navigator.onLine === false ? 'offline' : 'reconnecting'));
    // the server ended this socket (a sign-out or an ended session: a deleted document says
    // `gone` first): Socket.IO does not reconnect by itself after that, and the page stayed
    // on "Reconnecting…" with its edits unsaved. Connect again, as whoever the cookie says now.
    s.on('disconnect', (reason) => {
      if (reason !== 'io server disconnect' || this.gone) return;
      this.o.onServerDisconnect?.();
      setTimeout(() => !this.gone && !s.connected && s.connect(), 1000);
    });
    s.on('presence', (m) => this._mine(m) && this._presence(m));
    s.on('cursor', (m) => this._mine(m) && m.peer !== this.you && this.o.onCursor(m));
    // the owner changed who may edit (extension of v1): read-only, or writable again, with no join
    s.on('role', (m) => this._mine(m) && this._role(m.role));
    s.on('title', (m) => this._mine(m) && this.o.onTitle?.(typeof m.title === 'string' ? m.title : null));
    // Browsers know before the socket does: stop at once, come back as soon as we can.
    window.addEventListener('offline', () => {
      s.disconnect();
      this.loop.lost();
      this._setState('offline');
    }, on);
    window.addEventListener('online', () => {
      if (!s.connected) s.connect();
    }, on);
    const flush = () => this._save(true);
    window.addEventListener('pagehide', () => {
      flush();
      this._alive(false);
    }, on);
    window.addEventListener('pageshow', (e) => e.persisted && this._alive(true), on);
    document.addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && flush(), on);
    if (!this.o.storageKey) this._keepAlive();
    if (navigator.onLine === false) this._setState('offline');
    else s.connect();
  }

  /** Stop for good (an adopted entry that is all saved). */
  close() {
    this._closed = true;
    this._listeners.abort();
    this.loop.stop();
    clearInterval(this._aliveTimer);
    this.socket?.disconnect();
  }

  /** A local edit happened in the editor (UTF-16 range of the text before the edit). */
  localEdit(from, to, insert) {
    this.sync.localEditUtf16(from, to, insert);
    this._schedule('pump', 0, () => this.pump());
    this._schedule('save', this._saveEvery(), () => this._save());
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

  /** Change the colour picked (null: automatic): joining again says so (presence follows). */
  recolor(color) {
    this.o.color = color;
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
    const color = this.o.color || undefined; // automatic: left out, as before issue 15
    // presence: 'delta' asks for only what changed after the join answer's list
    return this.o.view ? { view: this.o.view, name, presence: 'delta', color } : { doc: this.o.doc, name, presence: 'delta', color };
  }

  /** The loop's join was answered (ans: the join answer, first: the first on this page). */
  _joined(ans, first) {
    this.role = ans.role;
    this.you = ans.you ?? null;
    this.ready = true;
    this._setState('connected');
    if (first) this.o.onReady({ text: this.sync.text, role: ans.role, view: ans.view });
    this.o.onRole?.(ans.role);
    this.o.onTitle?.(typeof ans.title === 'string' ? ans.title : null); // chosen while this page was away, or not
    this._presence({ peers: ans.peers, editors: ans.editors, viewers: ans.viewers });
    if (this._lastCursor) this.sendCursor(this._lastCursor.anchor, this._lastCursor.head);
  }

  _role(role) {
    if (role !== 'editor' && role !== 'viewer') return;
    this.sync.receiveRole(role);
    this.role = role;
    this.o.onRole?.(role);
    this._status();
  }

  /** The document was deleted (the loop's onGone: a `gone` message, or `deleted` answering a
   * join, patch or sync): stop for good (nothing can be sent or fetched again) and say so, with
   * the server's error as it sent it (main.js picks its words by it). The text stays in the
   * page, and unsaved edits in localStorage, for the user to copy. */
  _gone(error) {
    if (this.gone) return;
    this.gone = error;
    this._save(true);
    this.loop.stop();
    this._listeners.abort();
    this.socket?.disconnect();
    this._setState('deleted');
  }

  _lost() {
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
    this.state = this.gone ? 'deleted' : state;
    this._status();
  }

  _status() {
    if (this._closed) return;
    this.o.onStatus({ state: this.state, unsaved: this.sync.unsaved, error: this.gone || this.sync.error, role: this.role });
    // an adopted entry is done once the server has acknowledged all of it
    if (this.o.onSaved && this.joined && !this.sync.unsaved && !this.sync.inflight) {
      this._save(true); // removes the entry
      this.o.onSaved();
    }
  }

  _schedule(name, ms, fn) {
    this.loop.schedule(name, ms, fn);
  }

  // ---- localStorage: unsaved edits survive a reload ----

  /** Milliseconds from an edit to its save: SAVE_EVERY_MS, or more after a costly save. */
  _saveEvery() {
    return Math.max(SAVE_EVERY_MS, SAVE_COST_FACTOR * (this._saveCost || 0));
  }

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
    if (!this.storageKey || this._closed) return;
    if (!now && this.loop.scheduled('save')) return;
    const sync = this.sync;
    try {
      if (!sync.unsaved) {
        localStorage.removeItem(this.storageKey);
        return;
      }
      const started = performance.now(); // (the edits as they were made: no text built, no diff)
      const state = { v: 1, version: sync.version, shadow: sync.shadow, ops: sync._localOps(), inflight: sync.inflight, t: Date.now() };
      localStorage.setItem(this.storageKey, JSON.stringify(state));
      this._saveCost = performance.now() - started;
    } catch (e) {
      console.warn('collab: could not keep unsaved edits in localStorage', e);
    }
  }

  // ---- the other tabs' entries ----

  /** Say, for as long as this tab is open, that its entry is not to be adopted: a Web Lock
   * (released by the browser when the tab goes, however it goes), else a heartbeat key. */
  _keepAlive() {
    if (!this.storageKey) return;
    if (navigator.locks) {
      navigator.locks
        .request(`collab:tab:${this.storageKey}`, () => new Promise(() => {})) // held until the tab goes
        .catch(() => {});
      // the lock is asked for first: a tab that opens later sees it held
      setTimeout(() => this._adoptOrphans(), 0);
      return;
    }
    this._alive(true);
    this._aliveTimer = setInterval(() => this._alive(true), ALIVE_EVERY_MS);
    this._adoptOrphans();
  }

  _alive(on) {
    if (navigator.locks || !this.storageKey || this.o.storageKey) return;
    try {
      if (on) localStorage.setItem(`collab:alive:${this.storageKey}`, String(Date.now()));
      else localStorage.removeItem(`collab:alive:${this.storageKey}`);
    } catch {
      /* storage full or off: the entry is only adopted later */
    }
  }

  /** Entries of this document's tabs that are gone: each is sent by an adopting Connection. */
  _adoptOrphans() {
    if (!this.o.doc) return;
    const prefix = `collab:doc:${this.o.doc}`;
    let keys = [];
    try {
      keys = Object.keys(localStorage).filter((k) => (k === prefix || k.startsWith(prefix + ':')) && k !== this.storageKey);
    } catch {
      return;
    }
    for (const key of keys) {
      if (key === prefix) {
        // written by a client before per-tab keys: adopt it once it has stopped changing
        const t = (() => { try { return JSON.parse(localStorage.getItem(key)).t; } catch { return 0; } })();
        if (Date.now() - (t || 0) > LEGACY_STALE_MS || !navigator.locks) this._adopt(key);
        else setTimeout(() => this._adoptOrphans(), LEGACY_STALE_MS);
      } else if (navigator.locks) {
        // its tab's lock free means the tab is gone; holding it while adopting keeps other tabs off
        navigator.locks
          .request(`collab:tab:${key}`, { ifAvailable: true }, (lock) => lock && this._adopt(key))
          .catch(() => {});
      } else {
        const beat = Number(localStorage.getItem(`collab:alive:${key}`) || 0);
        if (Date.now() - beat > STALE_MS) this._adopt(key);
      }
    }
  }

  /** Send the entry `key` of a closed tab; resolves when it is all saved (or unreadable). */
  _adopt(key) {
    return new Promise((resolve) => {
      if (!localStorage.getItem(key)) return resolve();
      const adopter = new Connection({
        doc: this.o.doc,
        name: this.o.name,
        storageKey: key,
        onRemoteChange: () => {},
        onStatus: () => {},
        onPresence: () => {},
        onCursor: () => {},
        onReady: () => {},
        onSaved: () => {
          adopter.close();
          resolve();
        },
      });
      if (!adopter.restored) {
        try {
          localStorage.removeItem(key); // unreadable: nothing in it can be sent
        } catch {
          /* ignore */
        }
        return resolve();
      }
      this.adopted = (this.adopted || 0) + 1;
      adopter.start();
    });
  }
}
