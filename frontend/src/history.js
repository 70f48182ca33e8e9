// The history page (/d/<id>/history, read-only at /v/<token>/history): a timeline slider over
// every version with play / pause / speed and keyboard control, the text of the selected
// version coloured by author (blame, asked for only when the slider rests), a link to each
// point (#v=N), compare two versions inline or side by side, restore, revert an author with a
// preview, named versions and export.
//
// Paged: the head comes from GET /api/docs/<doc>, a version's text from /versions/<v> (or from
// the text before it plus its revision's patch), per-step author and time from /revisions
// pages around the slider (timeline.js). This module holds what the parts share (the head, the
// slider's version) and lays them out: the timeline (historyplayer.js), the version on the
// slider (historyview.js), compare and revert (historypanels.js), restore and named versions
// (historyside.js). Every user string goes in as text, never as HTML.

import { el, nameField, themeToggle } from './dom.js';
import { comparePanel, makeApi, revertPanel } from './historypanels.js';
import { player } from './historyplayer.js';
import { labelsPanel, restorePanel } from './historyside.js';
import { versionView } from './historyview.js';
import { RevisionPages, VersionTexts, clamp, parseHash, versionHash } from './timeline.js';

const POLL_MS = 5000; // how often to look for new revisions
const BUSY_TEXT = { start: 'Loading…', text: 'Loading the text…', compare: 'Comparing…', revert: 'Preparing the preview…', blame: 'Colouring by author…' };

function main() {
  const body = document.body;
  const editId = body.dataset.doc || null;
  const key = editId || body.dataset.view; // how this page names the document to the server
  const canWrite = Boolean(editId);
  const base = `/api/docs/${encodeURIComponent(key)}`;
  const api = makeApi(base);

  // ---- what the parts share; only setHead and select change it ----
  let head = 0; // the newest version known
  let created = null; // the document's creation time (version 0)
  let current = 0; // the version on the slider
  const pages = new RevisionPages((since, limit) => api(`/revisions?since=${since}&limit=${limit}`), { onHead: (h) => setHead(h) });
  const texts = new VersionTexts(async (v) => (await api(`/versions/${v}`)).text, pages);
  const messages = noticeAndBusy();
  /** @type {import('./historypanels.js').Context} */
  const ctx = {
    api,
    texts,
    pages,
    current: () => current,
    head: () => head,
    created: () => created,
    playing: () => timeline.playing,
    say: messages.say,
    setBusy: messages.setBusy,
    select: (...a) => select(...a),
    setPlaying: (on) => timeline.setPlaying(on),
    refresh: () => refreshHead(),
    written: (v) => (setHead(v), select(v)),
  };

  // ---- the parts ----
  const compare = comparePanel(ctx);
  const revert = revertPanel(ctx, { canWrite });
  const restore = restorePanel(ctx);
  const labels = labelsPanel(ctx, { canWrite });
  const view = versionView(ctx, { onAuthors: (names) => revert.setAuthors(names) });
  const timeline = player(ctx, { ticks: labels.ticks, onPause: () => view.scheduleBlame() });
  const exports = exportLinks(base);
  const docname = el('span', { class: 'docname', title: canWrite ? key : 'read-only' }, canWrite ? key : 'Read-only');
  const showTitle = (t) => {
    if (!t) return;
    document.title = `${t} · history · collab`;
    docname.textContent = t;
    docname.classList.add('titled');
    docname.title = canWrite ? `${t} — ${key}` : `${t} — read-only`;
  };
  layout(body, { key, editId, canWrite, messages, compare, revert, restore, labels, view, timeline, exports, docname });

  function setHead(h) {
    if (typeof h !== 'number' || h <= head) return;
    head = h;
    compare.setHead(head);
    showPosition();
  }

  function select(v, { fromHash = false } = {}) {
    v = clamp(Math.round(v), 0, head);
    const moved = v !== current;
    current = v;
    if (!fromHash && parseHash(location.hash) !== v) history.replaceState(null, '', versionHash(v));
    showPosition();
    view.showText({ moved });
    view.scheduleBlame();
    restore.dismiss();
  }

  /** Every part that shows where the slider is (the text waits for a select). */
  function showPosition() {
    timeline.show(current, head);
    exports.show(current);
    restore.show(current, head);
    view.showStep();
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
    view.setState('loading');
    messages.setBusy('start', true);
    try {
      const d = await api('');
      created = d.created;
      head = -1;
      setHead(d.version);
      texts.put(d.version, d.text);
      if (d.title) showTitle(d.title); // the one its editors chose
      else import('./core/title.js').then(({ titleOf }) => showTitle(titleOf(d.text))); // its first heading (loaded apart)
      const wanted = parseHash(location.hash);
      const v = wanted === null ? head : clamp(wanted, 0, head);
      if (wanted !== null && wanted > head) messages.say(`Version ${wanted} does not exist yet: the newest is v${head}.`, { error: true });
      select(v, { fromHash: wanted === null || wanted === v }); // opening at the head pins nothing
      labels.load();
      poll();
    } catch (e) {
      view.setState('error');
      messages.say(e.status === 404 ? 'This document does not exist.' : `Could not open the history: ${e.message}`, { error: true, sticky: true });
    } finally {
      messages.setBusy('start', false);
    }
  })();

  window.collabHistory = { select, get current() { return current; }, get head() { return head; }, texts, pages };
}

/** The notice line (say) and the spinner that names the first thing being waited for (setBusy). */
function noticeAndBusy() {
  const notice = el('div', { id: 'hist-notice', class: 'notice', role: 'alert', hidden: true });
  const busy = el('span', { id: 'busy', class: 'busy', role: 'status', hidden: true }, el('span', { class: 'spinner', 'aria-hidden': 'true' }), el('span', { class: 'busy-text' }, 'Loading…'));
  let noticeTimer = null;
  const busyReasons = new Set(); // what is being waited for
  return {
    notice,
    busy,
    say(message, { error = false, sticky = false } = {}) {
      notice.textContent = message;
      notice.hidden = !message;
      notice.dataset.kind = error ? 'error' : 'info';
      clearTimeout(noticeTimer);
      if (message && !sticky) noticeTimer = setTimeout(() => (notice.hidden = true), error ? 10000 : 5000);
    },
    setBusy(reason, on) {
      if (on) busyReasons.add(reason);
      else busyReasons.delete(reason);
      busy.hidden = busyReasons.size === 0;
      const first = Object.keys(BUSY_TEXT).find((r) => busyReasons.has(r));
      if (first) busy.lastChild.textContent = BUSY_TEXT[first];
    },
  };
}

/** The export links of the slider's version, one per format. */
function exportLinks(base) {
  const links = ['txt', 'md', 'html'].map((f) => el('a', { id: `export-${f}`, class: 'button', download: '', title: `Download this version as .${f}` }, `.${f}`));
  return {
    elements: links,
    show(version) {
      for (const a of links) {
        const fmt = a.id.slice('export-'.length);
        a.href = `${base}/export?version=${version}&format=${fmt}`;
      }
    },
  };
}

/** The page: the bar, the timeline, the step, the notice, the version or comparison, the sidebar. */
function layout(body, p) {
  const { key, editId, canWrite } = p;
  const back = el('a', { id: 'back', href: editId ? `/d/${encodeURIComponent(editId)}` : `/v/${encodeURIComponent(key)}`, class: 'button' }, canWrite ? '← Back to the editor' : '← Back to the document');
  const whoAmI = nameField();
  // signed in (COLLAB_SIGN_IN): the account's name, read-only, and Sign out (account.js)
  if (canWrite && document.body.dataset.signIn) import('./account.js').then(({ accountControls }) => accountControls(whoAmI)).then((box) => box && whoAmI.parentElement && whoAmI.parentElement.after(box));
  const bar = el(
    'header',
    { class: 'bar' },
    el('a', { href: '/', class: 'brand' }, 'collab'),
    p.docname,
    el('strong', {}, 'History'),
    el('span', { class: 'spacer' }),
    el('span', { class: 'muted' }, 'Export'),
    ...p.exports.elements,
    back,
    // who restores and reverts: the editor's name, the same field (dom.js)
    canWrite ? el('label', { class: 'name', title: 'Restores and reverts you make are credited to this name' }, 'Your name ', whoAmI) : null,
    themeToggle(),
  );
  const stepInfo = el('div', { id: 'step-info', class: 'step-info' }, p.view.stepAuthor, p.view.stepTime, p.messages.busy);

  // the main area shows the version or a comparison
  const tabVersion = el('button', { id: 'tab-version', type: 'button', role: 'tab', 'aria-selected': 'true' }, 'Version');
  const tabCompare = el('button', { id: 'tab-compare', type: 'button', role: 'tab', 'aria-selected': 'false' }, 'Compare');
  const setTab = (comparing) => {
    tabVersion.setAttribute('aria-selected', String(!comparing));
    tabCompare.setAttribute('aria-selected', String(comparing));
    p.view.pane.hidden = comparing;
    p.compare.pane.hidden = !comparing;
  };
  tabVersion.addEventListener('click', () => setTab(false));
  tabCompare.addEventListener('click', () => {
    setTab(true);
    p.compare.opened();
  });
  const tabs = el('div', { class: 'tabs', role: 'tablist' }, tabVersion, tabCompare);

  const sidebar = el(
    'aside',
    { class: 'hist-side' },
    el('h2', {}, 'Steps'),
    p.view.steps,
    el('h2', {}, 'Named versions'),
    ...p.labels.elements,
    canWrite ? el('h2', {}, 'Restore') : null,
    canWrite ? el('div', {}, ...p.restore.elements) : null,
    el('h2', {}, 'Revert an author'),
    ...p.revert.elements,
  );
  body.append(bar, p.timeline.element, stepInfo, p.messages.notice, el('main', { class: 'hist-main' }, el('div', { class: 'hist-center' }, tabs, p.view.pane, p.compare.pane), sidebar));
}

main();
