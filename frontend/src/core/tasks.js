// Markdown task lists (`- [ ] to do`): the edit that ticks or unticks one, for the preview's
// checkboxes. core/: pure. No DOM, no socket, no storage, no network, no timer.

const TASK_RE = /^(\s*(?:>\s*)*(?:[-*+]|\d{1,9}[.)])\s+\[)([ xX])\]/;

/**
 * The edit that ticks or unticks the task on source line `line` (0-based, as markdown-it counts):
 * {from, to, insert} in UTF-16 offsets of `text`, or null when that line holds no task (the
 * preview is older than the text, or the checkbox was raw HTML).
 */
export function taskToggle(text, line) {
  let start = 0;
  for (let i = 0; i < line; i++) {
    start = text.indexOf('\n', start) + 1;
    if (start === 0) return null;
  }
  const end = text.indexOf('\n', start);
  const m = TASK_RE.exec(text.slice(start, end < 0 ? text.length : end));
  if (!m) return null;
  const from = start + m[1].length;
  return { from, to: from + 1, insert: m[2] === ' ' ? 'x' : ' ' };
}
