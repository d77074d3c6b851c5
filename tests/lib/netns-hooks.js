'use strict';
// A webhook consumer and presence members, run inside a "client host" (a network namespace) by
// a multi-host test, which reads its stdout (one JSON per line) and writes commands to stdin.
//
// Usage: node netns-hooks.js '<json: {hookHost, node: "host:port", channels: [...], members}>'
// Prints {"url": ...} once the webhook receiver (lib/webhook-receiver.js) listens on hookHost.
// Commands: "join" — `members` pusher-js clients (m0, m1, ...) connect to the node and join
// every presence channel, then {"joined": true}; "hooks" — {"hooks": [{name, channel, user}]},
// every webhook event received so far, in order (a request the receiver answered before the
// command is in it); "truth" — {"truth": {channel: sorted ids}}, the REST users lists asked
// of the node; "end" — disconnect and exit.

const readline = require('node:readline');
const PusherJs = require('pusher-js');
const PusherServer = require('pusher');
const { WebhookReceiver } = require('./webhook-receiver');
const { APP } = require('./util');

const config = JSON.parse(process.argv[2]);
const [host, port] = config.node.split(':');
const sdk = new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host, port, useTLS: false });
const say = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

const hooks = [];
const receiver = new WebhookReceiver(APP, { host: config.hookHost });
receiver.onRequest = (r) => {
  if (!r.valid) say({ bad: r.rawBody.slice(0, 200) });
  for (const e of r.data ? r.data.events : []) hooks.push({ name: e.name, channel: e.channel, user: e.user_id });
};

const clients = [];
function join() {
  for (let i = 0; i < config.members; i++) {
    const c = new PusherJs(APP.key, {
      cluster: 'mt1', wsHost: host, wsPort: Number(port), forceTLS: false, enabledTransports: ['ws'], disableStats: true,
      channelAuthorization: {
        customHandler: ({ socketId, channelName }, cb) => cb(null, sdk.authorizeChannel(socketId, channelName, { user_id: `m${i}`, user_info: {} })),
      },
    });
    clients.push({ c, channels: config.channels.map((ch) => c.subscribe(ch)) });
  }
  const ready = setInterval(() => {
    if (!clients.every(({ channels }) => channels.every((ch) => ch.subscribed))) return;
    clearInterval(ready);
    say({ joined: true });
  }, 50);
}

async function truth() {
  const users = {};
  for (const ch of config.channels) {
    const res = await sdk.get({ path: `/channels/${ch}/users` });
    users[ch] = (await res.json()).users.map((u) => u.id).sort();
  }
  return users;
}

receiver.start().then(() => say({ url: receiver.url('/hooks') }));
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'join') join();
  else if (cmd === 'hooks') say({ hooks });
  else if (cmd === 'truth') truth().then((t) => say({ truth: t }), (e) => say({ truth: null, error: String(e) }));
  else if (cmd === 'end') {
    for (const { c } of clients) c.disconnect();
    receiver.stop().then(() => process.exit(0));
  }
});
