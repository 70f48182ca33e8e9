// Builds the browser client into dist/: app.js (editor + viewer) and history.js (the history
// page) with the chunks they share (core/, diff-match-patch, dom.js) and the lazily loaded one
// (the Markdown preview); start.js (the start page, one file); theme.js; app.css and sw.js. Prints the sizes.
//   node build.mjs            minified production build
//   node build.mjs --dev      with source maps, not minified

import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dev = process.argv.includes('--dev');
const out = new URL('./dist/', import.meta.url).pathname;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// lang-markdown's own imports of lang-html and autocomplete go to a stub: see src/stubs/markdown-html.js
const markdownWithoutHtml = {
  name: 'markdown-without-html',
  setup(b) {
    b.onResolve({ filter: /^@codemirror\/(lang-html|autocomplete)$/ }, (args) =>
      args.importer.includes('@codemirror/lang-markdown') ? { path: new URL('./src/stubs/markdown-html.js', import.meta.url).pathname } : undefined,
    );
    // and language-data's lazy lang-markdown (for ```markdown blocks): see src/stubs/markdown-in-code.js
    b.onResolve({ filter: /^@codemirror\/lang-markdown$/ }, (args) =>
      args.importer.includes('@codemirror/language-data') ? { path: new URL('./src/stubs/markdown-in-code.js', import.meta.url).pathname } : undefined,
    );
  },
};
// katex: one copy for the math plugin (which requires it) and for Mermaid (which imports it)
const common = { bundle: true, format: 'esm', target: ['es2020'], minify: !dev, sourcemap: dev, legalComments: 'linked', logLevel: 'warning', alias: { katex: 'katex/dist/katex.mjs' }, plugins: [markdownWithoutHtml] };
// The editor and the history page share the core, diff-match-patch and dom.js in chunks. The
// start page is one file of its own: it needs only el() from dom.js, and a chunk shared by all
// three pages would cost the editor's first load one more request and the start page two.
const pages = await build({ ...common, entryPoints: { app: 'src/main.js', history: 'src/history.js' }, splitting: true, outdir: out, chunkNames: 'chunks/[name]-[hash]', metafile: true });
await build({ ...common, entryPoints: { start: 'src/start.js' }, outdir: out });
copyFileSync('src/style.css', join(out, 'app.css'));
copyFileSync('src/preview.css', join(out, 'preview.css')); // loaded by preview.js
// theme.js: a classic script every page's <head> runs before the first paint (not a module: it must block)
await build({ ...common, bundle: false, alias: undefined, plugins: [], format: 'iife', entryPoints: { theme: 'src/theme.js' }, outdir: out });
// The service worker keeps what a page needs to open offline: the pages' files, their static
// imports and the preview's. The preview's extras (code highlighting, math, diagrams: megabytes)
// are fetched on first use only, and kept by the worker from then on as every fetched asset is.
const outputs = pages.metafile.outputs;
const keep = new Set(['start.js', 'theme.js', 'app.css', 'preview.css']);
const reach = (file) => {
  const rel = file.slice(file.indexOf('dist/') + 'dist/'.length);
  if (keep.has(rel)) return;
  keep.add(rel);
  for (const i of outputs[file].imports) if (i.kind === 'import-statement') reach(i.path);
};
for (const [file, o] of Object.entries(outputs)) {
  if (/\.js$/.test(file) && (o.entryPoint === 'src/main.js' || o.entryPoint === 'src/history.js' || o.entryPoint === 'src/preview.js')) reach(file);
}
const files = [...keep].map((f) => `/assets/${f}`);
// What a page loads before it can show anything: its entry and everything that imports
// statically, gzipped. Written to dist/firstload.json (tests/test_bundle.py holds the budget).
const firstLoad = {};
for (const [name, entry] of [['editor', 'src/main.js'], ['history', 'src/history.js']]) {
  const seen = new Set();
  const walk = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const i of outputs[file].imports) if (i.kind === 'import-statement') walk(i.path);
  };
  walk(Object.keys(outputs).find((f) => outputs[f].entryPoint === entry && f.endsWith('.js')));
  firstLoad[name] = [...seen].reduce((n, f) => n + gzipSync(readFileSync(f)).length, 0) + gzipSync(readFileSync('src/style.css')).length;
}
await build({
  entryPoints: ['src/sw.js'],
  outfile: join(out, 'sw.js'),
  minify: !dev,
  define: { PRECACHE: JSON.stringify(files) },
  logLevel: 'warning',
});

const rows = [];
(function walk(dir) {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) walk(p);
    else if (/\.(js|css)$/.test(f)) rows.push([p.slice(out.length), statSync(p).size, gzipSync(readFileSync(p)).length]);
  }
})(out);
for (const [f, size, gz] of rows) console.log(`${f.padEnd(40)} ${(size / 1024).toFixed(1).padStart(8)} KiB  ${(gz / 1024).toFixed(1).padStart(7)} KiB gzip`);
writeFileSync(join(out, 'firstload.json'), JSON.stringify(firstLoad));
if (process.env.META) writeFileSync(process.env.META, JSON.stringify(pages.metafile));
console.log(`first load (entry + static imports + app.css, gzip): editor ${(firstLoad.editor / 1024).toFixed(1)} KiB, history ${(firstLoad.history / 1024).toFixed(1)} KiB`);
