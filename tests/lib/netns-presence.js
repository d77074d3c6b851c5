'use strict';
// Presence members on one node watched from another, run inside a "client host" (a network
// namespace) by a multi-host test, which reads its stdout (one JSON per line) and ends it with
// "end" on stdin.
//
// Usage: node netns-presence.js <host:port of the members' node> <host:port of the watcher's
//        node> <channel> <members>
// `members` pusher-js clients join the presence channel on the first node as m0, m1, ...; one
// watcher joins it on the second node. Channel authorization is signed in this process with
// the `pusher` SDK (pusher-js customHandler), as an app's auth endpoint would. Prints
// {"ready":true} once the watcher sees every member, then {"removed": id, "t": ms} or
// {"added": id, "t": ms} for every member_removed / member_added the watcher gets.

const readline = require('node:readline');
const PusherJs = require('pusher-js');
const PusherServer = require('pusher');

const APP = { id: 'app-id', key: 'app-key', secret: 'app-secret' };
const [membersAt, watcherAt, channel, nMembers] = process.argv.slice(2);
const signer = new PusherServer({ appId: APP.id, key: APP.key, secret: APP.secret, host: '127.0.0.1' });
const say = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

function client(endpoint, userId) {
  const [host, port] = endpoint.split(':');
  return new PusherJs(APP.key, {
    cluster: 'mt1', wsHost: host, wsPort: Number(port), forceTLS: false, enabledTransports: ['ws'], disableStats: true,
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, cb) => cb(null, signer.authorizeChannel(socketId, channelName, { user_id: userId, user_info: {} })),
    },
  });
}

const clients = [];
for (let i = 0; i < Number(nMembers); i++) {
  const c = client(membersAt, `m${i}`);
  c.subscribe(channel);
  clients.push(c);
}
const watcher = client(watcherAt, 'watcher');
clients.push(watcher);
const watched = watcher.subscribe(channel);
watched.bind('pusher:member_removed', (m) => say({ removed: m.id, t: Date.now() }));
watched.bind('pusher:member_added', (m) => say({ added: m.id, t: Date.now() }));
const waitReady = setInterval(() => {
  if (watched.subscribed && watched.members.count === Number(nMembers) + 1) {
    clearInterval(waitReady);
    say({ ready: true });
  }
}, 50);

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'end') return;
  for (const c of clients) c.disconnect();
  setTimeout(() => process.exit(0), 200);
});
