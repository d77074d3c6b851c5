'use strict';
// The randomized fault soak (issue 22; docs/soak.md). Hosts are network namespaces joined by a
// bridge (lib/netns.js): brokers b0..b2 and a spare b3, nodes n0..n2, and a client host c
// that runs clients.js: two pusher-js clients per node on public, cache and presence
// channels, REST publishers (one per node) and a librtmesh publisher (`rtmesh publish`), and
// the webhook receiver. A seeded schedule (schedule.js; SOAK_SEED, else a random seed, printed)
// of SOAK_MINUTES (default 20) applies faults one after another (faults.js), each held and
// healed, some with no pause before the next; every record goes to a history (history.js,
// written to SOAK_HISTORY or a temporary file, printed).
//
// Judged from the history and the processes, at the end:
//   - no acknowledged publish lost silently: a subscribed client that missed one had its
//     connection closed within NOTICE_MS after it (it was told to reconnect)
//   - per client, channel and publisher, events arrive in order (no repeat)
//   - presence converges after every settled step within CONVERGE_MS: per presence channel the
//     REST users list, the clients subscribed to it and each one's member list agree
//     (p50/p99/max printed); after the last step every client must first be connected and
//     subscribed again, within RECONNECT_MS (pusher-js's own retry waits)
//   - the webhook consumer's online list equals the REST users list at the end
//   - no exit the schedule did not cause (a SIGTERM must end in exit 0), no sanitizer report
//     (the harness checks every process), RSS and descriptors bounded
// Every process's log is saved beside the history (<history>.logs/<name>-<start>.log).
// Needs root and namespaces; skipped with the reason otherwise.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { available } = require('../lib/netns');
const { harness } = require('../lib/multihost');
const { APP, Inbox, sleep } = require('../lib/util');
const { schedule, randomSeed, describe, NODES } = require('./schedule');
const { Recorder, accountPublishes, orderViolations, webhookConsumer, percentile } = require('./history');
const { SoakMesh } = require('./faults');
const { ResourceLog } = require('./resources');
const cli = require('../lib/rtmesh-cli');

const HOSTS = {
  b0: '10.215.0.10', b1: '10.215.0.11', b2: '10.215.0.12', b3: '10.215.0.13',
  n0: '10.215.0.20', n1: '10.215.0.21', n2: '10.215.0.22', c: '10.215.0.30',
};
const MINUTES = Number(process.env.SOAK_MINUTES || 20);
const SEED = process.env.SOAK_SEED ? Number(process.env.SOAK_SEED) >>> 0 : randomSeed();
// pusher-js pings after ACTIVITY_MS of silence and gives up PONG_MS later: a client cut off
// with its node notices within their sum.
const ACTIVITY_MS = 4000;
const PONG_MS = 4000;
// A missed publish must be followed by a closed connection within this: the ping above, plus
// the node's own detection of an owner it lost (3 missed 500 ms heartbeats, then the owner
// must confirm the channel) with a margin as large again.
const NOTICE_MS = ACTIVITY_MS + PONG_MS + 2 * 3500;
// After the last step every client must be subscribed again within this: pusher-js retries
// a refused connection with waits that double up to 60 s (its strategy's timeoutLimit).
const RECONNECT_MS = 75000;
// Presence must converge within this after a settled step: a client cut off with its node
// notices within ACTIVITY_MS + PONG_MS; the nodes replay subscriptions and members to the
// owners, which drop a dead node's members after 1500 ms of silence; with a wide margin.
const CONVERGE_MS = 15000;
const RESOURCE_EVERY_MS = 5000;
// Bounds over the run, per incarnation: descriptors (a node holds its clients' sockets, a
// broker its peers' links) and resident memory against the first sample (ASan's quarantine
// of freed memory, 256 MB by default, is the allowance).
const MAX_FDS = 512;
const RSS_GROWTH_KB = 320 * 1024;

const skip = available();
if (skip) console.log(`# soak skipped: ${skip}`);

// A client host script's stdout: history records to the recorder, answers to the inbox.
function follow(proc, recorder, inbox) {
  readline.createInterface({ input: proc.child.stdout }).on('line', (line) => {
    const rec = JSON.parse(line);
    if (rec.ctl) inbox.push(rec);
    else recorder.add(rec);
  });
}

// Sends cmd to the clients and resolves with their answer, the first of one of kinds.
async function ask(clients, inbox, cmd, kinds, ms) {
  clients.child.stdin.write(`${cmd}\n`);
  return inbox.next((m) => kinds.includes(m.ctl), `${kinds.join(' or ')} for "${cmd}"`, ms);
}

function printReport(r) {
  const kb = (x) => `${Math.round(x / 1024)}MB`;
  console.log(`# ===== soak report: seed=${SEED} minutes=${MINUTES} steps=${r.steps}`);
  console.log(`# faults by kind: ${Object.entries(r.faults).map(([k, n]) => `${k}=${n}`).join(' ')}`);
  const p = r.publishes;
  console.log(`# publishes: acked=${p.acked} received_by_all=${p.received} told_to_reconnect=${p.told} not_subscribed=${p.unsubscribed} lost=${p.lost} refused_or_failed=${r.refused}`);
  console.log(`# order violations: ${r.order.length}`);
  const dist = (v) => `p50=${percentile(v, 50)}ms p99=${percentile(v, 99)}ms max=${percentile(v, 100)}ms`;
  console.log(`# presence convergence after a settled step (${r.convergence.length}): ${dist(r.convergence)} unconverged=${r.unconverged.length}`);
  console.log(`# every client subscribed again ${r.reconnected} ms after the last step`);
  console.log(`# webhooks: delivered=${r.hooks.delivered} duplicated=${r.hooks.duplicated} online_equals_rest=${r.hooksMatch}`);
  for (const [name, s] of Object.entries(r.resources)) {
    console.log(`# ${name.padEnd(3)} rss start=${kb(s.start.rssKb)} end=${kb(s.end.rssKb)} max=${kb(s.max.rssKb)}  fds start=${s.start.fds} end=${s.end.fds} max=${s.max.fds}  starts=${s.lives.length}`);
  }
  console.log(`# unexpected exits: ${r.unexpected.length ? r.unexpected.join('; ') : 'none'}`);
}

test(`soak: ${MINUTES} min of random faults (seed ${SEED}); nothing acknowledged lost, order kept, presence and webhooks converge`, { skip: skip || false, timeout: MINUTES * 90000 + 300000 }, async (t) => {
  const steps = schedule(SEED, MINUTES * 60000);
  console.log(`# soak seed=${SEED} (repeat with SOAK_SEED=${SEED} SOAK_MINUTES=${MINUTES}); ${steps.length} steps:`);
  steps.forEach((s, i) => console.log(`#   ${String(i).padStart(3)} ${describe(s)}`));
  const historyFile = process.env.SOAK_HISTORY || path.join(os.tmpdir(), `rtmesh-soak-${SEED}.jsonl`);
  const recorder = new Recorder(historyFile);
  t.after(() => recorder.close());
  console.log(`# history: ${historyFile}`);

  const h = harness(t, HOSTS);
  const mesh = new SoakMesh(h, path.join(h.dir, 'apps.json'));
  const logs = historyFile.replace(/\.jsonl$/, '') + '.logs';
  t.after(() => mesh.saveLogs(logs));
  console.log(`# process logs: ${logs}/`);
  const inbox = new Inbox('the soak clients');
  const config = {
    nodes: NODES.map(h.endpoint), brokersFile: h.brokersFile, cliBin: cli.cliBin(), hookHost: HOSTS.c,
    activityMs: ACTIVITY_MS, pongMs: PONG_MS, restEveryMs: 50, reconnectMs: RECONNECT_MS, convergeMs: CONVERGE_MS,
  };
  h.writeBrokers(['b0', 'b1', 'b2']);
  const clients = h.script('c', '../soak/clients.js', [JSON.stringify(config)], 'clients');
  follow(clients, recorder, inbox);
  const { hookUrl } = await inbox.next((m) => m.ctl === 'ready', 'the clients to start', 15000);
  const hooks = ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed'];
  fs.writeFileSync(mesh.appsFile, JSON.stringify([{ ...APP, webhooks: [{ url: hookUrl, event_types: hooks }] }]));
  mesh.start();
  const first = await ask(clients, inbox, 'converge start all', ['converged', 'unconverged'], RECONNECT_MS + CONVERGE_MS + 15000);
  assert.equal(first.ctl, 'converged', `the mesh and its clients come up: ${first.why}`);
  clients.child.stdin.write('publish\n');

  const resources = new ResourceLog();
  resources.take(h.procs);
  const sampler = setInterval(() => resources.take(h.procs), RESOURCE_EVERY_MS);
  t.after(() => clearInterval(sampler));

  const convergence = []; // ms from a settled step's heal (or every client's return) to agreement
  let reconnected = null; // ms from the last heal to every client subscribed again
  const unconverged = [];
  const faults = {};
  for (const [i, s] of steps.entries()) {
    const at = Date.now();
    await mesh.apply(s);
    recorder.add({ t: 'fault', i, kind: s.kind, target: s.target, peer: s.peer, at, healed: Date.now() });
    faults[s.kind] = (faults[s.kind] || 0) + 1;
    if (s.settle) {
      const last = i === steps.length - 1;
      const answer = await ask(clients, inbox, `converge ${i}${last ? ' all' : ''}`, ['converged', 'unconverged'], RECONNECT_MS + CONVERGE_MS + 15000);
      if (answer.ctl !== 'converged') unconverged.push(`step ${i} (${describe(s)}): ${answer.why}`);
      else {
        convergence.push(answer.ms);
        if (last) reconnected = answer.reconnectMs;
      }
    }
    console.log(`# step ${i} done: ${describe(s)}`);
    await sleep(s.gapMs);
  }
  resources.take(h.procs);

  const flushed = await ask(clients, inbox, 'flush', ['flushed', 'unflushed'], RECONNECT_MS + 30000);
  // The webhook consumer must come to the REST truth: the last webhooks may still be on their way
  let truth;
  let consumer;
  let hooksMatch;
  const deadline = Date.now() + CONVERGE_MS;
  do {
    if (truth) await sleep(500);
    truth = (await ask(clients, inbox, 'truth', ['truth'], 15000)).users;
    consumer = webhookConsumer(recorder.records);
    hooksMatch = !!truth && Object.keys(truth).every((ch) => [...(consumer.online.get(ch) || [])].sort().join() === truth[ch].join());
  } while (!hooksMatch && Date.now() < deadline);
  clients.child.stdin.write('end\n');
  await clients.exited;

  const records = recorder.records;
  const report = {
    steps: steps.length,
    faults,
    publishes: accountPublishes(records, NOTICE_MS),
    refused: records.filter((r) => r.t === 'pub' && !r.ok).length,
    order: orderViolations(records, (ch) => ch.startsWith('cache-')),
    convergence,
    reconnected,
    unconverged,
    hooks: consumer,
    hooksMatch,
    resources: resources.summary(),
    unexpected: mesh.unexpected,
  };
  printReport(report);
  for (const l of report.publishes.lostPublishes.slice(0, 10)) console.log(`# lost: ${JSON.stringify(l)}`);
  for (const o of report.order.slice(0, 10)) console.log(`# order: ${JSON.stringify(o)}`);
  for (const u of unconverged) console.log(`# unconverged: ${u}`);
  if (!hooksMatch) console.log(`# webhook online ${JSON.stringify(Object.fromEntries([...consumer.online].map(([k, v]) => [k, [...v].sort()])))} vs REST ${JSON.stringify(truth)}`);

  assert.equal(flushed.ctl, 'flushed', `every client received the final markers: ${JSON.stringify(flushed.missing)}`);
  assert.equal(report.publishes.lost, 0, 'acknowledged publishes lost silently');
  assert.deepEqual(report.order, [], 'events out of order');
  assert.deepEqual(unconverged, [], 'presence converged after every settled step');
  assert.ok(hooksMatch, "the webhook consumer's online list equals the REST users list");
  assert.deepEqual(mesh.unexpected, [], 'every exit was one the schedule caused');
  for (const [name, s] of Object.entries(report.resources)) {
    for (const life of s.lives) {
      assert.ok(life.max.fds <= MAX_FDS, `${name}: ${life.max.fds} descriptors`);
      assert.ok(life.max.rssKb <= life.first.rssKb + RSS_GROWTH_KB, `${name}: RSS ${life.first.rssKb} kB -> ${life.max.rssKb} kB`);
    }
  }
});
