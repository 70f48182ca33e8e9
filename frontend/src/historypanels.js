// Parts of the history page that work on two versions: compare (inline or side by side) and
// revert an author (preview, then apply); plus the API calls and time format the page shares.
// Every user string goes in as text (text nodes, textContent, attributes), never as HTML.
//
// No state of its own beyond each panel's last result: the page passes what it knows in a
// context object (see history.js), as it does to every part of the page.

import { el } from './dom.js';
import { clamp, collapseEqual, diffSegments, diffStats, splitSides } from './timeline.js';

export function formatTime(ts) {
  if (typeof ts !== 'number') return '';
  const d = new Date(ts * 1000);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

class ApiError extends Error {
  constructor(status, error) {
    super(error && error.message ? error.message : `HTTP ${status}`);
    this.status = status;
    this.code = error && error.code;
  }
}

/** JSON calls to /api/docs/<key><path>; a failure throws ApiError with the server's message. */
export function makeApi(base) {
  return async function api(path, opts = {}) {
    const init = { ...opts, headers: { Accept: 'application/json', ...(opts.body ? { 'Content-Type': 'application/json' } : {}) } };
    const r = await fetch(base + path, init);
    let data = null;
    try {
      data = await r.json();
    } catch {
      /* not JSON */
    }
    if (!r.ok) throw new ApiError(r.status, data && data.error);
    return data;
  };
}

/** Diff segments as nodes: <ins>, <del>, a note for collapsed unchanged lines, text. */
export function renderSegments(segments, all) {
  const list = all ? segments : collapseEqual(segments, 3);
  return list.map((s) => {
    if (s.op === 'insert') return el('ins', {}, s.text);
    if (s.op === 'delete') return el('del', {}, s.text);
    if (s.op === 'skip') return el('span', { class: 'skip', title: 'unchanged' }, `⋯ ${s.lines} unchanged line${s.lines === 1 ? '' : 's'} ⋯`);
    return s.text;
  });
}

/**
 * What the history page shares with its parts (history.js makes it).
 * @typedef {object} Context
 * @property {(path: string, opts?: object) => Promise<any>} api
 * @property {import('./timeline.js').VersionTexts} texts
 * @property {import('./timeline.js').RevisionPages} pages
 * @property {() => number} current   the slider's version
 * @property {() => number} head
 * @property {() => number | null} created   the document's creation time (version 0)
 * @property {() => boolean} playing
 * @property {(message: string, o?: object) => void} say
 * @property {(reason: string, on: boolean) => void} setBusy
 * @property {(version: number, o?: {fromHash?: boolean}) => void} select   move the slider
 * @property {(on: boolean) => void} setPlaying
 * @property {() => Promise<void>} refresh   learn the newest head from the server
 * @property {(version: number) => void} written   a write made version `version`
 */

/** The compare pane: from / to, inline or side by side, collapsed or all text. */
export function comparePanel(/** @type {Context} */ ctx) {
  const from = el('input', { id: 'cmp-from', type: 'number', min: '0', value: '0', 'aria-label': 'Compare from version' });
  const to = el('input', { id: 'cmp-to', type: 'number', min: '0', value: '0', 'aria-label': 'Compare to version' });
  const mode = el('select', { id: 'cmp-mode', 'aria-label': 'Layout' }, el('option', { value: 'inline' }, 'Inline'), el('option', { value: 'side' }, 'Side by side'));
  const all = el('input', { id: 'cmp-all', type: 'checkbox' });
  const stats = el('span', { id: 'cmp-stats', class: 'muted' });
  const out = el('div', { id: 'cmp-out', class: 'cmp-out' });
  const pane = el(
    'section',
    { id: 'compare-pane', class: 'hist-pane', hidden: true },
    el(
      'form',
      { class: 'cmp-form', onsubmit: (e) => (e.preventDefault(), run()) },
      el('label', {}, 'From v', from),
      el('button', { type: 'button', class: 'link', onclick: () => (from.value = String(ctx.current())) }, '= slider'),
      el('label', {}, 'to v', to),
      el('button', { type: 'button', class: 'link', onclick: () => (to.value = String(ctx.current())) }, '= slider'),
      mode,
      el('label', { title: 'Show unchanged text in full' }, all, ' all text'),
      el('button', { id: 'cmp-run', type: 'submit', class: 'primary' }, 'Compare'),
      stats,
    ),
    out,
  );
  let last = null; // {from, to, segments}
  let seq = 0;
  mode.addEventListener('change', () => last && render());
  all.addEventListener('change', () => last && render());

  async function run() {
    const a = clamp(Number(from.value) || 0, 0, ctx.head());
    const b = clamp(Number(to.value) || 0, 0, ctx.head());
    from.value = String(a);
    to.value = String(b);
    const mine = ++seq;
    out.dataset.state = 'loading';
    ctx.setBusy('compare', true);
    try {
      const [d, oldText] = await Promise.all([ctx.api(`/diff?from=${a}&to=${b}`), ctx.texts.get(a)]);
      if (mine !== seq) return;
      // the server's edits, shown as they are and counted as they are: widened to whole words
      // here, an insert after a word read as that word deleted and typed again ("+115 −5" where
      // /diff says "+111 −0"). One diff, the server's: what Compare shows is what /diff says.
      last = { from: a, to: b, segments: diffSegments(oldText, d.edits) };
      render();
    } catch (e) {
      if (mine === seq) {
        out.dataset.state = 'error';
        ctx.say(`Could not compare v${a} with v${b}: ${e.message}`, { error: true });
      }
    } finally {
      if (mine === seq) ctx.setBusy('compare', false);
    }
  }

  function render() {
    const { segments } = last;
    const { inserted, deleted } = diffStats(segments);
    stats.textContent = `v${last.from} → v${last.to}: +${inserted} −${deleted} characters`;
    out.dataset.from = String(last.from);
    out.dataset.to = String(last.to);
    if (!inserted && !deleted) {
      out.replaceChildren(el('p', { class: 'muted' }, `No differences between v${last.from} and v${last.to}.`));
    } else if (mode.value === 'side') {
      const { left, right } = splitSides(segments);
      out.replaceChildren(
        el(
          'div',
          { class: 'side-by-side' },
          el('div', {}, el('h3', {}, `v${last.from}`), el('pre', { class: 'diff', id: 'cmp-left' }, ...renderSegments(left, all.checked))),
          el('div', {}, el('h3', {}, `v${last.to}`), el('pre', { class: 'diff', id: 'cmp-right' }, ...renderSegments(right, all.checked))),
        ),
      );
    } else {
      out.replaceChildren(el('pre', { class: 'diff', id: 'cmp-inline' }, ...renderSegments(segments, all.checked)));
    }
    out.dataset.state = 'done';
  }

  let opened = false;
  return {
    pane,
    /** Shown for the first time: compare the slider's step (v-1 -> v). */
    opened() {
      if (opened) return;
      opened = true;
      from.value = String(Math.max(0, ctx.current() - 1));
      to.value = String(ctx.current());
      run();
    },
    setHead(head) {
      from.max = to.max = String(head);
    },
  };
}

/** Revert an author's changes since the slider's version: a preview, then (editors) apply.
 * What the buttons do is historyrevert.js, loaded on first use. */
export function revertPanel(/** @type {Context} */ ctx, { canWrite }) {
  const authors = el('datalist', { id: 'authors' });
  const author = el('input', { id: 'revert-author', list: 'authors', maxlength: '80', placeholder: 'author name', 'aria-label': 'Author whose changes to revert' });
  const preview = el('button', { id: 'revert-preview', type: 'button' }, 'Preview');
  const apply = el('button', { id: 'revert-apply', type: 'button', class: 'primary', hidden: true }, 'Apply revert');
  const out = el('div', { id: 'revert-out', class: 'cmp-out small' });
  let who = new Map(); // who.get(name shown) = {author} of a guest, or {account} of a signed-in person
  const panel = { ctx, canWrite, author, apply, out, who: () => who, plan: null, diff: { diffSegments, diffStats, renderSegments } };
  const run = (name) => () => import('./historyrevert.js').then((m) => m[name](panel));
  preview.addEventListener('click', run('preview'));
  apply.addEventListener('click', run('apply'));

  let known = '';
  return {
    elements: [
      el('p', { class: 'muted small' }, 'Take out one author’s changes made since the version on the slider, keeping everyone else’s later work.'),
      el('div', { class: 'row' }, author, authors, preview, canWrite ? apply : null),
      out,
    ],
    /** Offer these people in the author field: a Map of the name shown to who it is. */
    setAuthors(people) {
      const list = [...people.keys()].sort();
      const sig = JSON.stringify(list);
      who = people;
      if (sig === known) return;
      known = sig;
      authors.replaceChildren(...list.map((n) => el('option', { value: n })));
    },
  };
}
