// The history page's logic without a page: paged revision metadata around a position, a small
// cache of version texts (stepping forward applies the revision's own patch, checked by its
// hash; anything else asks the server), blame spans and diff edits turned into text segments,
// and the `#v=N` link.
//
// Pure: no DOM, no fetch of its own (loaders are passed in). Imports only core/.
// Positions from the server count code points; the segments made here are JS strings.

import { crc32Hex } from './core/crc32.js';
import { applyPatchExact } from './core/patch.js';
import { cpToUtf16 } from './core/text.js';

export const PAGE_SIZE = 100; // revisions per /revisions request
const MAX_PAGES = 12; // pages of metadata kept (the farthest from the slider go first)

// ---- the link to a point in history ----

/** The version named by a location hash (`#v=123`, also among other `&`-separated keys), or null. */
export function parseHash(hash) {
  const params = new URLSearchParams(String(hash || '').replace(/^#/, ''));
  const raw = params.get('v');
  if (raw === null || !/^\d{1,15}$/.test(raw)) return null;
  return Number(raw);
}

export function versionHash(v) {
  return `#v=${v}`;
}

export function clamp(v, lo, hi) {
  return Math.max(lo, Math.min(hi, v));
}

// ---- a small least-recently-used cache ----

export class LruCache {
  constructor(size) {
    this.size = size;
    this.map = new Map(); // key -> value, oldest first
  }
  get(key) {
    if (!this.map.has(key)) return undefined;
    const value = this.map.get(key);
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }
  has(key) {
    return this.map.has(key);
  }
  set(key, value) {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.size) this.map.delete(this.map.keys().next().value);
    return value;
  }
}

// ---- revision metadata, paged ----

/**
 * Revision metadata ({version, author, ts, patch, hash, id}) loaded a page at a time around
 * the positions asked for; never the whole log. Version 0 (the empty document) has none.
 */
export class RevisionPages {
  /**
   * @param {(since: number, limit: number) => Promise<{version: number, revisions: object[]}>} fetchPage
   * @param {object} [o]
   * @param {number} [o.pageSize]
   * @param {number} [o.maxPages]
   * @param {(head: number) => void} [o.onHead]  the head named by each answer
   */
  constructor(fetchPage, o = {}) {
    this.fetchPage = fetchPage;
    this.pageSize = o.pageSize || PAGE_SIZE;
    this.maxPages = o.maxPages || MAX_PAGES;
    this.onHead = o.onHead || (() => {});
    this.pages = new Map(); // page number -> Map(version -> revision)
    this.loading = new Map(); // page number -> Promise
    this.center = null; // the page last asked for: eviction starts farthest from it
  }

  pageOf(v) {
    return Math.floor((v - 1) / this.pageSize);
  }

  /** The metadata of revision v if its page is loaded. */
  get(v) {
    if (v < 1) return undefined;
    const page = this.pages.get(this.pageOf(v));
    return page ? page.get(v) : undefined;
  }

  /** Load the page holding v (and its neighbours when v is near their edge); resolves when v's is in. */
  async ensure(v, head) {
    if (v < 1 || v > head) return undefined;
    const p = this.pageOf(v);
    const wanted = [p];
    const offset = (v - 1) % this.pageSize;
    if (offset >= this.pageSize - 10 && v + 10 <= head) wanted.push(p + 1);
    if (offset < 10 && p > 0) wanted.push(p - 1);
    this.center = p;
    const loads = wanted.map((q) => this._load(q));
    await loads[0];
    return this.get(v);
  }

  /** Revisions learnt elsewhere (e.g. by polling for new ones) join their pages. */
  add(revisions) {
    for (const r of revisions) {
      const p = this.pageOf(r.version);
      if (!this.pages.has(p)) this.pages.set(p, new Map());
      this.pages.get(p).set(r.version, r);
    }
  }

  _load(p) {
    const have = this.pages.get(p);
    if (have && have.size === this.pageSize) return Promise.resolve();
    if (this.loading.has(p)) return this.loading.get(p);
    const since = p * this.pageSize;
    const promise = this.fetchPage(since, this.pageSize)
      .then((answer) => {
        if (typeof answer.version === 'number') this.onHead(answer.version);
        const page = this.pages.get(p) || new Map();
        for (const r of answer.revisions || []) {
          if (this.pageOf(r.version) === p) page.set(r.version, r);
        }
        this.pages.set(p, page);
        this._evict(this.center ?? p);
      })
      .finally(() => this.loading.delete(p));
    this.loading.set(p, promise);
    return promise;
  }

  _evict(center) {
    if (this.pages.size <= this.maxPages) return;
    const far = [...this.pages.keys()].sort((a, b) => Math.abs(b - center) - Math.abs(a - center));
    for (const p of far.slice(0, this.pages.size - this.maxPages)) this.pages.delete(p);
  }

  /** Every author of the loaded pages, once each: {author, account} (account: signed in). */
  authors() {
    const who = new Map();
    for (const page of this.pages.values()) for (const r of page.values()) who.set(r.account || `guest:${r.author}`, { author: r.author, account: r.account });
    return [...who.values()];
  }
}

// ---- the text of a version ----

/** The text after applying revision `rev` to `text` (the text at rev.version - 1), or null if it does not fit. */
export function stepForward(text, rev) {
  if (!rev || typeof rev.patch !== 'string') return null;
  try {
    const next = applyPatchExact(text, rev.patch).text;
    return !rev.hash || crc32Hex(next) === rev.hash ? next : null;
  } catch {
    return null;
  }
}

/**
 * Texts of versions, a few cached. Version v comes from v-1's cached text plus revision v's
 * patch when both are at hand (playing forward costs no request), else from the server.
 */
export class VersionTexts {
  /**
   * @param {(v: number) => Promise<string>} fetchVersion
   * @param {RevisionPages} pages
   * @param {number} [size]  texts kept
   */
  constructor(fetchVersion, pages, size = 16) {
    this.fetchVersion = fetchVersion;
    this.pages = pages;
    this.cache = new LruCache(size);
    this.cache.set(0, ''); // every document starts empty
    this.loading = new Map();
    this.fetches = 0; // requests made (for tests and the curious)
  }

  peek(v) {
    return this.cache.get(v);
  }

  put(v, text) {
    this.cache.set(v, text);
  }

  async get(v) {
    const have = this.cache.get(v);
    if (have !== undefined) return have;
    const prev = this.cache.get(v - 1);
    if (prev !== undefined) {
      const next = stepForward(prev, this.pages.get(v));
      if (next !== null) return this.cache.set(v, next);
    }
    if (this.loading.has(v)) return this.loading.get(v);
    this.fetches++;
    const promise = this.fetchVersion(v)
      .then((text) => this.cache.set(v, text))
      .finally(() => this.loading.delete(v));
    this.loading.set(v, promise);
    return promise;
  }
}

// ---- blame and diff as text segments ----

/**
 * Blame spans ({start, end, version, author, account?}, code points covering the text) as
 * segments [{text, author, version}] of `text`, `author` as `name(span)` shows it (the page
 * passes dom.js personName: a guest marked when sign-in is on). Text the spans do not cover (they always should)
 * comes out as one segment with author null.
 */
export function blameSegments(text, spans, name = (s) => s.author) {
  const out = [];
  let unit = 0; // UTF-16 index reached
  let cp = 0; // its code point offset
  for (const s of spans) {
    if (s.end <= s.start || s.start < cp) continue;
    if (s.start > cp) {
      const u = cpToUtf16(text, s.start, unit, cp);
      out.push({ text: text.slice(unit, u), author: null, version: null });
      unit = u;
      cp = s.start;
    }
    const end = cpToUtf16(text, s.end, unit, cp);
    if (end > unit) out.push({ text: text.slice(unit, end), author: name(s), version: s.version });
    unit = end;
    cp = s.end;
    if (unit >= text.length) break;
  }
  if (unit < text.length) out.push({ text: text.slice(unit), author: null, version: null });
  return out;
}

/**
 * The edits of GET /diff ({pos (code points on `oldText`), delete, insert}, in order) as
 * segments [{op: 'equal'|'delete'|'insert', text}] that spell oldText with the deletions and
 * the new text with the insertions.
 */
export function diffSegments(oldText, edits) {
  const out = [];
  let unit = 0;
  let cp = 0;
  const push = (op, t) => {
    if (!t) return;
    const last = out[out.length - 1];
    if (last && last.op === op) last.text += t;
    else out.push({ op, text: t });
  };
  for (const e of edits) {
    const at = cpToUtf16(oldText, e.pos, unit, cp);
    push('equal', oldText.slice(unit, at));
    const del = e.delete || '';
    const after = at + del.length;
    if (oldText.slice(at, after) !== del) throw new Error(`the diff does not match the text at ${e.pos}`);
    push('delete', del);
    push('insert', e.insert || '');
    unit = after;
    cp = e.pos + [...del].length;
  }
  push('equal', oldText.slice(unit));
  return out;
}

/** Side by side: the old text with its deletions, the new text with its insertions. */
export function splitSides(segments) {
  return {
    left: segments.filter((s) => s.op !== 'insert'),
    right: segments.filter((s) => s.op !== 'delete'),
  };
}

/**
 * Long unchanged stretches shortened to `keep` lines at each end that touches a change:
 * [{op:'equal', text}] | [{op:'equal', text}, {op:'skip', lines}, {op:'equal', text}].
 */
export function collapseEqual(segments, keep = 3) {
  const out = [];
  segments.forEach((s, i) => {
    if (s.op !== 'equal') return out.push(s);
    const lines = s.text.split('\n');
    const before = i > 0; // a change comes before: keep the first lines
    const after = i < segments.length - 1; // and after: keep the last lines
    const head = before ? keep : 0;
    const tail = after ? keep : 0;
    if (lines.length - head - tail <= 2) return out.push(s);
    const top = lines.slice(0, head).join('\n') + (head ? '\n' : '');
    const bottom = (tail ? '\n' : '') + lines.slice(lines.length - tail).join('\n');
    // the hidden part is whole lines: the line a change sits on always stays visible
    if (head) out.push({ op: 'equal', text: top });
    out.push({ op: 'skip', lines: lines.length - head - tail, text: lines.slice(head, lines.length - tail).join('\n') });
    if (tail) out.push({ op: 'equal', text: bottom });
  });
  return out;
}

/** "3 insertions, 1 deletion" counts (code points) of a diff's segments. */
export function diffStats(segments) {
  let inserted = 0;
  let deleted = 0;
  for (const s of segments) {
    if (s.op === 'insert') inserted += [...s.text].length;
    else if (s.op === 'delete') deleted += [...s.text].length;
  }
  return { inserted, deleted };
}
