// A case's text from its [piece, times] parts; the text of a real editing trace (../shared/traces, FORMAT.md) after every 5,000th
// transaction, and at its end: what titles.json's trace titles are of.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const EVERY = 5000;
const TRACES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'shared', 'traces');

export function traceStates(name) {
  const trace = JSON.parse(gunzipSync(readFileSync(join(TRACES, `${name}.json.gz`))).toString('utf8'));
  let text = Array.from(trace.startContent);
  const states = [];
  trace.txns.forEach((txn, i) => {
    for (const [pos, del, ins] of txn.patches) text.splice(pos, del, ...Array.from(ins));
    if ((i + 1) % EVERY === 0 || i === trace.txns.length - 1) states.push(text.join(''));
  });
  return states;
}

export const joined = (parts) => parts.map(([piece, times]) => piece.repeat(times)).join('');
