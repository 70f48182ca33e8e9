// The history page's sidebar panels that write (editors only, the server checks): restore the
// slider's version as a new one, and named versions (labels), which also mark the slider.
// Every user string goes in as text, never as HTML.

import { el, savedName } from './dom.js';

// the account's name when signed in (account.js made the field read-only: the server credits
// the account, whatever the request's `name`), else this browser's guest name
const whoRestores = () => {
  const field = document.getElementById('name');
  return field && field.readOnly ? field.value : savedName();
};

/**
 * Restore: asks first, then makes the slider's version the current text as a new version.
 * @param {import('./historypanels.js').Context} ctx
 */
export function restorePanel(ctx) {
  const button = el('button', { id: 'restore', type: 'button' }, 'Restore this version…');
  const confirm = el('button', { id: 'restore-confirm', type: 'button', class: 'primary' }, 'Restore');
  const cancel = el('button', { id: 'restore-cancel', type: 'button' }, 'Cancel');
  const question = el('span', { id: 'restore-question' });
  const ask = el('div', { id: 'restore-ask', class: 'ask', hidden: true }, question, ' ', confirm, cancel);

  button.addEventListener('click', () => {
    question.textContent = `Make the text of v${ctx.current()} the current text again, as a new version v${ctx.head() + 1} by ${whoRestores()}? Nothing is lost: history stays.`;
    ask.hidden = false;
    confirm.dataset.version = String(ctx.current());
    confirm.focus();
  });
  cancel.addEventListener('click', () => (ask.hidden = true));
  confirm.addEventListener('click', async () => {
    const v = Number(confirm.dataset.version);
    confirm.disabled = true;
    try {
      const r = await ctx.api('/restore', { method: 'POST', body: JSON.stringify({ version: v, name: savedName() }) });
      ask.hidden = true;
      if (r.unchanged) ctx.say(`The text already is that of v${v}: nothing to restore.`);
      else {
        await ctx.refresh();
        ctx.say(`Restored v${v} as the new version v${r.version}. Everyone editing sees it now.`);
        ctx.written(r.version);
      }
    } catch (e) {
      ctx.say(`Could not restore v${v}: ${e.message}`, { error: true });
    } finally {
      confirm.disabled = false;
    }
  });

  return {
    elements: [button, ask],
    /** The slider is at `current` of `head`. */
    show(current, head) {
      button.disabled = current >= head;
      button.title = current >= head ? 'This already is the current version' : '';
    },
    /** A version was selected: a question asked before is for another one. */
    dismiss() {
      ask.hidden = true;
    },
  };
}

/**
 * Named versions: the list (each opens its version; editors may remove it), the form that names
 * the slider's version, and the slider's marks.
 * @param {import('./historypanels.js').Context} ctx
 */
export function labelsPanel(ctx, { canWrite }) {
  const list = el('ul', { id: 'labels', class: 'labels' });
  const name = el('input', { id: 'label-name', maxlength: '64', placeholder: 'name this version', 'aria-label': 'Label for this version' });
  const add = el('button', { id: 'label-add', type: 'submit' }, 'Add label');
  const ticks = el('datalist', { id: 'label-ticks' });

  async function load() {
    try {
      const { labels } = await ctx.api('/labels');
      list.replaceChildren(...(labels.length ? labels.map(item) : [el('li', { class: 'muted' }, 'None yet.')]));
      ticks.replaceChildren(...labels.map((l) => el('option', { value: String(l.version), label: l.name })));
    } catch (e) {
      ctx.say(`Could not load the named versions: ${e.message}`, { error: true });
    }
  }

  function item(l) {
    return el(
      'li',
      { 'data-version': String(l.version) },
      el('button', { type: 'button', class: 'link label-jump', title: `Open v${l.version}`, onclick: () => (ctx.setPlaying(false), ctx.select(l.version)) }, l.name),
      el('span', { class: 'muted' }, ` v${l.version}`),
      canWrite ? el('button', { type: 'button', class: 'link label-delete', title: `Remove the label “${l.name}”`, 'aria-label': `Remove the label ${l.name}`, onclick: () => remove(l.name) }, '×') : null,
    );
  }

  async function addLabel() {
    const label = name.value.trim();
    if (!label) return;
    try {
      await ctx.api('/labels', { method: 'POST', body: JSON.stringify({ version: ctx.current(), name: label }) });
      name.value = '';
      await load();
    } catch (e) {
      ctx.say(`Could not add the label: ${e.message}`, { error: true });
    }
  }

  async function remove(label) {
    try {
      await ctx.api(`/labels/${encodeURIComponent(label)}`, { method: 'DELETE' });
      await load();
    } catch (e) {
      ctx.say(`Could not remove the label: ${e.message}`, { error: true });
    }
  }

  return {
    elements: [list, canWrite ? el('form', { class: 'row', onsubmit: (e) => (e.preventDefault(), addLabel()) }, name, add) : null],
    ticks,
    load,
  };
}
