// The history page (/d/<id>/history, read-only at /v/<token>/history): a timeline slider over
// every version with play / pause / speed and keyboard control, the text of the selected
// version coloured by author (blame, asked for only when the slider rests), a link to each
// point (#v=N), compare two versions inline or side by side, restore, revert an author with a
// preview, named versions and export.
//
// Paged: the head comes from GET /api/docs/<doc>, a version's text from /versions/<v> (or from
// the text before it plus its revision's patch), per-step author and time from /revisions
// pages around the slider (timeline.js). Compare and revert live in historypanels.js.
// Every user string goes in as text, never as HTML.

import { colorFor, el, savedName } from './dom.js';
import { ApiError, comparePanel, formatTime, makeApi, revertPanel } from './historypanels.js';
import { LruCache, RevisionPages, VersionTexts, blameSegments, clamp, parseHash, versionHash } from './timeline.js';

const REST_MS = 300; // the slider is "resting" after this long without a move: then ask for blame
const POLL_MS = 5000; // how often to look for new revisions
const SPEEDS = [1, 2, 5, 10, 25, 50]; // steps per second while playing

function main() {
  const body = document.body;
  const editId = body.dataset.doc || null;
  const key = editId || body.dataset.view; // how this page names the document to the server
  const canWrite = Boolean(editId);
  const base = `/api/docs/${encodeURIComponent(key)}`;

  const api = makeApi(base);

  // ---- state ----
  let head = 0; // the newest version known
  let created = null; // the document's creation time (version 0)
  let current = 0; // the version on the slider
  let shown = -1; // the version whose text is on the page
  let playing = false;
  let playTimer = null;
  let restTimer = null;
  let blameAbort = null;
  const blames = new LruCache(6); // version -> spans
  const pages = new RevisionPages((since, limit) => api(`/revisions?since=${since}&limit=${limit}`), {
    onHead: (h) => setHead(h),
  });
  const texts = new VersionTexts(async (v) => (await api(`/versions/${v}`)).text, pages);
  const ctx = {
    api,
    texts,
    current: () => current,
    head: () => head,
    say: (...a) => say(...a),
    setBusy: (...a) => setBusy(...a),
    written: (v) => (setHead(v), select(v)),
  };
  const compare = comparePanel(ctx);
  const revert = revertPanel(ctx, { canWrite });

  // ---- page ----
  const back = el('a', { id: 'back', href: editId ? `/d/${encodeURIComponent(editId)}` : `/v/${encodeURIComponent(key)}`, class: 'button' }, canWrite ? '← Back to the editor' : '← Back to the document');
  const exportLinks = ['txt', 'md', 'html'].map((f) => el('a', { id: `export-${f}`, class: 'button', download: '', title: `Download this version as .${f}` }, `.${f}`));
  const bar = el(
    'header',
    { class: 'bar' },
    el('a', { href: '/', class: 'brand' }, 'collab'),
    el('span', { class: 'docname', title: canWrite ? key : 'read-only' }, canWrite ? key : 'Read-only'),
    el('strong', {}, 'History'),
    el('span', { class: 'spacer' }),
    el('span', { class: 'muted' }, 'Export'),
    ...exportLinks,
    back,
  );

  const playButton = el('button', { id: 'play', type: 'button', 'aria-pressed': 'false', title: 'Play / pause (space)' }, '▶ Play');
  const speedSelect = el('select', { id: 'speed', 'aria-label': 'Playback speed (steps per second)' }, ...SPEEDS.map((s) => el('option', { value: String(s), selected: s === 5 }, `${s}×`)));
  const ticks = el('datalist', { id: 'label-ticks' });
  const slider = el('input', { id: 'slider', type: 'range', min: '0', max: '0', step: '1', value: '0', list: 'label-ticks', 'aria-label': 'Version' });
  const prevButton = el('button', { id: 'prev', type: 'button', title: 'One step back (←)', 'aria-label': 'One step back' }, '◀');
  const nextButton = el('button', { id: 'next', type: 'button', title: 'One step forward (→)', 'aria-label': 'One step forward' }, '▶');
  const versionLabel = el('span', { id: 'version-label', class: 'version-label' }, 'v0 / 0');
  const permalink = el('a', { id: 'permalink', href: '#v=0', title: 'A link that opens the history exactly here' }, 'Link to this version');
  const timeline = el('section', { class: 'timeline', 'aria-label': 'Timeline' }, playButton, speedSelect, prevButton, slider, ticks, nextButton, versionLabel, permalink);

  const stepAuthor = el('span', { id: 'step-author', class: 'step-author' });
  const stepTime = el('span', { id: 'step-time', class: 'muted' });
  const busy = el('span', { id: 'busy', class: 'busy', role: 'status', hidden: true }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), el('span', { class: 'busy-text' }, 'Loading…'));
  const stepInfo = el('div', { id: 'step-info', class: 'step-info' }, stepAuthor, stepTime, busy);

  const notice = el('div', { id: 'hist-notice', class: 'notice', role: 'alert', hidden: true });

  // main area: the version, or a comparison
  const tabVersion = el('button', { id: 'tab-version', type: 'button', role: 'tab', 'aria-selected': 'true' }, 'Version');
  const tabCompare = el('button', { id: 'tab-compare', type: 'button', role: 'tab', 'aria-selected': 'false' }, 'Compare');
  const textView = el('pre', { id: 'hist-text', class: 'hist-text', 'data-version': '', 'data-state': 'loading', 'aria-live': 'polite' });
  const legend = el('ul', { id: 'legend', class: 'legend', 'aria-label': 'Authors' });
  const versionPane = el('section', { id: 'version-pane', class: 'hist-pane' }, legend, textView);

  // sidebar: nearby steps, restore, revert, named versions
  const steps = el('ol', { id: 'steps', class: 'steps', 'aria-label': 'Steps near this version' });

  const restoreButton = el('button', { id: 'restore', type: 'button' }, 'Restore this version…');
  const restoreConfirm = el('button', { id: 'restore-confirm', type: 'button', class: 'primary' }, 'Restore');
  const restoreCancel = el('button', { id: 'restore-cancel', type: 'button' }, 'Cancel');
  const restoreQuestion = el('span', { id: 'restore-question' });
  const restoreAsk = el('div', { id: 'restore-ask', class: 'ask', hidden: true }, restoreQuestion, ' ', restoreConfirm, restoreCancel);

  const labelList = el('ul', { id: 'labels', class: 'labels' });
  const labelName = el('input', { id: 'label-name', maxlength: '64', placeholder: 'name this version', 'aria-label': 'Label for this version' });
  const labelAdd = el('button', { id: 'label-add', type: 'submit' }, 'Add label');

  const sidebar = el(
    'aside',
    { class: 'hist-side' },
    el('h2', {}, 'Steps'),
    steps,
    el('h2', {}, 'Named versions'),
    labelList,
    canWrite ? el('form', { class: 'row', onsubmit: (e) => (e.preventDefault(), addLabel()) }, labelName, labelAdd) : null,
    canWrite ? el('h2', {}, 'Restore') : null,
    canWrite ? el('div', {}, restoreButton, restoreAsk) : null,
    el('h2', {}, 'Revert an author'),
    ...revert.elements,
  );

  const tabs = el('div', { class: 'tabs', role: 'tablist' }, tabVersion, tabCompare);
  body.append(bar, timeline, stepInfo, notice, el('main', { class: 'hist-main' }, el('div', { class: 'hist-center' }, tabs, versionPane, compare.pane), sidebar));

  // ---- messages ----
  let noticeTimer = null;
  function say(message, { error = false, sticky = false } = {}) {
    notice.textContent = message;
    notice.hidden = !message;
    notice.dataset.kind = error ? 'error' : 'info';
    clearTimeout(noticeTimer);
    if (message && !sticky) noticeTimer = setTimeout(() => (notice.hidden = true), error ? 10000 : 5000);
  }

  const busyReasons = new Set(); // what is being waited for; the spinner shows the first
  const BUSY_TEXT = { start: 'Loading…', text: 'Loading the text…', compare: 'Comparing…', revert: 'Preparing the preview…', blame: 'Colouring by author…' };
  function setBusy(reason, on) {
    if (on) busyReasons.add(reason);
    else busyReasons.delete(reason);
    busy.hidden = busyReasons.size === 0;
    const first = Object.keys(BUSY_TEXT).find((r) => busyReasons.has(r));
    if (first) busy.lastChild.textContent = BUSY_TEXT[first];
  }

  // ---- head ----
  function setHead(h) {
    if (typeof h !== 'number' || h <= head) return;
    head = h;
    slider.max = String(head);
    compare.setHead(head);
    showPosition();
  }

  // ---- selecting a version ----
  function select(v, { fromHash = false } = {}) {
    v = clamp(Math.round(v), 0, head);
    const moved = v !== current;
    current = v;
    if (String(slider.value) !== String(v)) slider.value = String(v);
    if (!fromHash && parseHash(location.hash) !== v) history.replaceState(null, '', versionHash(v));
    showPosition();
    if (moved || shown !== v) showVersion(v);
    scheduleBlame();
    restoreAsk.hidden = true;
  }

  function showPosition() {
    versionLabel.textContent = `v${current} / ${head}`;
    permalink.href = versionHash(current);
    for (const a of exportLinks) {
      const fmt = a.id.slice('export-'.length);
      a.href = `${base}/export?version=${current}&format=${fmt}`;
    }
    prevButton.disabled = current <= 0;
    nextButton.disabled = current >= head;
    restoreButton.disabled = current >= head;
    restoreButton.title = current >= head ? 'This already is the current version' : '';
    showStep();
  }

  function showStep() {
    const v = current;
    if (v === 0) {
      stepAuthor.replaceChildren('The empty document');
      stepTime.textContent = created ? `created ${formatTime(created)}` : '';
    } else {
      const rev = pages.get(v);
      if (rev) {
        stepAuthor.replaceChildren(el('span', { class: 'dot', style: `background:${colorFor(rev.author)}` }), rev.author);
        stepAuthor.title = `op ${rev.id}`;
        stepTime.textContent = formatTime(rev.ts);
      } else {
        stepAuthor.replaceChildren('…');
        stepTime.textContent = '';
        pages.ensure(v, head).then(() => current === v && showStep(), (e) => say(`Could not load the steps: ${e.message}`, { error: true }));
      }
    }
    showSteps();
  }

  function showSteps() {
    const lo = Math.max(0, current - 6);
    const hi = Math.min(head, current + 6);
    const rows = [];
    for (let v = hi; v >= lo; v--) {
      const rev = pages.get(v);
      const who = v === 0 ? 'created' : rev ? rev.author : '…';
      const li = el(
        'li',
        { class: v === current ? 'step current' : 'step', 'data-version': String(v) },
        el('button', { type: 'button', class: 'link', onclick: () => select(v) }, `v${v}`),
        v > 0 && rev ? el('span', { class: 'dot', style: `background:${colorFor(rev.author)}` }) : null,
        el('span', { class: 'who' }, who),
        el('span', { class: 'muted when', title: rev ? formatTime(rev.ts) : '' }, rev ? new Date(rev.ts * 1000).toLocaleTimeString() : ''),
      );
      rows.push(li);
    }
    steps.replaceChildren(...rows);
    updateAuthors();
  }

  function updateAuthors() {
    const names = new Set(pages.authors());
    for (const spans of blames.map.values()) for (const sp of spans) names.add(sp.author);
    revert.setAuthors(names);
  }

  let textSeq = 0;
  async function showVersion(v) {
    const seq = ++textSeq;
    textView.dataset.state = 'loading';
    setBusy('text', true);
    try {
      await pages.ensure(v, head).catch(() => {}); // metadata lets the next step come from a patch
      const text = await texts.get(v);
      if (seq !== textSeq) return;
      const spans = blames.get(v);
      renderText(v, text, spans);
    } catch (e) {
      if (seq === textSeq) say(`Could not load version ${v}: ${e.message}`, { error: true });
    } finally {
      if (seq === textSeq) setBusy('text', false);
    }
  }

  function renderText(v, text, spans) {
    shown = v;
    textView.dataset.version = String(v);
    if (spans) {
      const segs = blameSegments(text, spans);
      textView.replaceChildren(
        ...segs.map((s) =>
          s.author === null
            ? s.text
            : el('span', { class: s.version === v ? 'blame fresh' : 'blame', style: `--author:${colorFor(s.author)}`, title: `${s.author} · v${s.version}`, 'data-author': s.author }, s.text),
        ),
      );
      const counts = new Map();
      for (const s of segs) if (s.author !== null) counts.set(s.author, (counts.get(s.author) || 0) + [...s.text].length);
      legend.replaceChildren(
        ...[...counts.entries()]
          .sort((a, b) => b[1] - a[1])
          .map(([name, n]) => el('li', { title: `${n} characters` }, el('span', { class: 'dot', style: `background:${colorFor(name)}` }), name)),
      );
      textView.dataset.state = 'blame';
    } else {
      textView.textContent = text;
      textView.dataset.state = 'text';
    }
  }

  // ---- blame, only when the slider rests ----
  function scheduleBlame() {
    clearTimeout(restTimer);
    if (blameAbort) {
      blameAbort.abort();
      blameAbort = null;
      setBusy('blame', false);
    }
    if (playing) return;
    restTimer = setTimeout(loadBlame, REST_MS);
  }

  async function loadBlame() {
    const v = current;
    if (blames.has(v)) return applyBlame(v);
    const ctrl = new AbortController();
    blameAbort = ctrl;
    setBusy('blame', true);
    try {
      const r = await fetch(`${base}/blame?version=${v}`, { signal: ctrl.signal, headers: { Accept: 'application/json' } });
      const data = await r.json().catch(() => null);
      if (!r.ok) throw new ApiError(r.status, data && data.error);
      blames.set(v, data.spans);
      if (current === v) applyBlame(v);
    } catch (e) {
      if (e.name !== 'AbortError') say(`Could not colour version ${v} by author: ${e.message}`, { error: true });
    } finally {
      if (blameAbort === ctrl) {
        blameAbort = null;
        setBusy('blame', false);
      }
    }
  }

  async function applyBlame(v) {
    const text = await texts.get(v);
    if (current === v && !playing) renderText(v, text, blames.get(v));
    updateAuthors();
  }

  // ---- play / pause ----
  function setPlaying(on) {
    if (on && current >= head) select(0); // play from the start once at the end
    playing = on && head > 0;
    playButton.setAttribute('aria-pressed', String(playing));
    playButton.textContent = playing ? '❚❚ Pause' : '▶ Play';
    clearTimeout(playTimer);
    if (playing) tick();
    else scheduleBlame();
  }

  async function tick() {
    if (!playing) return;
    if (current >= head) return setPlaying(false);
    const started = performance.now();
    select(current + 1);
    // wait for this step's text before the next (a slow network slows playing, never piles up)
    try {
      await pages.ensure(current, head);
      await texts.get(current);
    } catch {
      return setPlaying(false);
    }
    if (!playing) return;
    const delay = 1000 / Number(speedSelect.value) - (performance.now() - started);
    playTimer = setTimeout(tick, Math.max(0, delay));
  }

  playButton.addEventListener('click', () => setPlaying(!playing));
  prevButton.addEventListener('click', () => (setPlaying(false), select(current - 1)));
  nextButton.addEventListener('click', () => (setPlaying(false), select(current + 1)));
  slider.addEventListener('input', () => {
    if (playing) setPlaying(false);
    select(Number(slider.value));
  });
  window.addEventListener('hashchange', () => {
    const v = parseHash(location.hash);
    if (v !== null && v !== current) select(v, { fromHash: true });
  });

  // keyboard: ← → step (Shift: 10), Home / End, space plays; typing in a field is left alone
  document.addEventListener('keydown', (e) => {
    const t = e.target;
    const typing = (t instanceof HTMLInputElement && t.type !== 'range') || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement;
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === ' ' || e.key === 'Spacebar') {
      if (t instanceof HTMLButtonElement || t instanceof HTMLAnchorElement) return; // activates it
      e.preventDefault();
      setPlaying(!playing);
      return;
    }
    const step = e.shiftKey ? 10 : 1;
    const to = { ArrowLeft: current - step, ArrowDown: current - step, ArrowRight: current + step, ArrowUp: current + step, Home: 0, End: head }[e.key];
    if (to === undefined) return;
    e.preventDefault(); // the range input would move too, by its own rules
    setPlaying(false);
    select(to);
  });

  // ---- compare ----
  function setTab(comparing) {
    tabVersion.setAttribute('aria-selected', String(!comparing));
    tabCompare.setAttribute('aria-selected', String(comparing));
    versionPane.hidden = comparing;
    compare.pane.hidden = !comparing;
  }
  tabVersion.addEventListener('click', () => setTab(false));
  tabCompare.addEventListener('click', () => {
    setTab(true);
    compare.opened();
  });

  // ---- restore ----
  restoreButton.addEventListener('click', () => {
    restoreQuestion.textContent = `Make the text of v${current} the current text again, as a new version v${head + 1}? Nothing is lost: history stays.`;
    restoreAsk.hidden = false;
    restoreConfirm.dataset.version = String(current);
    restoreConfirm.focus();
  });
  restoreCancel.addEventListener('click', () => (restoreAsk.hidden = true));
  restoreConfirm.addEventListener('click', async () => {
    const v = Number(restoreConfirm.dataset.version);
    restoreConfirm.disabled = true;
    try {
      const r = await api('/restore', { method: 'POST', body: JSON.stringify({ version: v, name: savedName() }) });
      restoreAsk.hidden = true;
      if (r.unchanged) say(`The text already is that of v${v}: nothing to restore.`);
      else {
        await refreshHead();
        setHead(r.version);
        say(`Restored v${v} as the new version v${r.version}. Everyone editing sees it now.`);
        select(r.version);
      }
    } catch (e) {
      say(`Could not restore v${v}: ${e.message}`, { error: true });
    } finally {
      restoreConfirm.disabled = false;
    }
  });

  // ---- named versions ----
  async function loadLabels() {
    try {
      const { labels } = await api('/labels');
      labelList.replaceChildren(
        ...(labels.length
          ? labels.map((l) =>
              el(
                'li',
                { 'data-version': String(l.version) },
                el('button', { type: 'button', class: 'link label-jump', title: `Open v${l.version}`, onclick: () => (setPlaying(false), select(l.version)) }, l.name),
                el('span', { class: 'muted' }, ` v${l.version}`),
                canWrite ? el('button', { type: 'button', class: 'link label-delete', title: `Remove the label “${l.name}”`, 'aria-label': `Remove the label ${l.name}`, onclick: () => deleteLabel(l.name) }, '×') : null,
              ),
            )
          : [el('li', { class: 'muted' }, 'None yet.')]),
      );
      ticks.replaceChildren(...labels.map((l) => el('option', { value: String(l.version), label: l.name })));
    } catch (e) {
      say(`Could not load the named versions: ${e.message}`, { error: true });
    }
  }

  async function addLabel() {
    const name = labelName.value.trim();
    if (!name) return;
    try {
      await api('/labels', { method: 'POST', body: JSON.stringify({ version: current, name }) });
      labelName.value = '';
      await loadLabels();
    } catch (e) {
      say(`Could not add the label: ${e.message}`, { error: true });
    }
  }

  async function deleteLabel(name) {
    try {
      await api(`/labels/${encodeURIComponent(name)}`, { method: 'DELETE' });
      await loadLabels();
    } catch (e) {
      say(`Could not remove the label: ${e.message}`, { error: true });
    }
  }

  // ---- new revisions made elsewhere ----
  async function refreshHead() {
    // one small page after the head: learns the new head and the new steps' metadata
    const r = await api(`/revisions?since=${head}&limit=${pages.pageSize}`);
    pages.add(r.revisions || []);
    setHead(r.version);
  }

  function poll() {
    setTimeout(async () => {
      if (document.visibilityState === 'visible') await refreshHead().catch(() => {});
      poll();
    }, POLL_MS);
  }

  // ---- start ----
  (async () => {
    textView.dataset.state = 'loading';
    setBusy('start', true);
    try {
      const d = await api('');
      created = d.created;
      head = -1;
      setHead(d.version);
      texts.put(d.version, d.text);
      const wanted = parseHash(location.hash);
      const v = wanted === null ? head : clamp(wanted, 0, head);
      if (wanted !== null && wanted > head) say(`Version ${wanted} does not exist yet: the newest is v${head}.`, { error: true });
      select(v, { fromHash: wanted === null || wanted === v }); // opening at the head pins nothing
      loadLabels();
      poll();
    } catch (e) {
      textView.dataset.state = 'error';
      say(e.status === 404 ? 'This document does not exist.' : `Could not open the history: ${e.message}`, { error: true, sticky: true });
    } finally {
      setBusy('start', false);
    }
  })();

  window.collabHistory = { select, get current() { return current; }, get head() { return head; }, texts, pages };
}

main();
