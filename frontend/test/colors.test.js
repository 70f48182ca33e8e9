// colors.js: picked colours first, the later of two picks of one colour gives way to its nearest
// free neighbour (as the server does: collab/core/palette.py), everyone else's from their name.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { distinctColors } from '../src/colors.js';
import { COLORS, colorFor } from '../src/dom.js';

const [RED, ORANGE] = COLORS;
const PINK = COLORS[COLORS.length - 1];

test('a picked colour is kept, a second pick of it gives way to the nearest free one', () => {
  const colors = distinctColors([['a', 'Ann', RED], ['b', 'Bob', RED], ['c', 'Cy', RED]]);
  assert.deepEqual([...colors.values()], [RED, ORANGE, PINK]);
});

test('automatic people take their name\'s colour among those nobody picked', () => {
  const name = 'Dee';
  const own = colorFor(name);
  const apart = distinctColors([['d', name], ['e', 'Eve', own]]);
  assert.equal(apart.get('e'), own, 'a pick wins over a colour that only came from a name');
  assert.notEqual(apart.get('d'), own);
  assert.equal(distinctColors([['d', name]]).get('d'), own);
  assert.deepEqual([...apart.keys()], ['d', 'e'], 'in the list\'s order');
});

test('what is not the palette\'s is never used as a colour', () => {
  const colors = distinctColors([['x', 'X', 'red;background:url(//evil)'], ['y', 'Y', '#123456']]);
  for (const c of colors.values()) assert.ok(COLORS.includes(c), c);
  assert.equal(new Set(colors.values()).size, 2);
});
