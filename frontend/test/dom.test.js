// dom.js without a page: the colours and the saved display name (el() needs a document: the
// browser tests in tests/browser/ build every page with it).

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { colorFor, saveName, savedName } from '../src/dom.js';

/** A Storage with localStorage's methods; `broken` throws as a browser with storage off does. */
function storage({ broken = false } = {}) {
  const items = new Map();
  const check = () => {
    if (broken) throw new Error('SecurityError: storage is off');
  };
  return {
    getItem: (k) => (check(), items.has(k) ? items.get(k) : null),
    setItem: (k, v) => (check(), items.set(k, String(v))),
    removeItem: (k) => (check(), items.delete(k)),
  };
}

test('a person always gets the same colour, on every page', () => {
  assert.equal(colorFor('Alice'), colorFor('Alice'));
  assert.match(colorFor('<img src=x>'), /^#[0-9a-f]{6}$/);
  const seen = new Set(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map(colorFor));
  assert.ok(seen.size > 1, 'different people get different colours');
});

test('the first saved name is a guest name, kept from then on', () => {
  globalThis.localStorage = storage();
  const first = savedName();
  assert.match(first, /^Guest \d{3}$/);
  assert.equal(savedName(), first);
  assert.equal(localStorage.getItem('collab:name'), first);
});

test('a name is saved trimmed and at most 64 characters; a blank one keeps the name', () => {
  globalThis.localStorage = storage();
  assert.equal(saveName('  Ada  '), 'Ada');
  assert.equal(savedName(), 'Ada');
  assert.equal(saveName('   '), 'Ada');
  assert.equal(saveName('x'.repeat(70)), 'x'.repeat(64));
  assert.equal(savedName(), 'x'.repeat(64));
});

test('without storage a page still has a name', () => {
  globalThis.localStorage = storage({ broken: true });
  assert.match(savedName(), /^Guest \d{3}$/);
});
