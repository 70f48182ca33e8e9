// The history page's revert: preview one author's changes taken out since the slider's version,
// then (editors) apply it. Loaded on the first click of Preview (historypanels.js builds the panel).
// An author is who the name offered stands for: a signed-in person by their account (whatever
// names they had), a guest by their name (revisions without an account), so that "Ann (guest)"
// is never reverted with the account Ann, nor the other way round.

// The diff helpers come in `panel.diff` (historypanels.js and timeline.js are the page's first
// load: imported here, they would be split out of it into chunks of their own)
import { el, savedName } from './dom.js';

/** The query (and body) fields naming the author typed or picked. */
function whom(panel, name) {
  const w = panel.who().get(name);
  if (w && w.account) return { account: w.account };
  return { author: w ? w.author : name.replace(/ \(guest\)$/, '') };
}

export async function preview(panel) {
  const { ctx, author, apply, out } = panel;
  const { diffSegments, diffStats, renderSegments } = panel.diff;
  const name = author.value.trim();
  if (!name) return ctx.say('Name the author whose changes to revert.', { error: true });
  const since = ctx.current();
  apply.hidden = true;
  panel.plan = null;
  out.dataset.state = 'loading';
  ctx.setBusy('revert', true);
  try {
    const by = whom(panel, name);
    const p = await ctx.api(`/revert?${new URLSearchParams({ ...by, since })}`);
    const now = await ctx.texts.get(p.version);
    // the server's own edits, shown as they are: a diff made here (or widened to whole
    // words) would show text taken out and put back, promising to bring back what the
    // author never deleted. One computation: the preview is what the revert does.
    const segs = diffSegments(now, p.edits);
    const { inserted, deleted } = diffStats(segs);
    if (!inserted && !deleted) {
      out.replaceChildren(el('p', { class: 'muted' }, `${name} changed nothing since v${since} that is still there.`));
    } else {
      const back = inserted ? ` and bring back ${inserted} characters that ${name}’s changes took out` : '';
      out.replaceChildren(
        el('p', { class: 'small' }, `Reverting ${name}’s changes since v${since} would remove ${deleted} characters of v${p.version}${back}:`),
        el('pre', { class: 'diff', id: 'revert-diff' }, ...renderSegments(segs, false)),
      );
      panel.plan = { name, by, since, version: p.version };
      apply.hidden = !panel.canWrite;
    }
    out.dataset.state = 'done';
  } catch (e) {
    out.dataset.state = 'error';
    out.replaceChildren();
    ctx.say(`Could not preview the revert: ${e.message}`, { error: true });
  } finally {
    ctx.setBusy('revert', false);
  }
}

export async function apply(panel) {
  const { ctx, apply: button, out } = panel;
  const plan = panel.plan;
  if (!plan) return;
  button.disabled = true;
  try {
    const r = await ctx.api('/revert', { method: 'POST', body: JSON.stringify({ ...plan.by, since: plan.since, name: savedName() }) });
    button.hidden = true;
    out.replaceChildren();
    panel.plan = null;
    if (r.unchanged) ctx.say('Nothing to revert.');
    else {
      ctx.say(`Reverted ${plan.name}’s changes since v${plan.since} as the new version v${r.version}.`);
      ctx.written(r.version);
    }
  } catch (e) {
    ctx.say(`Could not revert: ${e.message}`, { error: true });
  } finally {
    button.disabled = false;
  }
}
