'use strict';
// Sequential publishers and subscribers that record every event they receive, run inside a
// "client host" (a network namespace) by a multi-host test, steered through stdin, answering on
// stdout (one JSON per line). What a Pusher user relies on: a publish answered with an error
// is never delivered later, and one publisher's events arrive in the order it sent them.
//
// Usage: node netns-ordered.js <publish host:port> <subscribe host:port>[,...] [publishers] [channels]
// One pusher-js client per subscribe endpoint subscribes every channel "ordered-<i>"; each
// publisher (the `pusher` server SDK, through the publish endpoint) sends one event at a time,
// {p, n} with its own rising n, round-robin over the channels. Commands:
//   end   stop publishing, wait 3 s for deliveries, print {report: {statuses, received}}, exit
//         statuses[p][n]: 200 (acknowledged), an HTTP error status, or -1 (no answer);
//         received[client][channel]: the [p, n] pairs that client received, in arrival order
// It prints {"ready":true} once every client has subscribed every channel and publishing began.

const readline = require('node:readline');
const PusherJs = require('pusher-js');
const PusherServer = require('pusher');

const APP = { id: 'app-id', key: 'app-key', secret: 'app-secret' };
const [via, subs, nPublishers = '4', nChannels = '8'] = process.argv.slice(2);
const CHANNELS = Array.from({ length: Number(nChannels) }, (_, i) => `ordered-${i}`);

const say = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const hostPort = (endpoint) => {
  const [host, port] = endpoint.split(':');
  return { host, port: Number(port) };
};

const clients = subs.split(',').map((endpoint) => {
  const { host, port } = hostPort(endpoint);
  const c = new PusherJs(APP.key, { cluster: 'mt1', wsHost: host, wsPort: port, forceTLS: false, enabledTransports: ['ws'], disableStats: true });
  c.received = Object.fromEntries(CHANNELS.map((name) => [name, []]));
  for (const name of CHANNELS) c.subscribe(name).bind('ordered', (d) => c.received[name].push([d.p, d.n]));
  return c;
});
const server = new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, ...hostPort(via), useTLS: false, timeout: 10000 });

const statuses = Array.from({ length: Number(nPublishers) }, () => []);
let publishing = true;
async function publisher(p) {
  for (let n = 0; publishing; n++) {
    const channel = CHANNELS[(n + p) % CHANNELS.length];
    statuses[p][n] = await server.trigger(channel, 'ordered', { p, n }).then(() => 200, (err) => err.status || -1);
  }
}

const ready = setInterval(() => {
  if (!clients.every((c) => CHANNELS.every((name) => c.channel(name).subscribed))) return;
  clearInterval(ready);
  const running = statuses.map((_, p) => publisher(p));
  say({ ready: true });
  readline.createInterface({ input: process.stdin }).on('line', async (line) => {
    if (line.trim() !== 'end') return;
    publishing = false;
    await Promise.all(running);
    setTimeout(() => {
      say({ report: { statuses, received: clients.map((c) => c.received) } });
      for (const c of clients) c.disconnect();
      setTimeout(() => process.exit(0), 200);
    }, 3000);
  });
}, 50);
