'use strict';
// Steady publish load with real clients, run inside a "client host" (a network namespace) by
// the multi-host test, which steers it through stdin and reads its stdout (one JSON per line).
//
// Usage: node netns-load.js <host:port of node 0> <host:port of node 1> [channels] [rate/s]
// One pusher-js client per node subscribes every channel "load-<i>"; the `pusher` server SDK
// publishes {seq} round-robin over the channels and alternately through either node, at most
// 8 requests in flight. Each publish is recorded: sent time, answer time, 200 (acknowledged)
// or refused (an HTTP error status, e.g. 503) or failed (no answer). The test's commands:
//   phase NAME   later publishes belong to phase NAME (its start time is now); answered with
//                {"phase":NAME}, so the test injects a phase's fault only after publishes
//                sent before it are counted in the previous phase
//   end          stop publishing, wait 3 s for deliveries, print the report, exit
// Report per phase: acked, refused (by status), failed, lost (acknowledged but not received by
// both clients), reroute_ms (from the phase start to the send time of the first publish
// acknowledged after the phase's last refusal or failure; 0 without any) and disconnects
// (client connections that left "connected"). It prints {"ready":true} once both clients
// have subscribed every channel.

const readline = require('node:readline');
const PusherJs = require('pusher-js');
const PusherServer = require('pusher');

const APP = { id: 'app-id', key: 'app-key', secret: 'app-secret' };
const [nodeA, nodeB, nChannels = '8', rate = '100'] = process.argv.slice(2);
const CHANNELS = Array.from({ length: Number(nChannels) }, (_, i) => `load-${i}`);
const INTERVAL_MS = 1000 / Number(rate);
const MAX_IN_FLIGHT = 8;

const say = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

function client(endpoint, state) {
  const [host, port] = endpoint.split(':');
  const c = new PusherJs(APP.key, {
    cluster: 'mt1', wsHost: host, wsPort: Number(port), forceTLS: false, enabledTransports: ['ws'], disableStats: true,
    activityTimeout: 60000,
  });
  c.received = new Set();
  c.connection.bind('state_change', ({ previous, current }) => {
    if (previous === 'connected' && current !== 'connected') state.disconnects++;
  });
  for (const name of CHANNELS) c.subscribe(name).bind('load', (d) => c.received.add(d.seq));
  return c;
}

function server(endpoint) {
  const [host, port] = endpoint.split(':');
  return new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host, port, useTLS: false, timeout: 5000 });
}

const state = { disconnects: 0 };
const clients = [client(nodeA, state), client(nodeB, state)];
const servers = [server(nodeA), server(nodeB)];
const records = []; // {seq, phase, sent, done, status}
let phase = { name: 'warmup', start: Date.now() };
const phases = [phase];
let seq = 0;
let inFlight = 0;
let publishing = true;

function publishOne() {
  if (!publishing || inFlight >= MAX_IN_FLIGHT) return;
  const rec = { seq: seq++, phase: phase.name, sent: Date.now(), done: 0, status: 0 };
  records.push(rec);
  inFlight++;
  const channel = CHANNELS[rec.seq % CHANNELS.length];
  servers[rec.seq % 2]
    .trigger(channel, 'load', { seq: rec.seq })
    .then(() => (rec.status = 200))
    .catch((err) => (rec.status = err.status || -1))
    .finally(() => {
      rec.done = Date.now();
      inFlight--;
    });
}

function subscribed(c) {
  return CHANNELS.every((n) => c.channel(n) && c.channel(n).subscribed);
}

function report() {
  const out = [];
  for (const p of phases) {
    const mine = records.filter((r) => r.phase === p.name);
    const bad = mine.filter((r) => r.status !== 200);
    const lastBad = bad.length ? Math.max(...bad.map((r) => r.sent)) : null;
    const after = lastBad === null ? null : mine.find((r) => r.status === 200 && r.sent > lastBad);
    const refused = {};
    for (const r of bad) if (r.status > 0) refused[r.status] = (refused[r.status] || 0) + 1;
    out.push({
      phase: p.name,
      published: mine.length,
      acked: mine.filter((r) => r.status === 200).length,
      refused,
      failed: bad.filter((r) => r.status <= 0).length,
      lost: mine.filter((r) => r.status === 200 && !clients.every((c) => c.received.has(r.seq))).length,
      reroute_ms: lastBad === null ? 0 : after ? after.sent - p.start : null,
    });
  }
  return out;
}

let ticker = null;
const waitReady = setInterval(() => {
  if (clients.every(subscribed)) {
    clearInterval(waitReady);
    phase.start = Date.now();
    ticker = setInterval(publishOne, INTERVAL_MS); // what is published is subscribed
    say({ ready: true });
  }
}, 50);

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'phase') {
    phase = { name: arg, start: Date.now() };
    phases.push(phase);
    say({ phase: arg });
  } else if (cmd === 'end') {
    publishing = false;
    clearInterval(ticker);
    setTimeout(() => {
      say({ report: report(), disconnects: state.disconnects });
      for (const c of clients) c.disconnect();
      setTimeout(() => process.exit(0), 200);
    }, 3000);
  }
});
