// core/: pure. No DOM, no socket, no storage, no network.
// A document's title, as people would name it: its first heading (`# Plan`, or a line
// underlined with === or ---), else its first line of text; Markdown's marks taken off,
// at most TITLE_MAX characters. Only the first SCAN characters are read, so a
// keystroke in a 4 M character document costs the same as in a small one.

export const TITLE_MAX = 80;
const SCAN = 65536;

function plain(line) {
  return line
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]*>/g, '') // raw HTML tags
    .replace(/[*_`~]+/g, '') // emphasis, code, strike-through marks
    .replace(/\s+/g, ' ')
    .trim();
}

function clip(s) {
  const cps = Array.from(s);
  return cps.length <= TITLE_MAX ? s : cps.slice(0, TITLE_MAX - 1).join('').trimEnd() + '…';
}

export function titleOf(text) {
  const lines = text.slice(0, SCAN).split('\n');
  let first = '';
  let fence = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^\s{0,3}(```|~~~)/.test(line)) fence = !fence;
    if (fence) continue;
    const atx = /^\s{0,3}#{1,6}\s+(.*?)(\s+#+\s*)?$/.exec(line);
    if (atx && plain(atx[1])) return clip(plain(atx[1]));
    const next = lines[i + 1];
    if (plain(line) && next !== undefined && /^\s{0,3}(=+|-+)\s*$/.test(next) && !/^\s*[-*+]\s/.test(line)) return clip(plain(line));
    if (!first && !/^\s{0,3}(```|~~~)/.test(line)) first = plain(line.replace(/^\s*([-*+>]|\d+[.)])\s+/, '').replace(/^\[[ xX]\]\s+/, ''));
  }
  return clip(first);
}
