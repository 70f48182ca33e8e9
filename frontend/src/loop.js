// The loop between the sync state machine (sync.js) and a Socket.IO connection: join (again
// after every reconnect, or when the state machine asks), send whatever the state machine wants
// sent (sync, patch, seen), feed it the server's answers and messages, and wake up when the state
// machine says something becomes due.
//
// Shared by the browser client (connection.js: it adds the status, presence, the DOM and
// localStorage) and the benchmark's load driver (bench/driver/clients.js: it adds its
// measurements), so that the driver exercises exactly what browsers run. No DOM, no storage, no
// socket library: the caller hands in a socket.io-client socket (attach).

import { ON_REFUSAL } from './sync.js';

export const ACK_TIMEOUT_MS = 15000;
const JOIN_RETRY_MS = 2000; // after a refused or unanswered join

/** The caller's clock for the state machine: seconds. */
const now = () => Date.now() / 1000;

export class SyncLoop {
  /**
   * @param {object} o
   * @param {import('./sync.js').SyncClient} o.sync
   * @param {string} o.key  how this client names the document on the wire (edit id or view token)
   * @param {() => object} o.joinMessage  the `join` message to send (docs/protocol.md)
   * @param {boolean} [o.restored]  the state machine starts from saved edits: even the first join
   *   rebases them (without: the first join's text replaces the state machine's)
   * @param {number} [o.joinRetryMs]  wait before joining again after a failed join
   * @param {(why) => void} [o.onJoining]  a join is sent (why: the state machine's reason, or
   *   undefined after a (re)connect)
   * @param {(ans, first) => void} [o.onJoined]  the server accepted it (first: on this loop ever)
   * @param {(error) => void} [o.onJoinFailed]  refused or unanswered ({code, message}); another
   *   try follows, unless the document id is bad or unknown, or the document was deleted
   * @param {(error) => void} [o.onGone]  the document was deleted (the state machine's `gone`:
   *   the server's error as it sent it): the loop has stopped for good; told once
   * @param {() => void} [o.onLost]  the connection went (the state machine was told)
   * @param {(revs) => void} [o.onRevisions]  revisions from the server, before they are applied
   * @param {(p) => void} [o.onPatch]  a patch {base, patch, id} is about to be sent
   * @param {(ack, p, ms) => void} [o.onAck]  its answer after ms (ack null: none in time)
   * @param {() => void} [o.onIncoming]  something from the server was handed to the state machine
   * @param {() => void} [o.afterPump]  the loop sent what there was to send
   */
  constructor(o) {
    this.o = o;
    this.sync = o.sync;
    this.socket = null; // set once, by attach
    this.joined = false; // the server answered our join on this connection
    this.everJoined = false;
    this._timers = {};
  }

  /**
   * Run over `socket` (a socket.io-client socket, not yet connected): join on every connect,
   * hand this document's revisions to the state machine, tell it when the connection goes.
   * Returns the socket, for the caller's own events.
   */
  attach(socket) {
    this.socket = socket;
    const mine = (m) => m && m.doc === this.o.key;
    socket.on('connect', () => this.join());
    socket.on('disconnect', () => this.lost());
    socket.on('revision', (rev) => mine(rev) && this.receive([rev]));
    socket.on('revisions', (m) => mine(m) && this.receive(m.revisions || []));
    // the document was deleted (extension of v1): the server took us out of it
    socket.on('gone', (m) => mine(m) && this.incoming(() => this.sync.receiveGone(m.error || { code: 'deleted', message: 'this document was deleted' })));
    return socket;
  }

  /** Join (or join again): on success the state machine takes the answer and sending starts. */
  join(why) {
    if (this.sync.gone) return;
    this.o.onJoining?.(why);
    this.sync.joining();
    this.socket.timeout(ACK_TIMEOUT_MS).emit('join', this.o.joinMessage(), (err, ans) => {
      if (err || !ans || !ans.ok) {
        const error = (ans && ans.error) || { code: 'timeout', message: 'the server did not answer' };
        if (ON_REFUSAL[error.code] === 'gone') this.sync.receiveGone(error);
        this.o.onJoinFailed?.(error);
        if (this._stopIfGone()) return;
        // joining again cannot help a bad or unknown document id
        if (!['bad_doc', 'not_found'].includes(error.code)) this.schedule('join', this.o.joinRetryMs ?? JOIN_RETRY_MS, () => this.socket.connected && this.join());
        return;
      }
      const first = !this.everJoined;
      this.sync.receiveJoin(ans, { fresh: first && !this.o.restored });
      this.everJoined = true;
      this.joined = true;
      this.o.onJoined?.(ans, first);
      this.pump();
    });
  }

  /** The connection went (or the browser says it is offline). */
  lost() {
    this.sync.disconnected();
    this.joined = false;
    this.o.onLost?.();
  }

  /**
   * Send whatever the state machine wants sent now, then wake up when it says something
   * else becomes due (a retry, a gap's patience, the next `seen`): all timing is the state
   * machine's, the loop only keeps its clock.
   */
  pump() {
    const { sync, socket: s } = this;
    if (this._stopIfGone() || !this.joined) return this.o.afterPump?.();
    const why = sync.needsRejoin();
    if (why) {
      this.joined = false;
      this.join(why);
      return this.o.afterPump?.();
    }
    const q = sync.takeSync(now());
    if (q) {
      s.timeout(ACK_TIMEOUT_MS).emit('sync', { doc: this.o.key, since: q.since }, (err, ans) => {
        this.incoming(() => {
          if (err) return sync.syncFailed(now());
          if (ans && ans.revisions) this.o.onRevisions?.(ans.revisions.filter((r) => r.version > sync.version));
          sync.receiveSync(ans, now());
        });
      });
    }
    const p = sync.takePatch(now());
    if (p) {
      this.o.onPatch?.(p);
      const sent = performance.now();
      s.timeout(ACK_TIMEOUT_MS).emit('patch', { doc: this.o.key, ...p }, (err, ack) => {
        // no answer in time (err): the state machine retries the same op id later
        this.o.onAck?.(err ? null : ack, p, performance.now() - sent);
        this.incoming(() => sync.receiveAck(err ? null : ack, p.id, now()));
      });
    }
    const s2 = sync.takeSeen(now());
    if (s2) s.emit('seen', { doc: this.o.key, version: s2.version });
    const at = sync.wakeAt();
    if (at !== null) {
      this.cancel('wake');
      this.schedule('wake', Math.max(20, (at - now()) * 1000 + 5), () => this.pump());
    }
    this.o.afterPump?.();
  }

  /** The state machine says the document is gone: stop for good (no timer, no join, nothing
   * sent) and tell the caller, once. Returns whether it is gone. */
  _stopIfGone() {
    if (!this.sync.gone) return false;
    if (!this.gone) {
      this.gone = this.sync.gone;
      this.joined = false;
      this.stop();
      this.o.onGone?.(this.gone);
    }
    return true;
  }

  /** `revision` / `revisions` messages from the server. */
  receive(revs) {
    this.o.onRevisions?.(revs);
    this.incoming(() => this.sync.receiveRevisions(revs, now()));
  }

  /** Hand something from the server to the state machine, then send what follows from it. */
  incoming(fn) {
    const r = fn();
    this.pump();
    this.o.onIncoming?.();
    return r;
  }

  /** Run fn after ms, unless a timer of that name is already waiting (or the loop stopped for
   * good: the document is gone). */
  schedule(name, ms, fn) {
    if (this._timers[name] || this.gone) return;
    this._timers[name] = setTimeout(() => {
      this._timers[name] = null;
      fn();
    }, ms);
  }

  /** Whether a timer of that name is waiting. */
  scheduled(name) {
    return Boolean(this._timers[name]);
  }

  /** Forget the timer of that name, if one is waiting. */
  cancel(name) {
    if (this._timers[name]) clearTimeout(this._timers[name]);
    this._timers[name] = null;
  }

  stop() {
    for (const [name, t] of Object.entries(this._timers)) {
      if (t) clearTimeout(t);
      this._timers[name] = null;
    }
  }
}
