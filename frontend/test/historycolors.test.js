// historycolors.js: the history page colours people as the editor does. Those who picked a
// colour have the one they last wrote in (the latest writer of a colour keeps it, the other
// gets its nearest free neighbour); everyone else their name's colour among those left.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { authorColors, pageColors } from '../src/historycolors.js';
import { COLORS, colorFor } from '../src/dom.js';

const [RED, ORANGE] = COLORS;
const BLUE = COLORS[7];
const name = (e) => e.author;

test('a person who picked a colour has it, whether or not they are here', () => {
  const paint = authorColors([{ author: 'Ann', color: BLUE }], name);
  assert.equal(paint('Ann'), BLUE);
});

test('of two who wrote in one colour the later keeps it, the other gets the nearest free one', () => {
  const paint = authorColors([{ author: 'Bob', color: RED }, { author: 'Ann', color: RED }], name);
  assert.equal(paint('Bob'), RED);
  assert.equal(paint('Ann'), ORANGE);
});

test('everyone else has their name\'s colour, unless someone picked it', () => {
  const dee = colorFor('Dee');
  assert.equal(authorColors([], name)('Dee'), dee, 'the editor\'s colour of an automatic person');
  const paint = authorColors([{ author: 'Eve', color: dee }], name);
  assert.equal(paint('Eve'), dee);
  assert.notEqual(paint('Dee'), dee);
  assert.equal(paint('Dee'), paint('Dee'), 'and keeps the one given');
});

test('no two people share a colour while there are colours left', () => {
  const entries = [{ author: 'P1', color: RED }, { author: 'P2', color: RED }, { author: 'P3', color: BLUE }];
  const paint = authorColors(entries, name);
  const people = ['P1', 'P2', 'P3', ...Array.from({ length: COLORS.length - 3 }, (_, i) => `Guest ${i}`)];
  const given = people.map(paint);
  assert.equal(new Set(given).size, COLORS.length, given.join(' '));
  assert.ok(COLORS.includes(paint('one more')), 'past the palette, colours are shared, still the palette\'s');
});

test('a person is the name the page shows: the latest entry of a name counts, once', () => {
  const shown = (e) => (e.account ? e.author : `${e.author} (guest)`);
  const paint = authorColors([{ author: 'Ann', account: 'u_1', color: BLUE }, { author: 'Ann', color: RED }, { author: 'Ann', account: 'u_1', color: ORANGE }], shown);
  assert.equal(paint('Ann'), BLUE);
  assert.equal(paint('Ann (guest)'), RED);
  const more = authorColors([{ author: 'Ann', color: BLUE }, { author: 'Ann', color: BLUE }, { author: 'Bob', color: BLUE }], name);
  assert.equal(more('Bob'), COLORS[8], 'an older entry of the same person takes no colour from anyone');
});

test('what is not the palette\'s is never used', () => {
  const paint = authorColors([{ author: 'X', color: 'red;background:url(//evil)' }, { author: 'Y', color: '#123456' }], name);
  assert.equal(paint('X'), colorFor('X'));
  assert.ok(COLORS.includes(paint('Y')));
});

test('without an answer (an older server) everyone has their name\'s colour', async () => {
  const paint = await pageColors(async () => {
    throw new Error('HTTP 404');
  }, name);
  assert.equal(paint('Dee'), colorFor('Dee'));
  const asked = [];
  const served = await pageColors(async (path) => (asked.push(path), { colors: [{ author: 'Ann', color: BLUE }] }), name);
  assert.deepEqual(asked, ['/colors']);
  assert.equal(served('Ann'), BLUE);
});
