// Builds the browser client into dist/: app.js (editor + viewer) and history.js (the history
// page) with the chunks they share (core/, diff-match-patch, dom.js) and the lazily loaded one
// (the Markdown preview); start.js (the start page, one file); theme.js; app.css and sw.js. Prints the sizes.
//   node build.mjs            minified production build
//   node build.mjs --dev      with source maps, not minified

import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dev = process.argv.includes('--dev');
const out = new URL('./dist/', import.meta.url).pathname;
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const common = { bundle: true, format: 'esm', target: ['es2020'], minify: !dev, sourcemap: dev, legalComments: 'linked', logLevel: 'warning' };
// The editor and the history page share the core, diff-match-patch and dom.js in chunks. The
// start page is one file of its own: it needs only el() from dom.js, and a chunk shared by all
// three pages would cost the editor's first load one more request and the start page two.
await build({ ...common, entryPoints: { app: 'src/main.js', history: 'src/history.js' }, splitting: true, outdir: out, chunkNames: 'chunks/[name]-[hash]' });
await build({ ...common, entryPoints: { start: 'src/start.js' }, outdir: out });
copyFileSync('src/style.css', join(out, 'app.css'));
// theme.js: a classic script every page's <head> runs before the first paint (not a module: it must block)
await build({ ...common, bundle: false, format: 'iife', entryPoints: { theme: 'src/theme.js' }, outdir: out });
const files = [];
(function list(dir, prefix) {
  for (const f of readdirSync(dir)) {
    if (statSync(join(dir, f)).isDirectory()) list(join(dir, f), `${prefix}${f}/`);
    else if (/\.(js|css)$/.test(f)) files.push(`/assets/${prefix}${f}`);
  }
})(out, '');
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
