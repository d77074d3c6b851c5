'use strict';
// The soak's load and its observers, run inside the client host (a network namespace) by
// soak.test.js, which reads its stdout (one JSON record per line: history.js's records, and
// {ctl: ...} answers) and steers it through stdin.
//
// Usage: node clients.js <config JSON>: {nodes: ["host:port", ...], brokersFile, cliBin,
//   hookHost, activityMs, pongMs, restEveryMs, reconnectMs, convergeMs}
// On every node two pusher-js clients subscribe every channel: public ones, cache ones and
// presence ones (each client is its own user; authorization signed here with the `pusher`
// SDK, as an app's auth endpoint would). Publishers, each sending one event at a time with a
// rising sequence number: one `pusher` SDK (REST) per node, and the `rtmesh publish` command
// (librtmesh) over the brokers file. A webhook receiver (lib/webhook-receiver.js) on this host
// records member_added / member_removed / channel_occupied / channel_vacated.
// Commands:
//   publish      start the publishers
//   converge ID [all]
//                print {ctl:'converged', id, ms} once, per presence channel, the REST users
//                list, the clients subscribed to it and each one's member list agree;
//                {ctl:'unconverged', id, why} if they do not within convergeMs. With all,
//                every client must be connected and subscribed again first (within
//                reconnectMs; reconnectMs in the answer is how long that took)
//   flush        stop publishing; publish one marker per channel through the first node that
//                takes it, and print {ctl:'flushed'} once every client received every marker
//                (events are ordered per publisher, so everything before has arrived too), or
//                {ctl:'unflushed', missing} if they did not within reconnectMs
//   truth        print {ctl:'truth', users: {channel: [user ids]}} from the REST users query
//   end          disconnect everything and exit

const { spawn } = require('node:child_process');
const readline = require('node:readline');
const PusherJs = require('pusher-js');
const PusherServer = require('pusher');
const { WebhookReceiver } = require('../lib/webhook-receiver');
const { APP } = require('../lib/util');

const config = JSON.parse(process.argv[2]);
const PUBLIC = ['soak-0', 'soak-1', 'soak-2', 'soak-3'];
const CACHE = ['cache-soak-0', 'cache-soak-1'];
const PRESENCE = ['presence-soak-0', 'presence-soak-1'];
const CHANNELS = [...PUBLIC, ...CACHE, ...PRESENCE];
const POLL_MS = 100;

const say = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const sdk = (endpoint) => {
  const [host, port] = endpoint.split(':');
  return new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host, port, useTLS: false, timeout: 5000 });
};
const signer = sdk(config.nodes[0]);

// A pusher-js client named name (its user id too) on the node at endpoint, recording its life.
function client(endpoint, name) {
  const [host, port] = endpoint.split(':');
  const c = new PusherJs(APP.key, {
    cluster: 'mt1', wsHost: host, wsPort: Number(port), forceTLS: false, enabledTransports: ['ws'], disableStats: true,
    activityTimeout: config.activityMs, pongTimeout: config.pongMs,
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, cb) => cb(null, signer.authorizeChannel(socketId, channelName, { user_id: name, user_info: {} })),
    },
  });
  c.name = name;
  c.connection.bind('state_change', ({ previous, current }) => {
    if (previous === 'connected' && current !== 'connected') say({ t: 'down', c: name, at: Date.now() });
  });
  for (const ch of CHANNELS) {
    const channel = c.subscribe(ch);
    channel.bind('pusher:subscription_succeeded', () => say({ t: 'sub', c: name, ch, at: Date.now() }));
    channel.bind('ev', (d) => {
      say({ t: 'recv', c: name, ch, p: d.p, s: d.s, at: Date.now() });
      if (d.p === 'flush') markersSeen.add(`${name}|${ch}|${d.s}`);
    });
  }
  return c;
}

const markersSeen = new Set(); // "client|channel|seq" of every flush marker received
const clients = config.nodes.flatMap((endpoint, k) => [client(endpoint, `n${k}a`), client(endpoint, `n${k}b`)]);
const allSubscribed = () => clients.every((c) => c.connection.state === 'connected' && CHANNELS.every((ch) => c.channel(ch).subscribed));

// ---- publishers: each sends one event at a time, so its events are ordered ----------------

let publishing = false;
const seq = new Map(); // publisher -> next sequence number

// Publishes one event of publisher p on ch with send(ch, data) (a promise of true when
// acknowledged); records it.
async function publishOne(p, ch, send) {
  const s = seq.get(p) || 0;
  seq.set(p, s + 1);
  const sent = Date.now();
  let status;
  try {
    status = await send(ch, { p, s });
  } catch (err) {
    status = err.status || -1;
  }
  say({ t: 'pub', p, ch, s, sent, done: Date.now(), ok: status === 200, status });
  return status === 200;
}

const viaRest = (server) => (ch, data) => server.trigger(ch, 'ev', data).then(() => 200);

// `rtmesh publish` (librtmesh): 200 for exit 0, else the exit code (128 for a signal) as a
// negative status.
function viaCli(ch, data) {
  return new Promise((resolve) => {
    const args = ['publish', '--brokers-file', config.brokersFile, '--app', APP.id, ch, 'ev', JSON.stringify(data)];
    const child = spawn(config.cliBin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.once('exit', (code) => {
      if (/Sanitizer|runtime error:/.test(stderr)) say({ ctl: 'sanitizer', what: 'rtmesh publish', stderr });
      resolve(code === 0 ? 200 : -(code || 128)); // 128: ended by a signal
    });
  });
}

async function publisher(p, send, everyMs) {
  for (let i = 0; publishing; i++) {
    await publishOne(p, CHANNELS[i % CHANNELS.length], send);
    await sleep(everyMs);
  }
}

let running = [];
function startPublishers() {
  publishing = true;
  running = [
    ...config.nodes.map((endpoint, k) => publisher(`rest${k}`, viaRest(sdk(endpoint)), config.restEveryMs)),
    publisher('cli', viaCli, config.restEveryMs),
  ];
}

// ---- webhooks -------------------------------------------------------------------------------

const receiver = new WebhookReceiver(APP, { host: config.hookHost });
receiver.onRequest = (r) => {
  if (!r.valid) say({ ctl: 'bad-webhook', body: r.rawBody.slice(0, 200) });
  for (const e of r.data ? r.data.events : []) say({ t: 'hook', name: e.name, ch: e.channel, user: e.user_id, at: r.at });
};

// ---- presence truth and convergence -----------------------------------------------------------

let nodeTurn = 0;
// The REST users list of every presence channel ({channel: sorted ids}), asked of the nodes in
// turn until one answers; null if none does.
async function restUsers() {
  for (let i = 0; i < config.nodes.length; i++) {
    const server = sdk(config.nodes[nodeTurn++ % config.nodes.length]);
    try {
      const users = {};
      for (const ch of PRESENCE) {
        const res = await server.get({ path: `/channels/${ch}/users` });
        users[ch] = (await res.json()).users.map((u) => u.id).sort();
      }
      return users;
    } catch {}
  }
  return null;
}

// Why presence has not converged among the clients subscribed to each presence channel now,
// or null once, per channel, the REST users list, their ids and each one's member list agree.
async function divergence() {
  const users = await restUsers();
  if (!users) return 'no node answers the REST users query';
  for (const ch of PRESENCE) {
    const present = clients.filter((c) => c.connection.state === 'connected' && c.channel(ch).subscribed);
    const expected = present.map((c) => c.name).sort().join();
    if (users[ch].join() !== expected) return `${ch}: REST users ${users[ch].join()} != subscribed ${expected}`;
    for (const c of present) {
      const seen = Object.keys(c.channel(ch).members.members).sort().join();
      if (seen !== expected) return `${ch}: ${c.name} sees ${seen} != ${expected}`;
    }
  }
  return null;
}

// With all: waits for every client to be subscribed again (within reconnectMs) first. Then
// waits for presence to agree, within convergeMs.
async function converge(id, all) {
  const start = Date.now();
  while (all && !allSubscribed()) {
    if (Date.now() - start > config.reconnectMs) return say({ ctl: 'unconverged', id, why: 'not every client is connected and subscribed again' });
    await sleep(POLL_MS);
  }
  const subscribed = Date.now();
  let why = null;
  while (Date.now() - subscribed <= config.convergeMs) {
    why = await divergence();
    if (!why) return say({ ctl: 'converged', id, ms: Date.now() - subscribed, reconnectMs: subscribed - start });
    await sleep(POLL_MS);
  }
  return say({ ctl: 'unconverged', id, why });
}

async function flush() {
  publishing = false;
  await Promise.all(running);
  const markers = [];
  for (const ch of CHANNELS) {
    for (let k = 0; ; k = (k + 1) % config.nodes.length) {
      const s = seq.get('flush') || 0;
      if (await publishOne('flush', ch, viaRest(sdk(config.nodes[k])))) {
        markers.push({ ch, s });
        break;
      }
      await sleep(POLL_MS);
    }
  }
  const missing = () => clients.flatMap((c) => markers.filter((m) => !markersSeen.has(`${c.name}|${m.ch}|${m.s}`)).map((m) => `${c.name}:${m.ch}`));
  const start = Date.now();
  while (missing().length && Date.now() - start <= config.reconnectMs) await sleep(POLL_MS);
  say(missing().length ? { ctl: 'unflushed', missing: missing() } : { ctl: 'flushed' });
}

receiver.start().then(() => say({ ctl: 'ready', hookUrl: receiver.url('/hooks') }));

readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  const [cmd, arg, all] = line.trim().split(/\s+/);
  if (cmd === 'publish') startPublishers();
  else if (cmd === 'converge') await converge(arg, all === 'all');
  else if (cmd === 'flush') await flush();
  else if (cmd === 'truth') say({ ctl: 'truth', users: await restUsers() });
  else if (cmd === 'end') {
    for (const c of clients) c.disconnect();
    await receiver.stop();
    setTimeout(() => process.exit(0), 200);
  }
});
