// Mermaid diagrams in the preview (```mermaid blocks), loaded by preview.js only once a document
// has one. Mermaid's strict security level escapes labels; its SVG is sanitised again by
// DOMPurify (SVG profile) before it is shown. Each diagram's SVG is kept by its source and
// theme, so typing elsewhere does not draw it again.

import DOMPurify from 'dompurify';
import mermaid from 'mermaid';

const drawn = new Map(); // theme + source -> sanitised SVG (or the error's text)
let count = 0;

// A diagram's layout runs on the page's thread (Mermaid needs the DOM): 495 edges froze a tab
// for 14 s. Past these a diagram is refused with Mermaid's own message.
const MAX_EDGES = 150;
const MAX_TEXT = 20_000;
// what a diagram's %%{init}%% directive may not change: its CSS (themeCSS could fetch any
// url()), fonts and theme, besides Mermaid's own secure keys
const SECURE = ['secure', 'securityLevel', 'startOnLoad', 'maxTextSize', 'maxEdges', 'suppressErrorRendering', 'theme', 'themeCSS', 'themeVariables', 'fontFamily', 'altFontFamily', 'htmlLabels', 'flowchart', 'darkMode'];
// a url() in the SVG's styles that is not a reference inside it (#marker): never fetched
const FOREIGN_URL = /url\(\s*(?!['"]?#)[^)]*\)/gi;

/** Replace each mermaid code block of `root` by its diagram; `dark` picks Mermaid's theme (print
 *  and exported pages ask for the light one). */
export async function renderDiagrams(root, dark) {
  const theme = dark ? 'dark' : 'default';
  for (const block of root.querySelectorAll('pre > code.language-mermaid')) {
    const source = block.textContent;
    const key = theme + '\n' + source;
    if (!drawn.has(key)) {
      mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme, htmlLabels: false, flowchart: { htmlLabels: false }, suppressErrorRendering: true, maxEdges: MAX_EDGES, maxTextSize: MAX_TEXT, secure: SECURE });
      try {
        const { svg } = await mermaid.render(`mermaid-${++count}`, source);
        drawn.set(key, { svg: DOMPurify.sanitize(svg, { USE_PROFILES: { svg: true, svgFilters: true }, ADD_TAGS: ['style'] }).replace(FOREIGN_URL, 'none') });
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
