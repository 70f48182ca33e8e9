// The protocol test vectors (tests/vectors/*.json) against the browser client, src/sync.js.
// tests/client/test_vectors.py runs the same files against the Python client; the format is described
// in tests/vectors/generate.py, which writes them. The runner below maps each step to one
// call of the state machine: nothing in it decides anything about the protocol.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { SyncClient } from '../src/sync.js';
import { applyPatchExact } from '../src/core/patch.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'vectors');

// Each step is one call of the state machine with the step's arguments (and the runner's
// clock): the glue a transport is, deciding nothing.
class Runner {
  constructor(vector) {
    let n = 0;
    this.now = 0; // seconds
    this.c = new SyncClient({ version: vector.version, text: vector.text, newId: () => `js-op-${++n}` });
    this.ids = {}; // "$inflight", "$op1", ... -> the op ids the client chose
  }

  sub(value) {
    if (typeof value === 'string' && value.startsWith('$')) {
      assert.ok(value in this.ids, `${value} names no op the client has sent`);
      return this.ids[value];
    }
    if (Array.isArray(value)) return value.map((v) => this.sub(v));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.sub(v)]));
    }
    return value;
  }

  run(step) {
    const c = this.c;
    if ('edit' in step) {
      c.localEdit(...step.edit);
    } else if ('edit_refused' in step) {
      assert.throws(() => c.localEdit(...step.edit_refused), (e) => e.code === 'read_only');
    } else if ('send' in step) {
      const shadow = c.shadow;
      const message = c.takePatch(this.now);
      const want = step.send;
      if (want === null) {
        assert.equal(message, null, `sent ${JSON.stringify(message)} where nothing was to be sent`);
        return;
      }
      assert.ok(message, 'nothing was sent');
      assert.equal(message.base, want.base, 'base');
      assert.equal(applyPatchExact(shadow, message.patch).text, want.result, 'the patch applied to the shadow');
      if ('max_patch' in want) assert.ok(message.patch.length <= want.max_patch, `patch length ${message.patch.length}`);
      if ('max_lines' in want) {
        const lines = message.patch.split('\n').length - 1;
        assert.ok(lines <= want.max_lines, `patch lines ${lines}`);
      }
      if (want.id === '$new') {
        assert.ok(!Object.values(this.ids).includes(message.id), 'a resend where a new op id was due');
        const k = Object.keys(this.ids).filter((x) => x.startsWith('$op')).length + 1;
        this.ids[`$op${k}`] = message.id;
        this.ids.$inflight = message.id;
      } else {
        assert.equal(message.id, this.sub(want.id), 'not the same op id');
      }
    } else if ('ack' in step) {
      c.receiveAck(this.sub(step.ack), this.sub(step.id ?? '$inflight'), this.now);
    } else if ('revisions' in step) {
      c.receiveRevisions(this.sub(step.revisions), this.now);
    } else if ('sync_request' in step) {
      assert.deepEqual(c.takeSync(this.now), step.sync_request, 'sync request');
    } else if ('sync' in step) {
      c.receiveSync(this.sub(step.sync), this.now);
    } else if ('sync_if_asked' in step) {
      const q = c.takeSync(this.now);
      if (q !== null) {
        assert.equal(q.since, step.sync_if_asked.since, 'sync request');
        c.receiveSync(this.sub(step.sync_if_asked.answer), this.now);
      }
    } else if ('seen' in step) {
      assert.deepEqual(c.takeSeen(this.now), step.seen, 'seen');
    } else if ('wait' in step) {
      this.now += step.wait;
    } else if ('reconnect' in step) {
      c.disconnected();
      c.joining();
      c.receiveJoin({ ok: true, doc: 'd', role: 'editor', peers: [], ...step.reconnect });
    } else if ('rejoin' in step) {
      c.joining();
      c.receiveJoin({ ok: true, doc: 'd', role: 'editor', peers: [], ...step.rejoin });
    } else if ('disconnect' in step) {
      c.disconnected();
      c.joining();
    } else if ('joined' in step) {
      c.receiveJoin({ ok: true, doc: 'd', role: 'editor', peers: [], ...step.joined });
    } else if ('gone' in step) {
      c.receiveGone(step.gone);
    } else if ('role' in step) {
      c.receiveRole(step.role);
    } else if ('expect' in step) {
      for (const [key, want] of Object.entries(step.expect)) {
        assert.deepEqual(this.observe(key, want), want, key);
      }
    } else {
      assert.fail(`unknown step ${JSON.stringify(step)}`);
    }
  }

  observe(key, want) {
    const c = this.c;
    switch (key) {
      case 'text':
      case 'shadow':
      case 'version':
      case 'unsaved':
        return c[key];
      case 'inflight':
        return c.inflight !== null;
      case 'want_sync':
        return c.needsSync(this.now) !== null;
      case 'diverged':
        return c.needsRejoin() !== null;
      case 'held':
        return c.heldVersions;
      case 'error':
        return c.error ? c.error.code : null;
      case 'stuck':
        return c.stuck ? c.stuck.code : null;
      case 'gone':
        return c.gone ? c.gone.code : null;
      case 'wake_at':
        return c.wakeAt();
      case 'text_contains':
        return want.filter((t) => c.text.includes(t));
      default:
        return assert.fail(`unknown expectation ${key}`);
    }
  }
}

for (const file of readdirSync(DIR).filter((f) => f.endsWith('.json')).sort()) {
  const vector = JSON.parse(readFileSync(join(DIR, file), 'utf8'));
  const known = vector.known && vector.known.js;
  test(`vector ${vector.name}`, known ? { todo: known } : {}, () => {
    const r = new Runner(vector);
    vector.steps.forEach((step, i) => {
      try {
        r.run(step);
      } catch (e) {
        e.message = `${vector.name} step ${i + 1} ${JSON.stringify(step).slice(0, 300)}: ${e.message}`;
        throw e;
      }
    });
  });
}
