// dom.js without a page: the colours and the saved display name (el() needs a document: the
// browser tests in tests/browser/ build every page with it).

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { colorFor, personName, saveName, savedName } from '../src/dom.js';

/** A Storage with localStorage's methods; `broken` throws as a browser with storage off does, `full` on writes only. */
function storage({ broken = false, full = false, items = new Map() } = {}) {
  const check = (write) => {
    if (broken) throw new Error('SecurityError: storage is off');
    if (full && write) throw new Error('QuotaExceededError: storage is full');
  };
  return {
    getItem: (k) => (check(false), items.has(k) ? items.get(k) : null),
    setItem: (k, v) => (check(true), items.set(k, String(v))),
    removeItem: (k) => (check(true), items.delete(k)),
  };
}

let loads = 0;
/** dom.js as a page loading it afresh (the name a page keeps is the module's). */
const freshPage = () => import(`../src/dom.js?page=${++loads}`);

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

test('without storage a page still has a name, the same one for every write it makes', async () => {
  globalThis.localStorage = storage({ broken: true });
  const page = await freshPage();
  const name = page.savedName();
  assert.match(name, /^Guest \d{3}$/);
  // a restore, a revert, another restore: one author, not a new guest each time (issue 13)
  assert.deepEqual([page.savedName(), page.savedName(), page.savedName()], [name, name, name]);
  assert.equal(page.saveName('Zoë'), 'Zoë'); // does not throw: the page keeps it
  assert.equal(page.savedName(), 'Zoë');
});

test('with storage full the name already kept stays, and a rename holds for the page', async () => {
  const items = new Map([['collab:name', 'Ada']]);
  globalThis.localStorage = storage({ full: true, items });
  const page = await freshPage();
  assert.equal(page.savedName(), 'Ada');
  assert.equal(page.saveName('Ada Lovelace'), 'Ada Lovelace');
  assert.equal(page.savedName(), 'Ada Lovelace'); // what could not be stored is still this page's name
  globalThis.localStorage = storage({ full: true });
  const empty = await freshPage();
  const guest = empty.savedName();
  assert.equal(empty.savedName(), guest);
});

test('people seen together never share a colour while there are colours left, and keep theirs', async () => {
  const { colorBook, colorFor: hashed } = await freshPage();
  const { distinctColors } = await import('../src/colors.js');
  // names whose own colours collide
  const names = [];
  for (let i = 0; names.length < 3; i++) if (!names.length || hashed(`p${i}`) === hashed(names[0])) names.push(`p${i}`);
  const colors = distinctColors(names.map((n) => [`id-${n}`, n]));
  assert.equal(new Set(colors.values()).size, 3);
  assert.equal(colors.get(`id-${names[0]}`), hashed(names[0]), 'the first keeps the colour of its name');
  // ten people, ten colours; the same list gives the same colours on every screen
  const ten = Array.from({ length: 10 }, (_, i) => [`k${i}`, 'same name']);
  assert.equal(new Set(distinctColors(ten).values()).size, 10);
  assert.deepEqual([...distinctColors(ten)], [...distinctColors(ten)]);
  // met one by one (a history page): a colour, once given, stays
  const book = colorBook();
  const first = book('Alice');
  for (let i = 0; i < 30; i++) book(`author ${i}`);
  assert.equal(book('Alice'), first);
});

test('with sign-in on, whoever has no account is marked a guest, whatever their name', () => {
  const page = (signIn) => (globalThis.document = { body: { dataset: signIn ? { signIn: 'local' } : {} } });
  try {
    page(true);
    assert.equal(personName({ author: 'Ann', account: 'u_1' }), 'Ann');
    assert.equal(personName({ author: 'Ann' }), 'Ann (guest)'); // a guest who calls themselves Ann
    page(false);
    assert.equal(personName({ author: 'Ann' }), 'Ann'); // sign-in off: everyone is a guest, nobody marked
  } finally {
    delete globalThis.document;
  }
});
