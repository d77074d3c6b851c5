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
//   subscribed   print {"subscribed":true} once both clients are subscribed to every channel
//                (again, after a reconnect)
//   end          stop publishing, wait 3 s for deliveries, print the report, exit
// Report per phase: acked, refused (by status), failed, lost, noticed, unsubscribed,
// reroute_ms (from the phase start to the send time of the first publish acknowledged after the
// phase's last refusal or failure; 0 without any) and disconnects (client connections that left
// "connected"). An acknowledged publish a client did not receive counts, per client, as:
//   unsubscribed  the client's subscription to the channel was not in place when it was sent
//                 (not subscribed again yet since its connection dropped): Pusher delivers
//                 nothing to a client that is not subscribed;
//   noticed       the client was subscribed, and its connection was closed within NOTICE_MS
//                 after the send (the server told it to reconnect, or died): a Pusher client
//                 knows it may have missed events around a reconnect; notice_ms is the
//                 longest such wait;
//   lost          otherwise: missed silently (must be 0).
// Without disconnects, lost is every acknowledged publish some client did not receive.
// zombies: refused publishes (an HTTP error status) some client received all the same: a 503
// after a timeout means the outcome is unknown (the broker's ACK may be what was lost).
// It prints {"ready":true} once both clients have subscribed every channel.

const readline = require('node:readline');
const PusherJs = require('pusher-js');
const PusherServer = require('pusher');

const APP = { id: 'app-id', key: 'app-key', secret: 'app-secret' };
const [nodeA, nodeB, nChannels = '8', rate = '100'] = process.argv.slice(2);
const CHANNELS = Array.from({ length: Number(nChannels) }, (_, i) => `load-${i}`);
const INTERVAL_MS = 1000 / Number(rate);
const MAX_IN_FLIGHT = 8;
const NOTICE_MS = 10000;

const say = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

function client(endpoint, state) {
  const [host, port] = endpoint.split(':');
  const c = new PusherJs(APP.key, {
    cluster: 'mt1', wsHost: host, wsPort: Number(port), forceTLS: false, enabledTransports: ['ws'], disableStats: true,
    activityTimeout: 60000,
  });
  c.received = new Set();
  c.downs = []; // when the connection left "connected"
  c.since = {}; // channel -> times its subscription succeeded
  c.connection.bind('state_change', ({ previous, current }) => {
    if (previous === 'connected' && current !== 'connected') {
      state.disconnects++;
      c.downs.push(Date.now());
    }
  });
  for (const name of CHANNELS) {
    c.since[name] = [];
    const ch = c.subscribe(name);
    ch.bind('load', (d) => c.received.add(d.seq));
    ch.bind('pusher:subscription_succeeded', () => c.since[name].push(Date.now()));
  }
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

// How client c stands towards acknowledged record r: 'received', 'unsubscribed', 'noticed'
// (with the wait for the notice) or 'lost'.
function fate(c, r) {
  if (c.received.has(r.seq)) return { kind: 'received' };
  const since = c.since[CHANNELS[r.seq % CHANNELS.length]].filter((t) => t <= r.sent);
  const subscribed = since.length && !c.downs.some((d) => d >= since[since.length - 1] && d <= r.sent);
  if (!subscribed) return { kind: 'unsubscribed' };
  const notice = c.downs.find((d) => d > r.sent && d <= r.sent + NOTICE_MS);
  return notice === undefined ? { kind: 'lost' } : { kind: 'noticed', wait: notice - r.sent };
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
    const count = { lost: 0, noticed: 0, unsubscribed: 0 };
    let noticeMs = 0;
    for (const r of mine.filter((x) => x.status === 200)) {
      const fates = clients.map((c) => fate(c, r));
      for (const f of fates) if (f.kind === 'noticed') noticeMs = Math.max(noticeMs, f.wait);
      // one count per publish: lost if any client lost it, else the worst other fate
      for (const kind of ['lost', 'noticed', 'unsubscribed'])
        if (fates.some((f) => f.kind === kind)) {
          count[kind]++;
          break;
        }
    }
    out.push({
      phase: p.name,
      published: mine.length,
      acked: mine.filter((r) => r.status === 200).length,
      refused,
      failed: bad.filter((r) => r.status <= 0).length,
      lost: count.lost,
      noticed: count.noticed,
      notice_ms: noticeMs,
      unsubscribed: count.unsubscribed,
      zombies: bad.filter((r) => r.status > 0 && clients.some((c) => c.received.has(r.seq))).length,
      reroute_ms: lastBad === null ? 0 : after ? after.sent - p.start : null,
      last_bad: bad.slice(-3).map((r) => ({ at: r.sent - p.start, status: r.status, took: r.done - r.sent, via: r.seq % 2, ch: r.seq % CHANNELS.length })),
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
  } else if (cmd === 'subscribed') {
    const poll = setInterval(() => {
      if (!clients.every(subscribed)) return;
      clearInterval(poll);
      say({ subscribed: true });
    }, 50);
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
