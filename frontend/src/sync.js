// The client side of collab's sync protocol, as a pure state machine: no transport, no DOM,
// no timers. The connection feeds it acks and revisions and asks it what to send next
// (takePatch, takeSync, takeSeen); the editor feeds it local edits and listens for changes.
//
// State (see shared/DESIGN.md, "Client: shadow + one patch in flight"):
//   version  - the last server version this client has confirmed
//   shadow   - the server's text at `version`
//   text     - what the user sees: shadow + local edits not yet confirmed
//   inflight - at most one sent patch awaiting its ack: {id, base, patch, op, edits}
//   pending  - the local edits not yet sent, as an op on shadow + inflight (-> text)
//
// Local edits are kept as the user made them (ops composed edit by edit), never re-derived by
// diffing shadow and text: an incoming revision is transformed over the in-flight op and then
// over the pending one, so that when both sides replace the same word, both words survive whole
// instead of interleaving (and losing) letters. collab/sync.py keeps them the same way.
//
// Public offsets (localEdit, cursors) count Unicode code points, like the wire protocol.
// Internally, ops count UTF-16 units but never split a surrogate pair (see textutil.js).
//
// Must not import: socket.io-client, CodeMirror, anything that touches the DOM or the network.

import {
  applyOps,
  applyPatchExact,
  baseLength,
  compose,
  cpToUtf16,
  crc32Hex,
  del,
  diffOps,
  insert,
  isNoop,
  makePatchFromOps,
  randomId,
  retain,
  transform,
  wellFormed,
} from './textutil.js';

/** Error codes after which the same op may be sent again later (nothing is known to be lost). */
const RESEND_CODES = new Set(['internal', 'timeout']);
/** Error codes that mean this client must join again before it can send. */
const REJOIN_CODES = new Set(['not_joined', 'future_base', 'bad_doc']);

export class SyncClient {
  /**
   * @param {object} [opts]
   * @param {number} [opts.version=0]    confirmed version
   * @param {string} [opts.shadow]       server text at `version` (defaults to `text`)
   * @param {string} [opts.text='']      visible text
   * @param {object} [opts.inflight]     a restored in-flight op {id, base, patch}
   * @param {() => string} [opts.newId]  op id factory (tests pass a deterministic one)
   * @param {(ops: Array, origin: string) => void} [opts.onChange] told of every change to
   *        `text` that did not come from localEdit/setText: ops on the previous text (UTF-16)
   */
  constructor(opts = {}) {
    this._text = opts.text ?? '';
    this._shadow = opts.shadow ?? this._text;
    this._version = opts.version ?? 0;
    this._newId = opts.newId ?? (() => randomId());
    this.onChange = opts.onChange ?? null;
    this._inflight = opts.inflight ? this._restoreInflight(opts.inflight) : null;
    // the local edits not yet sent: an op on shadow + inflight that gives `text`
    this._pending = diffOps(this._inflight ? applyOps(this._shadow, this._inflight.op) : this._shadow, this._text);
    this._resend = Boolean(opts.inflight); // a restored op goes out again with its own id
    this._held = new Map(); // version -> revision that arrived before version-1 was known
    this._heldAck = null; // {version, patch, hash, id}: an ack that came before its base
    this._syncWanted = false; // a sync from `version` is needed
    this._syncTarget = 0; // sync at least up to here (from a conflict ack)
    this._syncing = false; // a sync request is outstanding
    this._rejoin = null; // why a full resync (re-join) is needed, or null
    this._error = null; // {code, message}: stop sending until clearError()
    this._retryAt = 0; // rate limit: do not send before this time (ms, caller's clock)
    this._unsaved = 0; // local edits not yet confirmed (for "N changes not yet saved")
    this._seenSent = this._version;
    this._pendingHash = null; // hash to verify once the current batch is applied
    if (this._text !== this._shadow && this._unsaved === 0) this._unsaved = 1;
  }

  // ---- state ----

  get text() {
    return this._text;
  }
  get shadow() {
    return this._shadow;
  }
  get version() {
    return this._version;
  }
  /** The in-flight op {id, base, patch, op} or null (`op`: UTF-16 ops on the shadow, kept so
   * that a restored client carries it over revisions; the wire needs only id, base and patch). */
  get inflight() {
    const f = this._inflight;
    return f ? { id: f.id, base: f.base, patch: f.patch, op: f.op } : null;
  }
  /** Number of local changes not yet confirmed by the server. */
  get unsaved() {
    if (!this._inflight && this._text === this._shadow) return 0;
    return Math.max(this._unsaved, 1);
  }
  /** The error that stopped sending, or null. */
  get error() {
    return this._error;
  }
  /** Held early revisions (for diagnostics and tests). */
  get heldVersions() {
    return [...this._held.keys()].sort((a, b) => a - b);
  }

  // ---- local edits ----

  /** Replace `delCount` code points at code point `pos` with `insText`. */
  localEdit(pos, delCount, insText) {
    const from = cpToUtf16(this._text, pos);
    const to = cpToUtf16(this._text, pos + delCount, from, pos);
    this.localEditUtf16(from, to, insText);
  }

  /** Replace UTF-16 range [from, to) of the text (the editor's unit) with `insText`. */
  localEditUtf16(from, to, insText) {
    if (from < 0 || to < from || to > this._text.length) {
      throw new RangeError(`edit ${from}..${to} outside text of length ${this._text.length}`);
    }
    if (from === to && !insText) return;
    const ins = wellFormed(insText);
    const op = retain([], from);
    insert(op, ins);
    del(op, to - from);
    retain(op, this._text.length - to);
    this._pending = compose(this._pending, op);
    this._text = this._text.slice(0, from) + ins + this._text.slice(to);
    this._unsaved++;
  }

  /** Set the whole visible text (the change is found by diffing). */
  setText(newText) {
    newText = wellFormed(newText);
    if (newText === this._text) return;
    this._pending = compose(this._pending, diffOps(this._text, newText));
    this._text = newText;
    this._unsaved++;
  }

  // ---- outgoing ----

  /**
   * The patch message to send now, or null. A patch is sent when nothing is in flight and the
   * text differs from the shadow; the in-flight op is returned again (same id and base) after
   * reconnect() or a rate-limit wait. `now` is the caller's clock in ms (for rate limits).
   */
  takePatch(now = 0) {
    if (this._error || this._rejoin || now < this._retryAt) return null;
    if (this._inflight) {
      if (!this._resend) return null;
      this._resend = false;
      const f = this._inflight;
      return { base: f.base, patch: f.patch, id: f.id };
    }
    if (isNoop(this._pending)) return null;
    // After a conflict, first catch up with the head the server reported.
    if (this._syncTarget > this._version || this._syncWanted || this._syncing) return null;
    const patch = makePatchFromOps(this._shadow, this._pending);
    if (!patch) return null;
    this._inflight = { id: this._newId(), base: this._version, patch, op: this._pending, edits: this._unsaved };
    this._pending = retain([], this._text.length);
    return { base: this._version, patch, id: this._inflight.id };
  }

  /** `since` for the next sync request (and marks it outstanding), or null. */
  takeSync() {
    const since = this.needsSync();
    if (since === null) return null;
    this._syncing = true;
    this._syncWanted = false;
    return { since };
  }

  /** `since` a sync should start from, or null when none is needed (or one is outstanding). */
  needsSync() {
    if (this._syncing) return null;
    // A pending full resync makes syncing pointless, unless an op in flight must settle first.
    if (this._rejoin && !(this._inflight && !this._resend)) return null;
    if (this._syncWanted || this._syncTarget > this._version) return this._version;
    if (this._held.size || this._heldAck) {
      // Revisions are missing. If the only missing one could be our in-flight op, its ack will
      // fill the gap; anything else needs a sync.
      const known = new Set(this._held.keys());
      if (this._heldAck) known.add(this._heldAck.version);
      const top = Math.max(...known);
      const missing = [];
      for (let v = this._version + 1; v < top; v++) if (!known.has(v)) missing.push(v);
      const ownMayFill = this._inflight && !this._resend && !this._heldAck && missing.length === 1 && missing[0] === this._version + 1;
      if (missing.length && !ownMayFill) return this._version;
    }
    return null;
  }

  /** Ask for a sync from the current version (e.g. a gap stayed open too long). */
  requestSync() {
    this._syncWanted = true;
  }

  /** The version to confirm with `seen`, or null when nothing new was seen. */
  takeSeen() {
    if (this._version <= this._seenSent) return null;
    this._seenSent = this._version;
    return { version: this._version };
  }

  /** Why a full resync (re-join + resetFromJoin) is needed, or null. */
  needsRejoin() {
    // Wait for an in-flight op to be settled first: resetting while it is unknown whether the
    // server applied it could double its text.
    if (this._rejoin && this._inflight && !this._resend) return null;
    return this._rejoin;
  }

  // ---- incoming ----

  /**
   * The answer to `join`. The first join of a fresh client takes the server's text. A re-join
   * (or the first join of a client restored from storage) keeps local state, resends the op in
   * flight and syncs from `version`; if the server is behind us or disagrees at our version, the
   * local edits are rebased onto its text (resetFromJoin).
   */
  receiveJoin(ans, { fresh = false } = {}) {
    if (fresh) {
      this._setConfirmed(ans.version, ans.text);
      this._emitReplace(ans.text);
      this._text = ans.text;
      this._inflight = null;
      this._pending = retain([], ans.text.length);
      this._unsaved = 0;
      return;
    }
    const settling = this._rejoin && this._inflight; // settle the op first (see needsRejoin)
    if (!settling && (this._rejoin || ans.version < this._version || (ans.version === this._version && ans.text !== this._shadow))) {
      this.resetFromJoin(ans);
      return;
    }
    this._error = null;
    this._retryAt = 0;
    if (this._inflight) this._resend = true;
    this._syncing = false;
    if (ans.version > this._version) this._syncWanted = true;
  }

  /** Connection lost: the op in flight must go out again (same id) after the next join. */
  disconnected() {
    if (this._inflight) this._resend = true;
    this._syncing = false;
  }

  /**
   * Full resync: take the server's text and version, and rebase every local edit (shadow ->
   * text) onto it with a three-way merge. Typed text is kept, never dropped.
   */
  resetFromJoin(ans) {
    const local = this._localOps();
    const remote = diffOps(this._shadow, ans.text);
    const [remote1, local1] = transform(remote, local);
    const old = this._text;
    this._text = applyOps(ans.text, local1);
    this._pending = local1;
    this._setConfirmed(ans.version, ans.text);
    this._inflight = null;
    this._resend = false;
    this._held.clear();
    this._heldAck = null;
    this._syncWanted = false;
    this._syncTarget = 0;
    this._syncing = false;
    this._rejoin = null;
    this._error = null;
    this._pendingHash = null;
    if (this._text === this._shadow) this._unsaved = 0;
    if (!isNoop(remote1)) this._notify(remote1, old, 'reset');
  }

  /**
   * The ack of a patch. `id` is the op id the ack answers (acks of an op no longer in flight are
   * ignored). Returns `{retryAfter}` (seconds) when the caller should wait and call takePatch
   * again, else null.
   */
  receiveAck(ack, id, now = 0) {
    const f = this._inflight;
    if (!f || (id !== undefined && id !== f.id)) return null;
    if (!ack || typeof ack !== 'object') return null;
    if (!ack.ok) {
      const err = ack.error || { code: 'internal', message: 'malformed ack' };
      if (err.code === 'conflict') {
        // Nothing was applied: its edits go back to the pending ones; catch up, then send them.
        this._dropInflight();
        if (typeof err.version === 'number') this._syncTarget = Math.max(this._syncTarget, err.version);
        this._syncWanted = true;
        return null;
      }
      if (err.code === 'rate_limited') {
        const wait = typeof err.retry_after === 'number' ? err.retry_after : 1;
        this._retryAt = now + wait * 1000;
        this._resend = true;
        return { retryAfter: wait };
      }
      this._error = { code: err.code, message: err.message || err.code };
      if (RESEND_CODES.has(err.code)) this._resend = true; // same id later: the server dedupes
      else this._dropInflight(); // nothing was applied; its edits stay pending, in `text`
      if (REJOIN_CODES.has(err.code)) this._rejoin = err.code;
      return null;
    }
    if (ack.duplicate) {
      // Applied earlier (our ack was lost): its revision is recognised by id in a sync.
      if (ack.version > this._version) this._syncWanted = true;
      else this._inflight = null; // already seen; should not happen, but do not block
      return null;
    }
    const v = ack.version;
    if (v <= this._version) return null; // already known through a sync (recognised by id)
    if (v > this._version + 1) {
      this._heldAck = { version: v, patch: ack.patch, hash: ack.hash, id: f.id };
      return null;
    }
    this._applyOwn({ version: v, patch: ack.patch, hash: ack.hash });
    this._drain();
    return null;
  }

  /** One `revision` message. */
  receiveRevision(rev) {
    this.receiveRevisions([rev]);
  }

  /** Revisions in any order; early ones are held until the gap before them is filled. */
  receiveRevisions(revs) {
    for (const rev of revs || []) {
      if (!rev || typeof rev.version !== 'number') continue;
      if (rev.version <= this._version) continue;
      if (rev.version > this._version + 1) {
        this._held.set(rev.version, rev);
        continue;
      }
      this._applyRevision(rev);
      this._drain();
    }
    this._verify();
  }

  /** The answer to `sync {since}`. */
  receiveSync(ans) {
    this._syncing = false;
    if (!ans || !ans.ok) {
      this._syncWanted = true;
      return;
    }
    const before = this._version;
    this.receiveRevisions(ans.revisions || []);
    if (ans.more) this._syncWanted = true;
    else {
      // Caught up as far as the server said; ask again only if this answer made progress (so a
      // server answering short cannot make us loop).
      this._syncTarget = 0;
      if (typeof ans.version === 'number' && ans.version > this._version && this._version > before) this._syncWanted = true;
    }
  }

  /** A sync request failed (no answer): allow another. */
  syncFailed() {
    this._syncing = false;
    this._syncWanted = true;
  }

  /** Forget the error that stopped sending (the user retried, or the connection came back). */
  clearError() {
    this._error = null;
  }

  // ---- internals ----

  _applyOwn({ version, patch, hash }) {
    const f = this._inflight;
    if (patch == null && f.base !== version - 1) {
      // The server moved our patch over other revisions but did not say how: learn the
      // canonical revision from a sync, where it is recognised by its op id.
      this._syncWanted = true;
      return;
    }
    // The canonical revision if the server had to move our patch, else our own patch.
    let res;
    try {
      res = applyPatchExact(this._shadow, patch ?? f.patch);
    } catch {
      // Cannot happen with a correct server; recover by a full resync (text is kept).
      this._inflight = null;
      this._rejoin = 'apply_failed';
      return;
    }
    const expected = applyOps(this._shadow, f.op);
    if (res.text !== expected) {
      // The server placed our change otherwise than we did: what is left to send is whatever
      // separates its text from ours.
      this._pending = diffOps(res.text, this._text);
    }
    this._shadow = res.text;
    this._version = version;
    this._inflight = null;
    this._resend = false;
    this._unsaved = Math.max(0, this._unsaved - f.edits);
    if (this._text === this._shadow) this._unsaved = 0;
    this._pendingHash = hash ?? null;
    this._verify();
  }

  _applyRevision(rev) {
    const f = this._inflight;
    if (f && rev.id && rev.id === f.id) {
      this._applyOwn({ version: rev.version, patch: rev.patch, hash: rev.hash });
      return;
    }
    let res;
    try {
      res = applyPatchExact(this._shadow, rev.patch);
    } catch {
      this._rejoin = 'apply_failed';
      return;
    }
    // Carry the local edits (in flight, then pending) over the revision; the committed
    // revision's inserts go first when both insert at the same place.
    let remote = res.ops;
    if (f) [remote, f.op] = transform(remote, f.op);
    const [remote1, pending1] = transform(remote, this._pending);
    this._pending = pending1;
    const old = this._text;
    this._text = applyOps(old, remote1);
    this._shadow = res.text;
    this._version = rev.version;
    this._pendingHash = rev.hash ?? null;
    if (this._text === this._shadow && !this._inflight) this._unsaved = 0;
    if (!isNoop(remote1)) this._notify(remote1, old, 'remote');
  }

  /** The local edits not yet confirmed, in flight and pending: an op shadow -> text. */
  _localOps() {
    return this._inflight ? compose(this._inflight.op, this._pending) : this._pending;
  }

  /** The in-flight op was not applied: its edits become pending again. */
  _dropInflight() {
    this._pending = this._localOps();
    this._inflight = null;
  }

  _restoreInflight(f) {
    let op = f.op;
    if (!Array.isArray(op) || baseLength(op) !== this._shadow.length) {
      // stored without its op (or made against another shadow): the patch itself, if it
      // applies to the shadow, else everything local counts as in flight
      try {
        op = f.base === this._version ? applyPatchExact(this._shadow, f.patch).ops : null;
      } catch {
        op = null;
      }
      if (!op) op = diffOps(this._shadow, this._text);
    }
    return { edits: 1, ...f, op };
  }

  _drain() {
    for (;;) {
      const next = this._version + 1;
      if (this._held.has(next)) {
        const rev = this._held.get(next);
        this._held.delete(next);
        this._applyRevision(rev);
        continue;
      }
      const a = this._heldAck;
      if (a && a.version === next && this._inflight && this._inflight.id === a.id) {
        this._heldAck = null;
        this._applyOwn(a);
        continue;
      }
      break;
    }
    for (const v of this._held.keys()) if (v <= this._version) this._held.delete(v);
    if (this._heldAck && (this._heldAck.version <= this._version || !this._inflight || this._inflight.id !== this._heldAck.id)) {
      this._heldAck = null;
    }
  }

  _verify() {
    const h = this._pendingHash;
    this._pendingHash = null;
    if (!h || this._rejoin) return;
    if (crc32Hex(this._shadow) !== String(h).toLowerCase()) this._rejoin = 'hash_mismatch';
  }

  _setConfirmed(version, text) {
    this._version = version;
    this._shadow = text;
    this._seenSent = Math.min(this._seenSent, version);
  }

  _emitReplace(newText) {
    if (newText !== this._text) this._notify(diffOps(this._text, newText), this._text, 'reset');
  }

  _notify(ops, oldText, origin) {
    if (this.onChange) this.onChange(ops, origin, oldText);
  }
}
