// The browser client's layers, as tests/test_layers.py keeps the server's: frontend/src/core/ is
// pure. Its modules import only each other and diff-match-patch, and use no DOM, socket,
// storage, network or timer; each says so at its top.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';

const CORE = new URL('../src/core/', import.meta.url);
const PACKAGES = new Set(['diff-match-patch']);
// globals that reach out of the process: the page, the network, storage, the clock's callbacks
const FORBIDDEN = [
  'document', 'window', 'navigator', 'location', 'localStorage', 'sessionStorage', 'indexedDB',
  'fetch', 'XMLHttpRequest', 'WebSocket', 'EventSource', 'io', 'setTimeout', 'setInterval', 'requestAnimationFrame',
];
const HEADER = 'core/: pure. No DOM, no socket, no storage, no network';

/** The source without comments and string contents (so that prose may name what code may not use). */
function code(source) {
  return source.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`/g, (m) =>
    m.startsWith('/') ? '' : m[0] + m[0],
  );
}

/** What keeps a module of core/ from being pure, as messages (none: it is). */
export function violations(source, files) {
  const out = [];
  for (const m of source.matchAll(/^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm)) {
    const spec = m[1] ?? m[2];
    const local = /^\.\/([\w.-]+\.js)$/.exec(spec);
    if (local ? !files.includes(local[1]) : !PACKAGES.has(spec)) out.push(`imports ${spec}: core/ imports only core/ modules and ${[...PACKAGES].join(', ')}`);
  }
  const body = code(source);
  if (/\bimport\s*\(|\brequire\s*\(/.test(body)) out.push('loads a module at run time: core/ imports statically, and only core/');
  for (const name of FORBIDDEN) {
    if (new RegExp(`(?<![.\\w$])${name}\\b`).test(body)) out.push(`uses ${name}: core/ touches no DOM, socket, storage, network or timer`);
  }
  if (!source.slice(0, 1000).includes(HEADER)) out.push(`its opening comment does not say "${HEADER}"`);
  return out;
}

const files = readdirSync(CORE).filter((f) => f.endsWith('.js'));

test('core/ holds the pure modules', () => {
  for (const f of ['text.js', 'ops.js', 'diff.js', 'patch.js', 'crc32.js', 'ids.js']) assert.ok(files.includes(f), f);
});

for (const f of files) {
  test(`core/${f} is pure`, () => {
    assert.deepEqual(violations(readFileSync(new URL(f, CORE), 'utf8'), files), []);
  });
}

test('the check finds what breaks the rule', () => {
  const bad = [
    "// core/: pure. No DOM, no socket, no storage, no network",
    "import { io } from 'socket.io-client';",
    "import { SyncLoop } from '../loop.js';",
    "export { x } from './gone.js';",
    "const el = document.createElement('p'); // a comment may say window",
    "setTimeout(() => fetch('/x'), 1);",
    "const m = await import('./ops.js');",
  ].join('\n');
  const found = violations(bad, ['ops.js']);
  for (const what of ['imports socket.io-client', 'imports ../loop.js', 'imports ./gone.js', 'uses document', 'uses setTimeout', 'uses fetch', 'loads a module at run time']) {
    assert.ok(found.some((v) => v.startsWith(what)), `${what} in ${JSON.stringify(found)}`);
  }
  assert.ok(!found.some((v) => v.startsWith('uses window')), 'a comment is not code');
  assert.ok(violations('const s = "fetch the document";', []).some((v) => v.startsWith('its opening comment')));
  assert.ok(!violations('// core/: pure. No DOM, no socket, no storage, no network\nconst s = "fetch the document";', []).length);
});
