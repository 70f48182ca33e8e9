// The client side of collab's sync protocol, as a pure state machine: no transport, no DOM,
// no timers. The connection feeds it what arrives (receiveJoin, receiveAck, receiveRevisions,
// receiveSync, receiveGone) and asks it what to send (takePatch, takeSync, takeSeen) and when to ask again
// (wakeAt); the editor feeds it local edits and listens for changes.
//
// collab/client/state.py is the same algorithm, written with the same names (snake_case there), the
// same arguments in the same order and the same handling of every error code; the shared
// vectors in tests/vectors/ run against both. Change one, change the other.
//
// State (a shadow and one patch in flight, as in Neil Fraser's Differential Synchronization):
//   version  - the last server version this client has confirmed
//   shadow   - the server's text at `version`
//   text     - what the user sees: shadow + local edits not yet confirmed
//   inflight - at most one sent patch awaiting its ack: {id, base, patch, op, edits}
//   pending  - the local edits not yet sent, as an op on shadow + inflight (-> text)
//
// Local edits are kept as the user made them (ops composed edit by edit), never re-derived by
// diffing shadow and text: an incoming revision is transformed over the in-flight op and then
// over the pending one, so that when both sides replace the same word, both words survive whole.
//
// Time: every method that depends on it takes `now`, in seconds, as its last argument.
// Public offsets (localEdit) count Unicode code points, like the wire protocol. Internally, ops
// count UTF-16 units but never split a surrogate pair (see core/ops.js).
//
// Must not import: socket.io-client, CodeMirror, anything that touches the DOM or the network.

import { ChunkedText } from './core/chunked.js';
import { diffOps } from './core/diff.js';
import { randomId } from './core/ids.js';
import { applyOps, baseLength, compose, del, insert, isNoop, retain, transform } from './core/ops.js';
import { makePatchFromOps } from './core/opspatch.js';
import { applyPatchExact } from './core/patch.js';
import { cpLength, escapedLength, wellFormed } from './core/text.js';

/** Seconds a version gap that our own ack may fill stays open before we ask with `sync`. */
export const GAP_PATIENCE = 1.0;
/** Seconds between cumulative `seen` confirmations. */
export const SEEN_EVERY = 0.25;
/** Seconds before the first resend after `internal` (or no answer); doubles up to RETRY_MAX. */
export const RETRY_FIRST = 1.0;
export const RETRY_MAX = 30.0;
/** The contract's default limits (docs/protocol.md), until a join answer says otherwise. */
export const DEFAULT_LIMITS = Object.freeze({ patch: 4194304, hunks: 5000, doc: 4194304, lines: 10000 });
/** What one change costs in a patch's text beyond its escaped characters (header, context). */
const CHANGE_COST = 100;
/** The most lines one change takes in a patch: alone in its hunk, header, context, itself, context. */
const LINES_PER_CHANGE = 4;

/**
 * The changes (inserts and deletes, each at one place) one patch may carry within `limits`: each
 * makes at most one hunk and LINES_PER_CHANGE lines of the patch's text (half the hunk limit, as
 * the patch's characters are kept to half theirs).
 */
export function maxChanges(limits) {
  return Math.max(1, Math.min(Math.floor(limits.hunks / 2), Math.floor(limits.lines / LINES_PER_CHANGE)));
}

/**
 * What each refusal of a patch means for the client (docs/protocol.md, "Error codes"). Nothing
 * was applied in every case, so no refusal loses text; only `gone` stops the client for good.
 *   rebase  - catch up with the head the error names, then send what is left on a new op id
 *   retry   - the same op (same id: the server dedupes) again after `retry_after` or a backoff
 *   rejoin  - join again and start from the server's text, keeping what was typed
 *   hold    - the content was refused: keep it in the text, send again once the text changes
 *   viewer  - this client may not write: keep the text, send nothing until joined as an editor
 *   gone    - the document was deleted, or its access no longer admits this person: stop for good
 *             (receiveGone), the text kept to be copied
 * A code the client does not know is retried, as `internal` is.
 */
export const ON_REFUSAL = Object.freeze({
  conflict: 'rebase',
  rate_limited: 'retry',
  internal: 'retry',
  doc_corrupt: 'retry',
  future_base: 'rejoin',
  not_joined: 'rejoin',
  bad_doc: 'rejoin',
  too_large: 'hold',
  bad_patch: 'hold',
  bad_request: 'hold',
  read_only: 'viewer',
  deleted: 'gone',
  forbidden: 'gone',
  sign_in_required: 'gone',
});

/** "5.1 M", "521 k", "2,000": a count of characters as a person reads it. */
export function roughCount(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)} k`;
  return String(n).replace(/\B(?=(\d{3})+$)/g, ',');
}

/**
 * Split `op` (on `text`) into [first, rest] with compose(first, rest) == op, `first` costing at
 * most `budget` escaped patch characters in at most `maxChanges` changes: a paste too big for
 * one message goes as several patches. Never splits a surrogate pair.
 */
export function splitOp(op, text, budget, maxChanges) {
  const first = [];
  const rest = [];
  let used = 0;
  let changes = 0;
  let cut = false;
  let i = 0; // position in `text`
  // the longest prefix of s (whole code points) whose escaped length fits in `room`
  const prefix = (s, room) => {
    let k = 0;
    let cost = 0;
    while (k < s.length) {
      const w = s.codePointAt(k) > 0xffff ? 2 : 1;
      const c = escapedLength(s.slice(k, k + w));
      if (cost + c > room) break;
      cost += c;
      k += w;
    }
    return k;
  };
  for (const o of op) {
    if (typeof o === 'number' && o > 0) {
      retain(first, o);
      retain(rest, o);
      i += o;
      continue;
    }
    const isInsert = typeof o === 'string';
    const body = isInsert ? o : text.slice(i, i - o);
    if (!isInsert) i -= o;
    let k = 0; // units of this change that go in `first`
    if (!cut && changes < maxChanges) {
      const cost = escapedLength(body) + CHANGE_COST;
      k = used + cost <= budget ? body.length : prefix(body, budget - used - CHANGE_COST);
      if (k > 0) {
        used += cost;
        changes++;
      }
      if (k < body.length) cut = true;
    }
    if (isInsert) {
      insert(first, body.slice(0, k));
      retain(rest, k);
      insert(rest, body.slice(k));
    } else {
      del(first, k);
      retain(first, body.length - k);
      del(rest, body.length - k);
    }
    // after the cut, `first` keeps the text as it is and `rest` does the remaining changes
  }
  return [first, rest];
}

export class SyncClient {
  /**
   * @param {object} [opts]
   * @param {number} [opts.version=0]    confirmed version
   * @param {string} [opts.text='']      visible text
   * @param {string} [opts.shadow]       server text at `version` (defaults to `text`)
   * @param {object} [opts.inflight]     a restored in-flight op {id, base, patch}
   * @param {() => string} [opts.newId]  op id factory (tests pass a deterministic one)
   * @param {(ops: Array, origin: string) => void} [opts.onChange] told of every change to
   *        `text` that did not come from localEdit/setText: ops on the previous text (UTF-16);
   *        then the previous text (null when it was not built: see `_text`) and, for a
   *        revision, its author
   */
  constructor(opts = {}) {
    // The shadow and the text are kept in chunks (core/chunked.js): the shadow's hash, both
    // texts' code point offsets and the edits of a keystroke cost a chunk or two, not the
    // document. As strings (`_text`, `_shadow`) they are built when asked for and kept until
    // they change (null: not built).
    this._textStr = opts.text ?? '';
    this._shadowStr = opts.shadow ?? this._textStr;
    this._shadowIndex = new ChunkedText(this._shadowStr);
    this._textIndex = new ChunkedText(this._textStr);
    this._version = opts.version ?? 0;
    this._newId = opts.newId ?? (() => randomId());
    this.onChange = opts.onChange ?? null;
    this._inflight = opts.inflight ? this._restoreInflight(opts.inflight) : null;
    // the local edits not yet sent: an op on shadow + inflight that gives `text`
    this._pending = diffOps(this._inflight ? applyOps(this._shadow, this._inflight.op) : this._shadow, this._text);
    this._resend = Boolean(opts.inflight); // the in-flight op goes out again (same id) at _retryAt
    this._retryAt = 0;
    this._failures = 0; // answers of `internal` (or none) in a row, for the backoff
    this._held = new Map(); // version -> revision that arrived before version-1 was known
    this._heldAck = null; // {version, patch, hash, id}: our ack, waiting for the versions before it
    this._gapSince = null; // when versions went missing (held revisions or ack), or null
    this._gapOwn = false; // ...and only our own in-flight op can be the missing one: wait for it
    this._syncWanted = false; // a sync from `version` is needed
    this._joinFrom = null; // the version we had when the outstanding join was sent (joining)
    this._syncTarget = 0; // sync at least up to here (the head a conflict named)
    this._syncing = false; // a sync request is outstanding
    this._syncAt = 0; // a failed sync is asked again from then on
    this._rejoin = null; // why a full resync (re-join) is needed, or null
    this._error = null; // {code, message}: the last refusal, shown until something is saved
    this._gone = null; // the document was deleted: the error as received; for good
    this._holdText = null; // the text whose patch was refused as content (hold): not sent again
    this._viewer = false; // joined read-only: local edits are refused, nothing is sent
    this._limits = { ...DEFAULT_LIMITS };
    this._unsaved = this._text !== this._shadow ? 1 : 0; // local edits not yet confirmed
    this._seenSent = this._version;
    this._seenAt = -Infinity;
  }

  // ---- state ----

  get _text() {
    return this._textStr ?? (this._textStr = this._textIndex.text());
  }
  get _shadow() {
    return this._shadowStr ?? (this._shadowStr = this._shadowIndex.text());
  }
  /** text === shadow (with nothing in flight), without building either when it can be told otherwise. */
  _same() {
    return isNoop(this._pending) || (this._textIndex.length === this._shadowIndex.length && this._text === this._shadow);
  }

  get text() {
    return this._text;
  }
  /** `text` in chunks (core/chunked.js): its code point <-> UTF-16 offsets (cpToUtf16,
   * utf16ToCp) without a pass over the text. Read only. */
  get textIndex() {
    return this._textIndex;
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
    if (!this._inflight && this._same()) return 0;
    return Math.max(this._unsaved, 1);
  }
  /** The last refusal {code, message}, until something is saved again; null when all is well. */
  get error() {
    return this._error;
  }
  /** The document was deleted: the error as received ({code: 'deleted', message, ...}), or null. */
  get gone() {
    return this._gone;
  }
  /** Held early revisions (for diagnostics and tests). */
  get heldVersions() {
    return [...this._held.keys()].sort((a, b) => a - b);
  }
  /** The limits the server announced in its join answer (or the contract's defaults). */
  get limits() {
    return this._limits;
  }
  /** A refusal that only the user can end (undo the paste, join as an editor), or null. */
  get stuck() {
    return this._holdText !== null || (this._viewer && !isNoop(this._localOps())) ? this._error : null;
  }
  /** Everything typed is confirmed and no known revision is missing. */
  get synced() {
    return !this._gone && !this._inflight && isNoop(this._pending) && !this._held.size && !this._heldAck && !this._syncWanted && !this._syncing && !this._rejoin;
  }

  // ---- local edits ----

  /** Replace `delete_` code points at code point `pos` with `insText`. */
  localEdit(pos, delete_, insText) {
    const from = this._textIndex.cpToUtf16(pos);
    const to = this._textIndex.cpToUtf16(pos + delete_);
    this.localEditUtf16(from, to, insText);
  }


  /** Replace UTF-16 range [from, to) of the text (the editor's unit) with `insText`. */
  localEditUtf16(from, to, insText) {
    const length = this._textIndex.length;
    if (from < 0 || to < from || to > length) {
      throw new RangeError(`edit ${from}..${to} outside text of length ${length}`);
    }
    if (from === to && !insText) return;
    this._writable();
    const ins = wellFormed(insText);
    const op = retain([], from);
    insert(op, ins);
    del(op, to - from);
    retain(op, length - to);
    this._local(op, null);
  }

  /** Set the whole visible text (the change is found by diffing). */
  setText(newText) {
    newText = wellFormed(newText);
    if (newText === this._text) return;
    this._writable();
    this._local(diffOps(this._text, newText), newText);
  }

  // ---- outgoing ----

  /**
   * The patch message {base, patch, id} to send now, or null. The in-flight op goes again (same
   * id and base) after a reconnect or when a retry is due; otherwise a new patch carries what
   * was typed since, split when one message would be over the server's limits.
   */
  takePatch(now = 0) {
    if (this._rejoin || this._viewer || this._gone) return null;
    const f = this._inflight;
    if (f) {
      if (!this._resend || now < this._retryAt) return null;
      this._resend = false;
      return { base: f.base, patch: f.patch, id: f.id };
    }
    if (isNoop(this._pending)) {
      if (this._holdText !== null) this.clearError(); // the refused edit was undone
      return null;
    }
    if (this._heldAck) return null;
    // after a conflict, first catch up with the head the server reported
    if (this._syncTarget > this._version || this._syncWanted || this._syncing || this._gapSince !== null) return null;
    if (this._holdText !== null) {
      if (this._text === this._holdText) return null; // refused as it is: wait for a change
      this._holdText = null;
    }
    if (this._overDocLimit()) return null;
    const lim = this._limits;
    let op = this._pending;
    let rest = null;
    if (this._pendingCost(lim) > Math.floor(lim.patch / 2)) {
      [op, rest] = splitOp(op, this._shadow, Math.floor(lim.patch / 2), maxChanges(lim));
    }
    const patch = makePatchFromOps(this._shadowStr, op, this._shadowIndex);
    if (!patch) return null;
    this._inflight = { id: this._newId(), base: this._version, patch, op, edits: this._unsaved };
    this._pending = rest ?? retain([], this._textIndex.length);
    return { base: this._version, patch, id: this._inflight.id };
  }

  /** The sync request {since} to send now (it is then outstanding), or null. */
  takeSync(now = 0) {
    const since = this.needsSync(now);
    if (since === null) return null;
    this._syncing = true;
    this._syncWanted = false;
    return { since };
  }

  /** `since` a sync should start from now, or null when none is needed (or one is outstanding). */
  needsSync(now = 0) {
    if (this._syncing || now < this._syncAt || this._gone) return null;
    // a pending re-join makes syncing pointless, unless an op in flight must settle first
    if (this._rejoin && !(this._inflight && !this._resend)) return null;
    if (this._syncWanted || this._syncTarget > this._version) return this._version;
    if (this._gapSince !== null && (!this._gapOwn || now - this._gapSince >= GAP_PATIENCE)) return this._version;
    return null;
  }

  /** Ask for a sync from the current version (e.g. nothing was heard for a while). */
  requestSync() {
    this._syncWanted = true;
  }

  /** The version to confirm with `seen` {version} now, or null (nothing new, or too soon). */
  takeSeen(now = 0) {
    if (this._version <= this._seenSent || now - this._seenAt < SEEN_EVERY || this._gone) return null;
    this._seenSent = this._version;
    this._seenAt = now;
    return { version: this._version };
  }

  /** Why a full resync (re-join + resetFromJoin) is needed, or null. */
  needsRejoin() {
    // Wait for an in-flight op to be settled first: resetting while it is unknown whether the
    // server applied it could double its text.
    if (this._rejoin && this._inflight && !this._resend) return null;
    return this._gone ? null : this._rejoin;
  }

  /** The earliest time (seconds) at which takePatch/takeSync/takeSeen may have something new. */
  wakeAt() {
    if (this._gone) return null;
    const times = [];
    if (this._inflight && this._resend && !this._rejoin) times.push(this._retryAt);
    if (!this._syncing && this._gapSince !== null) times.push(this._gapSince + (this._gapOwn ? GAP_PATIENCE : 0));
    if (!this._syncing && this._syncWanted && this._syncAt > 0) times.push(this._syncAt);
    if (this._version > this._seenSent) times.push(this._seenAt + SEEN_EVERY);
    return times.length ? Math.min(...times) : null;
  }

  // ---- incoming ----

  /**
   * The answer to `join`. The first join of a fresh client takes the server's text. A re-join
   * (or the first join of a client restored from storage) keeps local state, resends the op in
   * flight and syncs from `version`; if the server is behind us or disagrees at our version, the
   * local edits are rebased onto its text (resetFromJoin). Ignored once the document is gone.
   */
  receiveJoin(ans, fresh = false) {
    if (this._gone) return;
    if (fresh && typeof fresh === 'object') fresh = Boolean(fresh.fresh); // {fresh} (older callers)
    this._viewer = ans.role === 'viewer';
    const lim = ans.limits || {};
    for (const k of Object.keys(DEFAULT_LIMITS)) {
      if (Number.isInteger(lim[k]) && lim[k] > 0) this._limits[k] = lim[k];
    }
    // a refusal that the user must act on (a held text, a read-only document) stays shown
    if (this._holdText === null && !this._viewer) this._error = null;
    // The server is behind us only if it is behind what we had when we asked: revisions it
    // sent after its answer's snapshot may arrive before the answer (docs/protocol.md, join)
    const from = this._joinFrom ?? this._version;
    this._joinFrom = null;
    if (fresh) {
      this._setConfirmed(ans.version, ans.text);
      this._emitReplace(ans.text);
      this._textStr = ans.text;
      this._textIndex.reset(ans.text);
      this._inflight = null;
      this._pending = retain([], ans.text.length);
      this._unsaved = 0;
      return;
    }
    const settling = this._rejoin && this._inflight; // settle the op first (see needsRejoin)
    if (!settling && (this._rejoin || ans.version < from || (ans.version === this._version && ans.text !== this._shadow))) {
      this.resetFromJoin(ans);
      return;
    }
    this._syncing = false;
    this._syncAt = 0;
    this._retryAt = 0;
    if (this._inflight) this._resend = true;
    if (ans.version > this._version) this._syncWanted = true;
  }

  /** A join is being sent (on every connect, and for a re-join): its answer is weighed against
   * the version we have now, whatever revisions arrive before it. */
  joining() {
    this._joinFrom = this._version;
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
    this._textStr = applyOps(ans.text, local1);
    this._textIndex.reset(this._textStr);
    this._pending = local1;
    this._setConfirmed(ans.version, ans.text);
    this._inflight = null;
    this._resend = false;
    this._held.clear();
    this._heldAck = null;
    this._gapSince = null;
    this._gapOwn = false;
    this._syncWanted = false;
    this._syncTarget = 0;
    this._syncing = false;
    this._rejoin = null;
    this._holdText = null;
    if (this._same()) this._unsaved = 0;
    if (!isNoop(remote1)) this._notify(remote1, old, 'reset');
  }

  /**
   * The answer to the patch with op id `id` (answers to an op no longer in flight are ignored).
   * `ack` null (no answer in time) is retried like `internal`.
   */
  receiveAck(ack, id, now = 0) {
    const f = this._inflight;
    if (!f || id !== f.id) return;
    if (!ack || typeof ack !== 'object') ack = { ok: false, error: { code: 'timeout', message: 'the server did not answer' } };
    if (!ack.ok) {
      this._refused(ack.error || { code: 'internal', message: 'malformed answer' }, now);
      return;
    }
    const v = ack.version;
    if (!Number.isInteger(v)) return;
    this._failures = 0;
    this._error = null;
    if (v <= this._version) {
      this._inflight = null; // already applied: a sync brought it, recognised by its op id
      this._resend = false;
      return;
    }
    let patch = ack.patch ?? null;
    if (patch === null && !ack.duplicate && v === this._version + 1 && f.base === this._version) {
      patch = f.patch; // applied as sent: the canonical result is ours
    }
    this._heldAck = { version: v, patch, hash: ack.hash ?? null, id: f.id };
    // moved without its patch: a sync brings it (recognised by its op id)
    if (patch === null) this._syncWanted = true;
    this._drain(now);
  }

  /** Revisions (`revision` / `revisions` messages) in any order; early ones are held. */
  receiveRevisions(revs, now = 0) {
    if (this._gone) return;
    for (const rev of revs || []) {
      if (!rev || !Number.isInteger(rev.version) || rev.version <= this._version) continue;
      this._held.set(rev.version, rev);
    }
    this._drain(now);
  }

  /** One `revision` message. */
  receiveRevision(rev, now = 0) {
    this.receiveRevisions([rev], now);
  }

  /** The answer to `sync {since}`. */
  receiveSync(ans, now = 0) {
    this._syncing = false;
    if (this._gone) return;
    if (!ans || !ans.ok) {
      const code = ans && ans.error ? ans.error.code : 'timeout';
      if (ON_REFUSAL[code] === 'gone') return this.receiveGone(ans.error);
      if (ON_REFUSAL[code] === 'rejoin') this._rejoin = code;
      this._syncWanted = true;
      this._syncAt = now + RETRY_FIRST; // not in a tight loop
      return;
    }
    this._syncAt = 0;
    const before = this._version;
    this.receiveRevisions(ans.revisions || [], now);
    if (ans.more) this._syncWanted = true;
    else {
      // caught up as far as the server said; ask again only if this answer made progress (so a
      // server answering short cannot make us loop)
      this._syncTarget = 0;
      if (Number.isInteger(ans.version) && ans.version > this._version && this._version > before) this._syncWanted = true;
    }
  }

  /**
   * A `role` message: the document's owner changed what this client may do, without a join.
   * `viewer`: read-only from now on (local edits refused at once, nothing sent; a patch in flight
   * may still be acknowledged, or is refused `read_only`); `editor`: it may write again, and what
   * was typed meanwhile goes. Ignored once the document is gone.
   */
  receiveRole(role) {
    if (this._gone || (role !== 'editor' && role !== 'viewer')) return;
    this._viewer = role === 'viewer';
    if (!this._viewer && this._error && this._error.code === 'read_only') this._error = null;
  }

  /**
   * The document was deleted (a `gone` message, or `deleted` answering a join, a patch or a
   * sync): stop for good. Nothing is sent, synced, confirmed or joined again, and nothing that
   * arrives later changes the text; the op in flight (not applied, or gone with the document)
   * goes back to the local edits, so `text` and `unsaved` still say what the user typed, to be
   * copied. `gone` is `err` as received (code, message and any extra field, such as `reason`),
   * for the connection to show.
   */
  receiveGone(err) {
    if (this._gone) return;
    this._gone = err;
    if (this._inflight) this._dropInflight();
    this._held.clear();
    this._heldAck = null;
    this._gapSince = null;
    this._syncWanted = false;
    this._syncTarget = 0;
    this._syncing = false;
    this._rejoin = null;
  }

  /** A sync request got no answer: allow another. */
  syncFailed(now = 0) {
    this.receiveSync(null, now);
  }

  /** The user asked to try again now: a waiting retry goes at once, a held text is sent again. */
  clearError() {
    this._error = null;
    this._holdText = null;
    this._retryAt = 0;
  }

  // ---- internals ----

  _writable() {
    if (this._viewer) {
      const e = new Error('read_only: this document is open read-only (a view link); it cannot be edited');
      e.code = 'read_only';
      throw e;
    }
  }

  /** A local edit: `op` on the text, giving `text` (null: not built). */
  _local(op, text) {
    this._pending = compose(this._pending, op);
    this._textStr = text;
    this._textIndex.edit(op);
    this._unsaved++;
  }

  _refused(err, now) {
    const code = err.code;
    const what = ON_REFUSAL[code] ?? 'retry';
    const f = this._inflight;
    if (what === 'gone') return this.receiveGone(err);
    if (what === 'retry') {
      // nothing was applied; the same op goes again (same id: the server dedupes)
      let wait = Number(err.retry_after);
      if (code !== 'rate_limited' || !(wait >= 0)) {
        wait = code === 'rate_limited' ? RETRY_FIRST : Math.min(RETRY_FIRST * 2 ** this._failures, RETRY_MAX);
        this._failures++;
      }
      if (code !== 'rate_limited') this._error = { code, message: err.message || code };
      this._resend = true;
      this._retryAt = now + wait;
      return;
    }
    // nothing was applied: the op's edits go back to the pending ones, still in `text`
    this._dropInflight();
    if (what === 'rebase') {
      const head = err.version;
      if (Number.isInteger(head) && head > this._version) {
        this._syncTarget = Math.max(this._syncTarget, head);
        this._syncWanted = true;
      } else if (!Number.isInteger(head)) this._syncWanted = true;
      else if (f.base === this._version) this._rejoin = code; // refused against the text we hold
      // else: the revisions that conflicted are here already; send again against them
      return;
    }
    this._error = { code, message: err.message || code };
    if (what === 'rejoin') this._rejoin = code;
    else if (what === 'hold') this._holdText = this._text;
    else this._viewer = true;
  }

  /** The document would be over the limit: refuse locally, keeping the text, and say why. */
  _overDocLimit() {
    const limit = this._limits.doc;
    if (this._textIndex.length <= limit) return false; // UTF-16 units >= code points
    const size = cpLength(this._text); // rare: only past the limit in units
    if (size <= limit) return false;
    let inserted = 0;
    for (const o of this._pending) if (typeof o === 'string') inserted += cpLength(o);
    const what = inserted > limit / 10 ? `this paste of ${roughCount(inserted)} characters makes` : 'these changes make';
    this._error = {
      code: 'too_large',
      message: `${what} the document ${roughCount(size)} characters long, over its ${roughCount(limit)} limit: undo to go on saving`,
    };
    this._holdText = this._text;
    return true;
  }

  /**
   * Escaped patch characters the pending edits would take (an upper bound of a patch's text);
   * Infinity when they are more changes than one patch may carry (maxChanges).
   */
  _pendingCost(lim) {
    const base = this._inflight ? this._shadowAfterInflight() : this._shadowIndex; // (both have slice)
    let cost = 0;
    let changes = 0;
    let i = 0;
    for (const o of this._pending) {
      if (typeof o === 'number' && o > 0) {
        i += o;
        continue;
      }
      changes++;
      if (typeof o === 'string') cost += escapedLength(o) + CHANGE_COST;
      else {
        cost += escapedLength(base.slice(i, i - o)) + CHANGE_COST;
        i -= o;
      }
    }
    return changes > maxChanges(lim) ? Infinity : cost;
  }

  _shadowAfterInflight() {
    return this._inflight ? applyOps(this._shadow, this._inflight.op) : this._shadow;
  }

  /** The local edits not yet confirmed, in flight and pending: an op shadow -> text (what
   * connection.js keeps in localStorage). */
  _localOps() {
    return this._inflight ? compose(this._inflight.op, this._pending) : this._pending;
  }

  /** The in-flight op was not applied: its edits become pending again. */
  _dropInflight() {
    this._pending = this._localOps();
    this._inflight = null;
    this._resend = false;
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

  /**
   * Apply every held revision (and our held ack) that is next, check the text they lead to,
   * then see whether a gap is open.
   */
  _drain(now) {
    let hash = null; // the server's hash of the text at the last version applied here
    for (;;) {
      const next = this._version + 1;
      const rev = this._held.get(next);
      if (rev) {
        this._held.delete(next);
        this._applyRevision(rev);
        hash = rev.hash ?? null;
        continue;
      }
      const a = this._heldAck;
      if (a && a.version === next && a.patch !== null && this._inflight && this._inflight.id === a.id) {
        this._heldAck = null;
        this._applyOwn(a.patch, a.version);
        hash = a.hash;
        continue;
      }
      break;
    }
    // One check for all the versions applied together (a `revisions` message, an ack that
    // releases held revisions): a hash costs the whole document, and what later edits build on
    // is the shadow at the last version.
    this._check(hash);
    for (const v of this._held.keys()) if (v <= this._version) this._held.delete(v);
    const a = this._heldAck;
    if (a && (a.version <= this._version || !this._inflight || this._inflight.id !== a.id)) this._heldAck = null;
    if (!this._held.size && !this._heldAck) {
      this._gapSince = null;
      return;
    }
    // Versions are missing. When the only missing one can be our own in-flight op, its ack
    // will fill the gap: give it GAP_PATIENCE. Anything else needs a sync now.
    this._gapOwn = Boolean(this._inflight && !this._resend && !this._heldAck && Math.min(...this._held.keys()) === this._version + 2);
    if (this._gapSince === null) this._gapSince = now;
  }

  /** Our own op became `version` on the server, as `patch` (the canonical revision). */
  _applyOwn(patch, version) {
    const f = this._inflight;
    let res;
    try {
      res = applyPatchExact(null, patch, this._shadowIndex);
    } catch {
      this._rejoin = 'apply_failed'; // cannot happen with a correct server; the text is kept
      return;
    }
    // our own patch on the shadow it was made from gives what our op gives (no need to compare
    // two copies of the document)
    const asSent = patch === f.patch && f.base === this._version;
    const old = asSent ? null : this._shadow;
    this._shadowIndex.edit(res.ops);
    this._shadowStr = null;
    if (!asSent && this._shadow !== applyOps(old, f.op)) {
      // the server placed our change otherwise than we did: what is left to send is whatever
      // separates its text from ours
      this._pending = diffOps(this._shadow, this._text);
    }
    this._version = version;
    this._inflight = null;
    this._resend = false;
    this._unsaved = Math.max(0, this._unsaved - f.edits);
    if (this._same()) this._unsaved = 0;
  }

  _applyRevision(rev) {
    const f = this._inflight;
    if (f && rev.id && rev.id === f.id) {
      this._applyOwn(rev.patch, rev.version);
      return;
    }
    let res;
    try {
      res = applyPatchExact(null, rev.patch, this._shadowIndex);
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
    const old = this._textStr;
    this._textIndex.edit(remote1);
    this._textStr = null;
    this._shadowIndex.edit(res.ops);
    this._shadowStr = null;
    this._version = rev.version;
    if (!this._inflight && this._same()) this._unsaved = 0;
    if (!isNoop(remote1)) this._notify(remote1, old, 'remote', rev.author);
  }

  /** The server's hash of the text at `version` must match our shadow; else we diverged. */
  _check(hash) {
    if (hash && !this._rejoin && this._shadowIndex.hash() !== String(hash).toLowerCase()) this._rejoin = 'hash_mismatch';
  }

  _setConfirmed(version, text) {
    this._version = version;
    this._shadowStr = text;
    this._shadowIndex.reset(text);
    this._seenSent = Math.min(this._seenSent, version);
  }

  _emitReplace(newText) {
    if (newText !== this._text) this._notify(diffOps(this._text, newText), this._text, 'reset');
  }

  _notify(ops, oldText, origin, author) {
    if (this.onChange) this.onChange(ops, origin, oldText, author);
  }
}
