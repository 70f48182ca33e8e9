// core/tasks.js: the edit a task checkbox in the preview makes to the source.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { taskToggle } from '../src/core/tasks.js';

const apply = (text, e) => text.slice(0, e.from) + e.insert + text.slice(e.to);

test('a task on a line is ticked and unticked, whatever its list marker or nesting', () => {
  const text = 'Plan\n- [ ] one\n  * [x] two 😀\n3. [X] three\n> - [ ] quoted\n';
  assert.equal(apply(text, taskToggle(text, 1)), text.replace('- [ ] one', '- [x] one'));
  assert.equal(apply(text, taskToggle(text, 2)), text.replace('* [x] two', '* [ ] two'));
  assert.equal(apply(text, taskToggle(text, 3)), text.replace('3. [X]', '3. [ ]'));
  assert.equal(apply(text, taskToggle(text, 4)), text.replace('> - [ ] quoted', '> - [x] quoted'));
});

test('a line without a task, or past the end, gives no edit', () => {
  assert.equal(taskToggle('Plan\n- one\n', 1), null);
  assert.equal(taskToggle('Plan\n[ ] not a list\n', 1), null);
  assert.equal(taskToggle('Plan', 3), null);
  assert.equal(taskToggle('', 0), null);
});
