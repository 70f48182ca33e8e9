// The load driver: node driver.mjs '<json config>'
//
// Runs one workload against one system and prints its result as one JSON line on stdout
// (progress goes to stderr). The orchestrator, `python -m bench`, starts the servers, pins them
// and this driver to different cores, and passes the server pids in `pids` so that server CPU
// time (utime + stime from /proc/<pid>/stat) and memory are read here at the window's edges.
//
// config: {system: collab|relay|yws|hocus, urls: [url, ...], pids: [pid, ...], workload, ...}
//   latency:  docs, editors (per doc), interval_ms, warmup_s, duration_s, drain_s, ops_out
//             (ops_out: a file for every patch's timestamps, collab only: bench/timeline.py)
//   saturate: docs, editors; each editor types and sends as fast as one patch in flight allows
//   trace:    trace (path), chunk; one editor replays the trace, one receiver follows
//   idle:     clients, per_doc; memory per idle connected client
// Editors of a document are spread over `urls` round robin (several server processes).

import fs from 'node:fs';
import zlib from 'node:zlib';

import { makeClient } from './clients.js';

const cfg = JSON.parse(process.argv[2]);
const say = (msg) => process.stderr.write(`  [driver] ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TICK = 100; // USER_HZ (clock ticks per second in /proc/<pid>/stat) on Linux

// ---- measuring ----

function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK; // utime + stime (fields 14, 15)
}

function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function driverPct(since, elapsed) {
  const u = process.cpuUsage(since);
  return (100 * (u.user + u.system)) / 1e6 / elapsed;
}

const serverCpu = () => (cfg.pids || []).reduce((a, p) => a + cpuSeconds(p), 0);
const serverRss = () => (cfg.pids || []).reduce((a, p) => a + rssBytes(p), 0);

function pct(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.round((p / 100) * (sorted.length - 1)))];
}

function summary(values) {
  const s = Float64Array.from(values).sort();
  const r = (x) => (x === null ? null : Math.round(x * 100) / 100);
  return { n: s.length, p50: r(pct(s, 50)), p95: r(pct(s, 95)), p99: r(pct(s, 99)), max: r(s.length ? s[s.length - 1] : null) };
}

/** Keystrokes, the messages that carry them, and their arrival at every other client. */
class Tracker {
  constructor() {
    this.keys = []; // key -> {t, author, doc, counted, got: Set(receiver)}
    this._carry = new Map(); // op id -> [key]
    this._alias = new Map(); // yjs item id -> key
    this.window = false; // keystrokes made now are measured
    this.latencies = [];
    this.delivered = 0;
    this.revisionMessages = 0;
    this.ops = cfg.ops_out ? new Map() : null; // op id -> {author, sent, arrived: {receiver: t}}
  }
  made(author, doc, t) {
    this.keys.push({ t, author, doc, counted: this.window, got: null });
    return this.keys.length - 1;
  }
  carry(id, keys) {
    this._carry.set(id, keys);
  }
  carried(id) {
    return this._carry.get(id);
  }
  /** A patch leaves (collab): its timestamps are kept when ops_out is asked for. */
  sent(id, author, t) {
    // a resend (same op id) keeps the first send's time
    if (this.ops && this.window && !this.ops.has(id)) this.ops.set(id, { author, sent: t, arrived: {} });
  }
  opArrived(id, receiver, t) {
    const op = this.ops?.get(id);
    if (op && receiver !== op.author && op.arrived[receiver] === undefined) op.arrived[receiver] = t;
  }
  /** The patches' timestamps in ms since the epoch (to line up with the server's clock). */
  dumpOps(path) {
    const wall = (t) => performance.timeOrigin + t;
    const out = [];
    for (const [id, op] of this.ops) {
      const keys = this._carry.get(id) || [];
      const made = keys.length ? Math.min(...keys.map((k) => this.keys[k].t)) : op.sent;
      out.push({ id, made: wall(made), sent: wall(op.sent), arrived: Object.values(op.arrived).map(wall) });
    }
    fs.writeFileSync(path, JSON.stringify(out));
  }
  alias(key, itemId) {
    this._alias.set(itemId, key);
  }
  arrived(k, receiver, now) {
    if (typeof k === 'string') k = this._alias.get(k);
    const rec = k === undefined ? undefined : this.keys[k];
    if (!rec || rec.author === receiver) return;
    if (!rec.got) rec.got = new Set();
    if (rec.got.has(receiver)) return;
    rec.got.add(receiver);
    if (rec.counted) {
      this.latencies.push(now - rec.t);
      this.delivered++;
    }
  }
  revisionsIn(_client, n) {
    this.revisionMessages += n;
  }
}

// ---- setup ----

const tracker = new Tracker();
let rng = mulberry32(cfg.seed ?? 1);

function mulberry32(a) {
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function openAll(docs, perDoc, { parallel = 50 } = {}) {
  const prefix = cfg.prefix || `b${Date.now().toString(36)}`;
  const clients = [];
  let index = 0;
  for (let d = 0; d < docs; d++) {
    for (let e = 0; e < perDoc; e++) {
      // by document, as deploy/nginx.conf routes: a document's editors share a process
      const url = cfg.urls[d % cfg.urls.length];
      clients.push(makeClient(cfg.system, { url, doc: `${prefix}-${d}`, name: `e${index}`, tracker, index, docIndex: d }));
      clients[clients.length - 1].docIndex = d;
      index++;
    }
  }
  for (let i = 0; i < clients.length; i += parallel) {
    await Promise.all(clients.slice(i, i + parallel).map((c) => c.open()));
    if (clients.length >= 500 && (i / parallel) % 10 === 0) say(`connected ${Math.min(i + parallel, clients.length)}/${clients.length}`);
  }
  return clients;
}

function errorsOf(clients) {
  const out = {};
  for (const c of clients) for (const [k, v] of Object.entries(c.errors)) out[k] = (out[k] || 0) + v;
  return out;
}

async function converged(clients, timeoutMs) {
  if (cfg.system === 'relay') return { converged: null, diverged_docs: null }; // the relay keeps no text
  // every document's clients show the same text
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const byDoc = new Map();
    for (const c of clients) {
      if (!byDoc.has(c.docIndex)) byDoc.set(c.docIndex, new Set());
      byDoc.get(c.docIndex).add(c.text);
    }
    const diverged = [...byDoc.values()].filter((s) => s.size > 1).length;
    const busy = clients.some((c) => c.inflight);
    if ((!diverged && !busy) || Date.now() > deadline) return { converged: diverged === 0, diverged_docs: diverged };
    await sleep(100);
  }
}

// A keystroke: one character typed at a random place, by one client, at time t.
function keystroke(c) {
  const len = c.length;
  const pos = Math.floor(rng() * (len + 1));
  const ch = String.fromCharCode(97 + Math.floor(rng() * 26));
  const key = tracker.made(c.index, c.docIndex, performance.now());
  c.type(pos, 0, ch, key);
}

// ---- workloads ----

/** Warm up, then measure for duration_s: server and driver CPU, revision messages received. */
async function measure(warmup_s, duration_s) {
  say(`warm-up ${warmup_s} s`);
  await sleep(warmup_s * 1000);
  const cpu0 = serverCpu();
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  const rev0 = tracker.revisionMessages;
  tracker.window = true;
  say(`measuring ${duration_s} s`);
  await sleep(duration_s * 1000);
  tracker.window = false;
  const elapsed = (performance.now() - t0) / 1000;
  return {
    cpu: serverCpu() - cpu0,
    elapsed,
    driverCpu: driverPct(own0, elapsed),
    revIn: tracker.revisionMessages - rev0,
  };
}

async function latency() {
  const { docs = 1, editors = 2, interval_ms = 200, warmup_s = 3, duration_s = 15, drain_s = 5 } = cfg;
  say(`${cfg.system}: opening ${docs} doc(s) x ${editors} editors`);
  const clients = await openAll(docs, editors);
  const acks = [];
  for (const c of clients) c.onAck = (ms) => tracker.window && acks.push(ms);
  const timers = clients.map((c) =>
    setTimeout(() => (c._iv = setInterval(() => keystroke(c), interval_ms)), rng() * interval_ms),
  );
  const { cpu, elapsed, driverCpu, revIn } = await measure(warmup_s, duration_s);
  timers.forEach(clearTimeout);
  for (const c of clients) clearInterval(c._iv);
  const measuredKeys = tracker.keys.filter((k) => k.counted).length;
  const expected = measuredKeys * (editors - 1);
  const drainUntil = Date.now() + drain_s * 1000;
  while (tracker.delivered < expected && Date.now() < drainUntil) await sleep(50);
  const conv = await converged(clients, 10000);
  if (cfg.ops_out) tracker.dumpOps(cfg.ops_out);
  const rss = serverRss();
  clients.forEach((c) => c.close());
  return {
    keystrokes: measuredKeys,
    keystrokes_per_s: measuredKeys / elapsed,
    expected_deliveries: expected,
    observed_deliveries: tracker.delivered,
    latency_ms: summary(tracker.latencies),
    ack_ms: acks.length ? summary(acks) : null,
    revision_messages_in: revIn,
    server_cpu_s: cpu,
    server_cpu_pct: (100 * cpu) / elapsed,
    cpu_us_per_delivery: tracker.delivered ? (1e6 * cpu) / tracker.delivered : null,
    server_rss_mb: rss / 2 ** 20,
    driver_cpu_pct: driverCpu,
    elapsed_s: elapsed,
    errors: errorsOf(clients),
    ...conv,
  };
}

async function saturate() {
  const { docs = 1, editors = 10, warmup_s = 2, duration_s = 10 } = cfg;
  if (cfg.system === 'yws' || cfg.system === 'hocus') return { skipped: 'Yjs providers have no acks: "one patch in flight" does not apply' };
  say(`${cfg.system}: ${docs} doc(s) x ${editors} editors, each as fast as one patch in flight allows`);
  const clients = await openAll(docs, editors);
  let committed = 0;
  let running = true;
  const acks = [];
  for (const c of clients) {
    c.onAck = (ms) => {
      if (tracker.window) {
        committed++;
        acks.push(ms);
      }
      if (running) setImmediate(() => keystroke(c));
    };
    keystroke(c);
  }
  const { cpu, elapsed, driverCpu, revIn } = await measure(warmup_s, duration_s);
  running = false;
  await sleep(1000);
  const conv = await converged(clients, 15000);
  clients.forEach((c) => c.close());
  return {
    committed_per_s: committed / elapsed,
    delivered_per_s: revIn / elapsed,
    delivered_per_receiver_per_s: revIn / elapsed / (docs * editors),
    keystroke_latency_ms: summary(tracker.latencies),
    ack_ms: summary(acks),
    server_cpu_s: cpu,
    server_cpu_pct: (100 * cpu) / elapsed,
    cpu_us_per_revision: committed ? (1e6 * cpu) / committed : null,
    driver_cpu_pct: driverCpu,
    // the clients' own cost (the browser's sync.js and loop.js, all editors): CPU time, so
    // less shaken than revisions/s by other work on the machine
    driver_cpu_us_per_revision: committed ? (1e4 * driverCpu * elapsed) / committed : null,
    elapsed_s: elapsed,
    errors: errorsOf(clients),
    ...conv,
  };
}

async function trace() {
  if (cfg.system === 'relay') return { skipped: 'the relay keeps no text' };
  const data = JSON.parse(zlib.gunzipSync(fs.readFileSync(cfg.trace)).toString('utf8'));
  const txns = cfg.limit ? data.txns.slice(0, cfg.limit) : data.txns;
  let end = data.endContent;
  if (cfg.limit) {
    end = '';
    for (const t of txns) for (const [pos, del, ins] of t.patches) end = end.slice(0, pos) + ins + end.slice(pos + del);
  }
  const chunk = cfg.chunk ?? 50;
  const maxAhead = cfg.max_ahead ?? 2000;
  let waits = 0;
  cfg.urls = [cfg.urls[0]];
  const [typist, receiver] = await openAll(1, 2);
  say(`${cfg.system}: replaying ${txns.length.toLocaleString()} transactions, ${chunk} per event-loop turn`);
  let done = null;
  const finished = new Promise((r) => (done = r));
  // the receiver is finished when its text is the trace's endContent
  const check = () => receiver.length === end.length && receiver.text === end && done();
  const origRev = tracker.revisionsIn.bind(tracker);
  tracker.revisionsIn = (client, n, now) => {
    origRev(client, n, now);
    if (client === receiver) setImmediate(check);
  };
  const cpu0 = serverCpu();
  const t0 = performance.now();
  let i = 0;
  let typedAt = null;
  await new Promise((resolve) => {
    const step = () => {
      // collab: the typist stays at most `max_ahead` transactions ahead of what the server
      // confirmed (a patch of 7 s of typing would be refused as too many hunks: bad_patch)
      if (typist.sync && typist.sync.unsaved > maxAhead) {
        if (!(++waits % 20000)) say(`waiting: unsaved ${typist.sync.unsaved} v${typist.sync.version} inflight ${JSON.stringify(typist.sync.inflight)?.slice(0, 80)} err ${JSON.stringify(typist.errors)} ${JSON.stringify(typist.sync.error)}`);
        return setTimeout(step, 0);
      }
      const upto = Math.min(i + chunk, txns.length);
      typist.batch((edit) => {
        for (; i < upto; i++) for (const [pos, del, ins] of txns[i].patches) edit(pos, del, ins);
      });
      if (i < txns.length) setImmediate(step);
      else resolve();
    };
    step();
  });
  typedAt = (performance.now() - t0) / 1000;
  say(`typed in ${typedAt.toFixed(2)} s; waiting for the receiver`);
  const timeout = sleep((cfg.timeout_s ?? 300) * 1000).then(() => 'timeout');
  const how = await Promise.race([finished, timeout]);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = serverCpu() - cpu0;
  const revisions = cfg.system === 'collab' ? typist.version : tracker.revisionMessages;
  const ok = receiver.text === end && typist.text === end;
  const result = {
    transactions: txns.length,
    typed_s: typedAt,
    end_to_end_s: elapsed,
    keystrokes_per_s: txns.length / elapsed,
    revisions,
    revisions_per_s: revisions / elapsed,
    server_cpu_s: cpu,
    cpu_us_per_revision: revisions ? (1e6 * cpu) / revisions : null,
    cpu_us_per_keystroke: (1e6 * cpu) / txns.length,
    final_text_ok: ok,
    timed_out: how === 'timeout',
    server_rss_mb: serverRss() / 2 ** 20,
    errors: errorsOf([typist, receiver]),
    typist_error: typist.sync?.error ?? null,
  };
  typist.close();
  receiver.close();
  return result;
}

async function idle() {
  const { clients: n = 1000, per_doc = 10 } = cfg;
  await sleep(500);
  const rss0 = serverRss();
  say(`${cfg.system}: ${n} idle clients, ${per_doc} per document (server RSS before: ${(rss0 / 2 ** 20).toFixed(1)} MiB)`);
  const t0 = performance.now();
  const clients = await openAll(Math.ceil(n / per_doc), per_doc, { parallel: 100 });
  const connect_s = (performance.now() - t0) / 1000;
  await sleep(3000); // let presence and buffers settle
  const rss1 = serverRss();
  clients.forEach((c) => c.close());
  return {
    clients: clients.length,
    connect_s,
    rss_before_mb: rss0 / 2 ** 20,
    rss_after_mb: rss1 / 2 ** 20,
    kib_per_client: (rss1 - rss0) / 1024 / clients.length,
    errors: errorsOf(clients),
  };
}

const workloads = { latency, saturate, trace, idle };
const started = Date.now();
workloads[cfg.workload]()
  .then((result) => {
    process.stdout.write(JSON.stringify({ ...result, driver_s: (Date.now() - started) / 1000 }) + '\n');
    setTimeout(() => process.exit(0), 200);
  })
  .catch((e) => {
    process.stderr.write(`${e.stack || e}\n`);
    process.exit(1);
  });
