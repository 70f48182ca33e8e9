// A dummy authority for tests: the server's side of the protocol in memory, like the
// in-test authority of codemirror/collab's tests. It moves a patch with an old base over the
// revisions since (transform, committed edits first), stores the canonical patch, dedupes by
// op id, and can be told to refuse with `conflict` or `rate_limited` at random.

import { crc32Hex } from '../src/core/crc32.js';
import { applyOps, transform } from '../src/core/ops.js';
import { applyPatchExact, makePatch } from '../src/core/patch.js';

export class Authority {
  constructor({ rng = Math.random, pConflict = 0, pRateLimit = 0 } = {}) {
    this.rng = rng;
    this.pConflict = pConflict;
    this.pRateLimit = pRateLimit;
    this.texts = ['']; // texts[v] = text at version v
    this.revisions = []; // revisions[v-1] = {version, patch, id, hash, author, ops}
    this.ids = new Map(); // op id -> version
  }

  get head() {
    return this.texts.length - 1;
  }

  get text() {
    return this.texts[this.head];
  }

  join() {
    return { ok: true, version: this.head, text: this.text, role: 'editor', peers: [] };
  }

  /** Handle `patch`; returns [ack, revision to broadcast or null]. */
  patch({ base, patch, id }, author = 'x') {
    if (this.ids.has(id)) {
      const v = this.ids.get(id);
      return [{ ok: true, version: v, duplicate: true, hash: this.revisions[v - 1].hash, patch: this.revisions[v - 1].patch }, null];
    }
    if (base > this.head) return [{ ok: false, error: { code: 'future_base', message: 'base ahead of head' } }, null];
    if (this.rng() < this.pRateLimit) {
      return [{ ok: false, error: { code: 'rate_limited', message: 'slow down', retry_after: 0 } }, null];
    }
    if (base < this.head && this.rng() < this.pConflict) {
      return [{ ok: false, error: { code: 'conflict', message: 'hunk does not apply', version: this.head } }, null];
    }
    let ops;
    try {
      ops = applyPatchExact(this.texts[base], patch).ops;
    } catch (e) {
      return [{ ok: false, error: { code: 'conflict', message: e.message, version: this.head } }, null];
    }
    for (let v = base + 1; v <= this.head; v++) ops = transform(this.revisions[v - 1].ops, ops)[1];
    const old = this.text;
    const text = applyOps(old, ops);
    const canonical = makePatch(old, text);
    const rev = {
      version: this.head + 1,
      patch: canonical,
      id,
      hash: crc32Hex(text),
      author,
      ts: Date.now(),
      ops: applyPatchExact(old, canonical).ops,
    };
    this.texts.push(text);
    this.revisions.push(rev);
    this.ids.set(id, rev.version);
    const ack = { ok: true, version: rev.version, hash: rev.hash };
    if (base < rev.version - 1) ack.patch = canonical;
    return [ack, this.wire(rev)];
  }

  /** Handle `sync {since}` with at most `limit` revisions per answer. */
  sync(since, limit = 5) {
    const revs = this.revisions.slice(since, since + limit).map((r) => this.wire(r));
    const ans = { ok: true, version: this.head, revisions: revs };
    if (since + limit < this.head) ans.more = true;
    return ans;
  }

  wire(rev) {
    const { ops, ...msg } = rev;
    return { doc: 'd', ...msg };
  }
}
