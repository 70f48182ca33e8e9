// images.js: the Markdown an uploaded image is named by, and sizes said as the server says them
// (collab/core/images.py `human`), so that the page's own refusal and the server's agree.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { human, markdown } from '../src/images.js';

test('sizes are said in the units the server uses', () => {
  assert.deepEqual([0, 1023, 1024, 1536, 5 * 2 ** 20, 50 * 2 ** 20, 3 * 2 ** 30].map(human),
    ['0 bytes', '1023 bytes', '1 KiB', '1.5 KiB', '5 MiB', '50 MiB', '3 GiB']);
});

test('the alt text is the file name without its extension, with nothing that would end or format it', () => {
  assert.equal(markdown('chart.png', '/images/abc'), '![chart](/images/abc)');
  assert.equal(markdown('field photo.JPEG', '/images/abc'), '![field photo](/images/abc)');
  assert.equal(markdown('a]b[c\nd*e_.gif', '/images/x'), '![a b c d e](/images/x)');
  assert.equal(markdown('', '/images/x'), '![image](/images/x)');
  assert.equal(markdown('].png', '/images/x'), '![image](/images/x)');
});
