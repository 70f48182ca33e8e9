// Writes titles.json: the title frontend/src/core/title.js gives each case below and each
// 5,000th state of the real editing traces (../shared/traces). The browser is the reference;
// collab/core/title.py must give the same (tests/core/test_title.py), and so must title.js
// (frontend/test/title.test.js), so the two cannot drift apart.
//     node tests/vectors/titles/generate.mjs      # after changing a case or title.js
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { titleOf } from '../../../frontend/src/core/title.js';
import { EVERY, joined, traceStates } from './traces.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const texts = [
  '# Team *plan* for 2027 #\n\ntext', 'Some intro\n\n## [Budget](https://x.example) 😀\n# Later',
  'Notes\n=====\n\n# Not this', 'Minutes `v2`\n---\n', '\n\n  - [ ] buy **milk**\n- eggs', '> quoted first\n',
  '', '\n \n', '```\n# not a heading\n```\n# Real one', '- one\n---\n',
  '# Windows\r\nline', 'plain\r\n===\r\n', '#\tTab heading', '#no space', '####### seven', '   # three spaces', '    # four',
  '\ufeff# after a BOM', '\u00a0# after NBSP', '\u2028# after LS', '# ends in LS\u2028', '\x85# NEL\n', '\x1c# FS\n',
  '١. Arabic digit item', '12) numbered', '1. [x] done task', '* [ ]  open', '+ plus', '>quote without space',
  '<b>bold</b> html first', '![img](a.png) caption', '[a](b) [c](d)', '~~~\n# fenced\n~~~\nafter', '```\nopen fence only\n# x',
  '  \t  \n\n\u3000ideographic space title', '# #', '# ###', '#   spaced   out   #', '*** \n# rule then heading',
  'Title\n--\nbody', '- item\n===', '\n\n\n# late heading\n',
].map((text) => [[text, 1]]);
// long ones as [piece, times] parts, so that the file stays small
texts.push([['a', 79]], [['a', 80]], [['a', 81]], [['b', 78], [' ', 1], ['c', 5]], [['# ', 1], ['é', 100]],
  [['x', 65535], ['😀\n# too far', 1]], [['x', 65534], ['😀y', 1]], [['😀', 40000], ['\n# far', 1]],
  [['# ', 1], ['😀', 200]], [['x', 70000], ['\n# far down', 1]], [['# top\n', 1], ['y', 4_000_000]]);
const traces = {};
for (const name of ['seph-blog1', 'automerge-paper']) traces[name] = traceStates(name).map(titleOf);
const cases = texts.map((parts) => JSON.stringify({ parts, title: titleOf(joined(parts)) }));
const traceLines = Object.entries(traces).map(([name, titles]) => `  ${JSON.stringify(name)}: ${JSON.stringify(titles)}`);
writeFileSync(join(HERE, 'titles.json'),
  `{"every": ${EVERY},\n "cases": [\n  ${cases.join(',\n  ')}\n ],\n "traces": {\n${traceLines.join(',\n')}\n }\n}\n`);
