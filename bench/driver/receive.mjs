// What receiving revisions costs the client itself, without a server or a network: one
// SyncClient (frontend/src/sync.js, the browser's) takes the same revisions of one document,
// `batch` per message, as each receiver of bench 3b does. Prints the CPU time per revision.
//
//   node bench/driver/receive.mjs [--chars 20000] [--revisions 4000] [--batches 1,4,16] [--repeat 5]
//                                 [--sync path/to/frontend/src/sync.js]   (another checkout's: an A/B)
//
// Deterministic: a seeded author makes the same revisions every run (one keystroke each, at a
// random place, with the server's CRC-32 of the text after it). The best of `repeat` runs is
// kept: other work on the machine only ever adds time. The cost that grows with the document
// (the text hash, applying a patch to the whole text) shows as the difference between sizes.

import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const chars = Number(args.chars ?? 20000);
const count = Number(args.revisions ?? 4000);
const batches = String(args.batches ?? '1,4,16').split(',').map(Number);
const repeat = Number(args.repeat ?? 5);
const syncPath = path.resolve(args.sync ?? new URL('../../frontend/src/sync.js', import.meta.url).pathname);
if (![chars, count, repeat, ...batches].every((n) => Number.isInteger(n) && n > 0)) {
  console.error('--chars, --revisions, --batches and --repeat take whole numbers of at least 1');
  process.exit(2);
}
const { SyncClient } = await import(pathToFileURL(syncPath));
// core/crc32.js since the client's pure core has its folder; textutil.js in older checkouts
const crcPath = ['core/crc32.js', 'textutil.js'].map((f) => path.join(path.dirname(syncPath), f)).find(existsSync);
const { crc32Hex } = await import(pathToFileURL(crcPath));

let seed = 13;
const rng = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);

/** `count` revisions after version 1 of a text of `chars` letters, as the server sends them. */
function revisions() {
  let text = '';
  while (text.length < chars) text += 'the quick brown fox jumps over the lazy dog\n';
  text = text.slice(0, chars);
  const start = text;
  let n = 0;
  const author = new SyncClient({ version: 1, text, newId: () => `a-${++n}` });
  const out = [];
  for (let v = 2; v < count + 2; v++) {
    const pos = Math.floor(rng() * (author.text.length + 1));
    author.localEditUtf16(pos, pos, String.fromCharCode(97 + Math.floor(rng() * 26)));
    const p = author.takePatch(0);
    const hash = crc32Hex(author.text);
    out.push({ doc: 'd', version: v, patch: p.patch, author: 'a', id: p.id, ts: 0, hash });
    author.receiveAck({ ok: true, version: v, hash }, p.id, 0);
  }
  return { start, revs: out, end: author.text };
}

function cpuUs(fn) {
  const t = process.cpuUsage();
  fn();
  const u = process.cpuUsage(t);
  return u.user + u.system;
}

const { start, revs, end } = revisions();
console.log(`node ${path.relative(process.cwd(), process.argv[1])} --chars ${chars} --revisions ${count} --batches ${batches} --repeat ${repeat}`);
console.log(`sync.js: ${syncPath}\n`);
console.log('| revisions per message | CPU us per revision (best of ' + repeat + ') |');
console.log('|---|---|');
for (const batch of batches) {
  let best = Infinity;
  for (let r = 0; r < repeat; r++) {
    const c = new SyncClient({ version: 1, text: start });
    const us = cpuUs(() => {
      for (let i = 0; i < revs.length; i += batch) c.receiveRevisions(revs.slice(i, i + batch), 0);
    });
    if (c.text !== end || c.version !== count + 1 || c.needsRejoin()) throw new Error(`the receiver did not follow (batch ${batch})`);
    best = Math.min(best, us / count);
  }
  console.log(`| ${batch} | ${best.toFixed(2)} |`);
}
