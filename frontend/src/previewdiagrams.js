// Mermaid diagrams in the preview (```mermaid blocks), loaded by preview.js only once a document
// has one. Mermaid's strict security level escapes labels; its SVG is sanitised again by
// DOMPurify (SVG profile) before it is shown. Each diagram's SVG is kept by its source and
// theme, so typing elsewhere does not draw it again.

import DOMPurify from 'dompurify';
import mermaid from 'mermaid';

const drawn = new Map(); // theme + source -> sanitised SVG (or the error's text)
let count = 0;

/** Replace each mermaid code block of `root` by its diagram; `dark` picks Mermaid's theme. */
export async function renderDiagrams(root, dark) {
  const theme = dark ? 'dark' : 'default';
  for (const block of root.querySelectorAll('pre > code.language-mermaid')) {
    const source = block.textContent;
    const key = theme + '\n' + source;
    if (!drawn.has(key)) {
      mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme, htmlLabels: false, flowchart: { htmlLabels: false }, suppressErrorRendering: true });
      try {
        const { svg } = await mermaid.render(`mermaid-${++count}`, source);
        drawn.set(key, { svg: DOMPurify.sanitize(svg, { USE_PROFILES: { svg: true, svgFilters: true }, ADD_TAGS: ['style'] }) });
      } catch (e) {
        drawn.set(key, { error: String(e.message || e).split('\n')[0] });
      }
      if (drawn.size > 200) drawn.delete(drawn.keys().next().value);
    }
    const out = drawn.get(key);
    const pre = block.parentElement;
    if (!pre.isConnected && !root.contains(pre)) continue; // re-rendered meanwhile
    const figure = document.createElement('figure');
    figure.className = out.error ? 'diagram diagram-error' : 'diagram';
    if (out.error) figure.textContent = `Diagram not drawn: ${out.error}`;
    else figure.innerHTML = out.svg; // sanitised above
    pre.replaceWith(figure);
  }
}
