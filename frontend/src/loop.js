// The loop between the sync state machine (sync.js) and a joined Socket.IO connection: send
// whatever the state machine wants sent (sync, patch, seen), feed it the server's answers and
// messages, and ask for a sync when a gap in the versions stays open.
//
// Shared by the browser client (connection.js: it adds joining, the DOM and localStorage) and
// the benchmark's load driver (bench/driver/clients.js: it adds its measurements), so that
// the driver exercises exactly what browsers run. No DOM, no storage, no socket library: the
// caller hands in a socket.io-client socket.

export const ACK_TIMEOUT_MS = 15000;
const SEEN_EVERY_MS = 250;
const GAP_PATIENCE_MS = 1000;
const NO_ACK_RETRY_MS = 1000;

export class SyncLoop {
  /**
   * @param {object} o
   * @param {import('./sync.js').SyncClient} o.sync
   * @param {string} o.key  how this client names the document on the wire (edit id or view token)
   * @param {(why) => void} o.rejoin  the state machine needs a fresh join (why: its reason)
   * @param {(revs) => void} [o.onRevisions]  revisions from the server, before they are applied
   * @param {(p) => void} [o.onPatch]  a patch {base, patch, id} is about to be sent
   * @param {(ack, p, ms) => void} [o.onAck]  its answer after ms (ack null: none in time)
   * @param {() => void} [o.onIncoming]  something from the server was handed to the state machine
   * @param {() => void} [o.afterPump]  the loop sent what there was to send
   */
  constructor(o) {
    this.o = o;
    this.sync = o.sync;
    this.socket = null;
    this.joined = false; // the server answered our join on this connection
    this._timers = {};
    this._seenAt = 0;
  }

  /** Send whatever the state machine wants sent now. */
  pump() {
    const { sync, socket: s } = this;
    if (!this.joined) return this.o.afterPump?.();
    const why = sync.needsRejoin();
    if (why) {
      this.joined = false;
      this.o.rejoin(why);
      return this.o.afterPump?.();
    }
    const q = sync.takeSync();
    if (q) {
      s.timeout(ACK_TIMEOUT_MS).emit('sync', { doc: this.o.key, since: q.since }, (err, ans) => {
        if (err) return sync.syncFailed();
        this.incoming(() => {
          if (ans && ans.revisions) this.o.onRevisions?.(ans.revisions.filter((r) => r.version > sync.version));
          sync.receiveSync(ans);
        });
      });
    }
    const p = sync.takePatch(Date.now());
    if (p) {
      this.o.onPatch?.(p);
      const sent = performance.now();
      s.timeout(ACK_TIMEOUT_MS).emit('patch', { doc: this.o.key, ...p }, (err, ack) => {
        if (err) {
          // No answer: the op goes again with the same id (the server dedupes) after a pause.
          this.o.onAck?.(null, p, performance.now() - sent);
          sync.disconnected();
          this.schedule('retry', NO_ACK_RETRY_MS, () => this.pump());
          return;
        }
        this.o.onAck?.(ack, p, performance.now() - sent);
        const r = this.incoming(() => sync.receiveAck(ack, p.id, Date.now()));
        if (r && r.retryAfter !== undefined) this.schedule('retry', r.retryAfter * 1000 + 10, () => this.pump());
      });
    }
    if (sync.heldVersions.length) {
      this.schedule('gap', GAP_PATIENCE_MS, () => {
        if (sync.heldVersions.length) {
          sync.requestSync();
          this.pump();
        }
      });
    }
    this._sendSeen();
    this.o.afterPump?.();
  }

  /** `revision` / `revisions` messages from the server. */
  receive(revs) {
    this.o.onRevisions?.(revs);
    this.incoming(() => this.sync.receiveRevisions(revs));
  }

  /** Hand something from the server to the state machine, then send what follows from it. */
  incoming(fn) {
    const r = fn();
    this.pump();
    this.o.onIncoming?.();
    return r;
  }

  /** Run fn after ms, unless a timer of that name is already waiting. */
  schedule(name, ms, fn) {
    if (this._timers[name]) return;
    this._timers[name] = setTimeout(() => {
      this._timers[name] = null;
      fn();
    }, ms);
  }

  /** Whether a timer of that name is waiting. */
  scheduled(name) {
    return Boolean(this._timers[name]);
  }

  stop() {
    for (const [name, t] of Object.entries(this._timers)) {
      if (t) clearTimeout(t);
      this._timers[name] = null;
    }
  }

  _sendSeen() {
    const now = Date.now();
    if (now - this._seenAt < SEEN_EVERY_MS) {
      this.schedule('seen', SEEN_EVERY_MS - (now - this._seenAt), () => this._sendSeen());
      return;
    }
    const s = this.sync.takeSeen();
    if (s && this.joined) {
      this._seenAt = now;
      this.socket.emit('seen', { doc: this.o.key, version: s.version });
    }
  }
}
