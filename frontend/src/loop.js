// The loop between the sync state machine (sync.js) and a joined Socket.IO connection: send
// whatever the state machine wants sent (sync, patch, seen), feed it the server's answers and
// messages, and wake up when the state machine says something becomes due.
//
// Shared by the browser client (connection.js: it adds joining, the DOM and localStorage) and
// the benchmark's load driver (bench/driver/clients.js: it adds its measurements), so that
// the driver exercises exactly what browsers run. No DOM, no storage, no socket library: the
// caller hands in a socket.io-client socket.

export const ACK_TIMEOUT_MS = 15000;

/** The caller's clock for the state machine: seconds. */
const now = () => Date.now() / 1000;

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
  }

  /**
   * Send whatever the state machine wants sent now, then wake up when it says something
   * else becomes due (a retry, a gap's patience, the next `seen`): all timing is the state
   * machine's, the loop only keeps its clock.
   */
  pump() {
    const { sync, socket: s } = this;
    if (!this.joined) return this.o.afterPump?.();
    const why = sync.needsRejoin();
    if (why) {
      this.joined = false;
      this.o.rejoin(why);
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
