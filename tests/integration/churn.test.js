'use strict';
// Churn without leaks (issue "Hardening"): 10,000 cycles of connect → subscribe (public,
// private, presence) → publish → disconnect, spread over both nodes, against the ASan build
// with leak detection on (the harness fails the suite on any LeakSanitizer report when the
// processes stop). The RSS of every node and broker after the run must stay within 10 % of its
// value after the first 1,000 cycles; both are printed. ASan's quarantine is off here so RSS
// shows what the servers hold, not what the sanitizer delays reusing.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { useMesh, connectClient, publish, hmac, APP } = require('../lib/mesh');

const CYCLES = 10000;
const WARMUP = 1000;
const PARALLEL = 16;
const mesh = useMesh({
  shards: 2,
  nodes: 2,
  workers: 2,
  env: { ASAN_OPTIONS: 'detect_leaks=1:quarantine_size_mb=0:malloc_context_size=0:allocator_release_to_os_interval_ms=200' },
});

function rssKb(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return Number(m[1]);
}

function snapshot() {
  return mesh()
    .processes.filter((p) => !p.exit)
    .map((p) => ({ name: `${p.kind}[${p.index}]`, rss: rssKb(p.child.pid) }));
}

async function cycle(i) {
  const node = i % 2;
  const ws = await connectClient(mesh().nodePort(node));
  try {
    const sid = ws.socketId;
    const pub = `churn-${i}`;
    const priv = `private-churn-${i % 50}`;
    const pres = `presence-churn-${i % 50}`;
    const member = JSON.stringify({ user_id: `u${i % 200}`, user_info: { n: i } });
    for (const [channel, extra] of [
      [pub, {}],
      [priv, { auth: `${APP.key}:${hmac(APP.secret, `${sid}:${priv}`)}` }],
      [pres, { auth: `${APP.key}:${hmac(APP.secret, `${sid}:${pres}:${member}`)}`, channel_data: member }],
    ]) {
      const reply = await ws.subscribe(channel, extra);
      assert.equal(reply.event, 'pusher_internal:subscription_succeeded', `${channel}: ${JSON.stringify(reply)}`);
    }
    await publish(mesh().nodePort(1 - node), { name: 'churn', channels: [pub], data: String(i) });
    await ws.waitForEvent('churn', { channel: pub });
  } finally {
    ws.destroy();
  }
}

async function run(from, to) {
  let next = from;
  const worker = async () => {
    while (next < to) await cycle(next++);
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
}

test(`${CYCLES} connect-subscribe-publish-disconnect cycles leave memory where it was`, { timeout: 600000 }, async () => {
  const started = Date.now();
  await run(0, WARMUP);
  const after1k = snapshot();
  await run(WARMUP, CYCLES);
  const after = snapshot();
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`# ${CYCLES} cycles in ${secs} s; RSS (KiB) after ${WARMUP} → after ${CYCLES}:`);
  for (const [i, p] of after.entries()) {
    const base = after1k[i].rss;
    console.log(`#   ${p.name}: ${base} → ${p.rss} (${(((p.rss - base) / base) * 100).toFixed(1)} %)`);
  }
  for (const [i, p] of after.entries()) assert.ok(p.rss <= after1k[i].rss * 1.1, `${p.name} grew from ${after1k[i].rss} to ${p.rss} KiB`);
});
