// The history page's timeline: the slider over every version, one step back and forward, play /
// pause at a chosen speed, the keyboard (← → step, Shift: 10, Home / End, space plays) and the
// `#v=N` link of the slider's version.

import { el } from './dom.js';
import { parseHash, versionHash } from './timeline.js';

const SPEEDS = [1, 2, 5, 10, 25, 50]; // steps per second while playing

/**
 * @param {import('./historypanels.js').Context} ctx
 * @param {{ticks: HTMLDataListElement, onPause: () => void}} o  the slider's marks (named
 *   versions); what to do once playing stops
 */
export function player(ctx, { ticks, onPause }) {
  const playButton = el('button', { id: 'play', type: 'button', 'aria-pressed': 'false', title: 'Play / pause (space)' }, '▶ Play');
  const speedSelect = el('select', { id: 'speed', 'aria-label': 'Playback speed (steps per second)' }, ...SPEEDS.map((s) => el('option', { value: String(s), selected: s === 5 }, `${s}×`)));
  const slider = el('input', { id: 'slider', type: 'range', min: '0', max: '0', step: '1', value: '0', list: ticks.id, 'aria-label': 'Version' });
  const prevButton = el('button', { id: 'prev', type: 'button', title: 'One step back (←)', 'aria-label': 'One step back' }, '◀');
  const nextButton = el('button', { id: 'next', type: 'button', title: 'One step forward (→)', 'aria-label': 'One step forward' }, '▶');
  const versionLabel = el('span', { id: 'version-label', class: 'version-label' }, 'v0 / 0');
  const permalink = el('a', { id: 'permalink', href: '#v=0', title: 'A link that opens the history exactly here' }, 'Link to this version');
  const element = el('section', { class: 'timeline', 'aria-label': 'Timeline' }, playButton, speedSelect, prevButton, slider, ticks, nextButton, versionLabel, permalink);

  let playing = false;
  let playTimer = null;

  function setPlaying(on) {
    if (on && ctx.current() >= ctx.head()) ctx.select(0); // play from the start once at the end
    playing = on && ctx.head() > 0;
    playButton.setAttribute('aria-pressed', String(playing));
    playButton.textContent = playing ? '❚❚ Pause' : '▶ Play';
    clearTimeout(playTimer);
    if (playing) tick();
    else onPause();
  }

  async function tick() {
    if (!playing) return;
    if (ctx.current() >= ctx.head()) return setPlaying(false);
    const started = performance.now();
    ctx.select(ctx.current() + 1);
    // wait for this step's text before the next (a slow network slows playing, never piles up)
    try {
      await ctx.pages.ensure(ctx.current(), ctx.head());
      await ctx.texts.get(ctx.current());
    } catch {
      return setPlaying(false);
    }
    if (!playing) return;
    const delay = 1000 / Number(speedSelect.value) - (performance.now() - started);
    playTimer = setTimeout(tick, Math.max(0, delay));
  }

  playButton.addEventListener('click', () => setPlaying(!playing));
  prevButton.addEventListener('click', () => (setPlaying(false), ctx.select(ctx.current() - 1)));
  nextButton.addEventListener('click', () => (setPlaying(false), ctx.select(ctx.current() + 1)));
  slider.addEventListener('input', () => {
    if (playing) setPlaying(false);
    ctx.select(Number(slider.value));
  });
  window.addEventListener('hashchange', () => {
    const v = parseHash(location.hash);
    if (v !== null && v !== ctx.current()) ctx.select(v, { fromHash: true });
  });

  // typing in a field is left alone
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
    const current = ctx.current();
    const step = e.shiftKey ? 10 : 1;
    const to = { ArrowLeft: current - step, ArrowDown: current - step, ArrowRight: current + step, ArrowUp: current + step, Home: 0, End: ctx.head() }[e.key];
    if (to === undefined) return;
    e.preventDefault(); // the range input would move too, by its own rules
    setPlaying(false);
    ctx.select(to);
  });

  return {
    element,
    get playing() {
      return playing;
    },
    setPlaying,
    /** Show the slider's version `current` of `head`. */
    show(current, head) {
      slider.max = String(head);
      if (String(slider.value) !== String(current)) slider.value = String(current);
      versionLabel.textContent = `v${current} / ${head}`;
      permalink.href = versionHash(current);
      prevButton.disabled = current <= 0;
      nextButton.disabled = current >= head;
    },
  };
}
