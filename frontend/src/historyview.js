// The history page's view of the version on the slider: who made the step and when, the steps
// around it, and its text, coloured by author once the slider rests (blame is asked for only
// then: a slider dragged or playing would otherwise ask for every version it passes).
// Every user string goes in as text, never as HTML.

import { el, personName } from './dom.js';

// a person's colour, the editor's (historycolors.js, loaded at once): none until it is known
let authorColor = () => '';
import { formatTime } from './historypanels.js';
import { LruCache, blameSegments } from './timeline.js';

const REST_MS = 300; // the slider is "resting" after this long without a move: then ask for blame
const NEAR = 6; // steps listed on each side of the slider

/**
 * @param {import('./historypanels.js').Context} ctx
 * @param {{onAuthors: (people: Map<string, object>) => void}} o  the authors known so far, by the name shown (they grow)
 */
export function versionView(ctx, { onAuthors }) {
  const { pages, texts } = ctx;
  const stepAuthor = el('span', { id: 'step-author', class: 'step-author' });
  const stepTime = el('span', { id: 'step-time', class: 'muted' });
  const steps = el('ol', { id: 'steps', class: 'steps', 'aria-label': 'Steps near this version' });
  const textView = el('pre', { id: 'hist-text', class: 'hist-text', 'data-version': '', 'data-state': 'loading', 'aria-live': 'polite' });
  const legend = el('ul', { id: 'legend', class: 'legend', 'aria-label': 'Authors' });
  const pane = el('section', { id: 'version-pane', class: 'hist-pane' }, legend, textView);

  const blames = new LruCache(6); // version -> spans
  let shown = -1; // the version whose text is on the page
  let textSeq = 0;
  let restTimer = null;
  let blameAbort = null;
  import('./historycolors.js').then((m) => m.pageColors(ctx.api, personName)).then((paint) => {
    authorColor = paint;
    if (steps.firstChild) showStep(); // what is on the page takes its colours
    if (shown >= 0) applyBlame(shown);
  });

  // ---- the step: its author and time, and the steps around it ----
  function showStep() {
    const v = ctx.current();
    if (v === 0) {
      stepAuthor.replaceChildren('The empty document');
      const created = ctx.created();
      stepTime.textContent = created ? `created ${formatTime(created)}` : '';
    } else {
      const rev = pages.get(v);
      if (rev) {
        // with sign-in on (COLLAB_SIGN_IN): a signed-in author's revision carries `account`, set
        // by the server; a guest's does not, and says so (personName: "Ann (guest)")
        const shown = personName(rev);
        stepAuthor.replaceChildren(dot(shown), shown);
        stepAuthor.dataset.account = rev.account || ''; // (empty: a guest's, or sign-in off)
        stepAuthor.title = `op ${rev.id}`; // (the account id is in data-account)
        stepTime.textContent = formatTime(rev.ts);
      } else {
        stepAuthor.replaceChildren('…');
        stepTime.textContent = '';
        pages.ensure(v, ctx.head()).then(() => ctx.current() === v && showStep(), (e) => ctx.say(`Could not load the steps: ${e.message}`, { error: true }));
      }
    }
    showSteps();
  }

  function showSteps() {
    const current = ctx.current();
    const lo = Math.max(0, current - NEAR);
    const hi = Math.min(ctx.head(), current + NEAR);
    const rows = [];
    for (let v = hi; v >= lo; v--) {
      const rev = pages.get(v);
      const who = v === 0 ? 'created' : rev ? personName(rev) : '…';
      rows.push(
        el(
          'li',
          { class: v === current ? 'step current' : 'step', 'data-version': String(v) },
          el('button', { type: 'button', class: 'link', onclick: () => ctx.select(v) }, `v${v}`),
          v > 0 && rev ? dot(who) : null,
          el('span', { class: 'who' }, who),
          el('span', { class: 'muted when', title: rev ? formatTime(rev.ts) : '' }, rev ? new Date(rev.ts * 1000).toLocaleTimeString() : ''),
        ),
      );
    }
    steps.replaceChildren(...rows);
    updateAuthors();
  }

  function updateAuthors() {
    // each person once, by the name shown ("Ann", "Ann (guest)"): the revert panel asks by who it is
    const people = new Map();
    const add = (w) => people.set(personName(w), w.account ? { account: w.account } : { author: w.author });
    for (const w of pages.authors()) add(w);
    for (const spans of blames.map.values()) for (const sp of spans) add(sp);
    onAuthors(people);
  }

  // ---- the text ----
  async function showVersion(v) {
    const seq = ++textSeq;
    textView.dataset.state = 'loading';
    ctx.setBusy('text', true);
    try {
      await pages.ensure(v, ctx.head()).catch(() => {}); // metadata lets the next step come from a patch
      const text = await texts.get(v);
      if (seq !== textSeq) return;
      renderText(v, text, blames.get(v));
    } catch (e) {
      if (seq === textSeq) ctx.say(`Could not load version ${v}: ${e.message}`, { error: true });
    } finally {
      if (seq === textSeq) ctx.setBusy('text', false);
    }
  }

  function renderText(v, text, spans) {
    shown = v;
    textView.dataset.version = String(v);
    if (!spans) {
      textView.textContent = text;
      textView.dataset.state = 'text';
      return;
    }
    // by name as shown: a guest who calls themselves Ann is not coloured or counted as Ann
    const segs = blameSegments(text, spans, personName);
    textView.replaceChildren(
      ...segs.map((s) =>
        s.author === null
          ? s.text
          : el('span', { class: s.version === v ? 'blame fresh' : 'blame', style: `--author:${authorColor(s.author)}`, title: `${s.author} · v${s.version}`, 'data-author': s.author }, s.text),
      ),
    );
    const counts = new Map();
    for (const s of segs) if (s.author !== null) counts.set(s.author, (counts.get(s.author) || 0) + [...s.text].length);
    legend.replaceChildren(
      ...[...counts.entries()].sort((a, b) => b[1] - a[1]).map(([name, n]) => el('li', { title: `${n} characters` }, dot(name), name)),
    );
    textView.dataset.state = 'blame';
  }

  // ---- blame, only when the slider rests ----
  function scheduleBlame() {
    clearTimeout(restTimer);
    if (blameAbort) {
      blameAbort.abort();
      blameAbort = null;
      ctx.setBusy('blame', false);
    }
    if (ctx.playing()) return;
    restTimer = setTimeout(loadBlame, REST_MS);
  }

  async function loadBlame() {
    const v = ctx.current();
    if (blames.has(v)) return applyBlame(v);
    const ctrl = new AbortController();
    blameAbort = ctrl;
    ctx.setBusy('blame', true);
    try {
      const data = await ctx.api(`/blame?version=${v}`, { signal: ctrl.signal });
      blames.set(v, data.spans);
      if (ctx.current() === v) applyBlame(v);
    } catch (e) {
      if (e.name !== 'AbortError') ctx.say(`Could not colour version ${v} by author: ${e.message}`, { error: true });
    } finally {
      if (blameAbort === ctrl) {
        blameAbort = null;
        ctx.setBusy('blame', false);
      }
    }
  }

  async function applyBlame(v) {
    const text = await texts.get(v);
    if (ctx.current() === v && !ctx.playing()) renderText(v, text, blames.get(v));
    updateAuthors();
  }

  return {
    stepAuthor,
    stepTime,
    steps,
    pane,
    /** Who made the slider's step and when, and the steps around it. */
    showStep,
    /** The slider's text, if it `moved` or another one is shown. */
    showText({ moved }) {
      const v = ctx.current();
      if (moved || shown !== v) showVersion(v);
    },
    scheduleBlame,
    /** 'loading' before the first version is known, 'error' when the history cannot open. */
    setState(state) {
      textView.dataset.state = state;
    },
  };
}

function dot(name) {
  return el('span', { class: 'dot', style: `background:${authorColor(name)}` });
}
