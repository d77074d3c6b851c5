'use strict';
// A pusher-js client over wss:// in a process of its own, started by lib/tls.js. Node reads the
// CAs it trusts once, at start (NODE_EXTRA_CA_CERTS), and pusher-js takes no CA option, so
// trusting a test's CA means a process started with it, as a user's Node app would be.
//
// Usage: node pusher-js-tls-child.js PORT APP_KEY CHANNEL...
// Connects with forceTLS (the official client, unmodified), subscribes to every CHANNEL and
// prints one JSON line per thing a test waits for: {type: 'state', current},
// {type: 'subscribed', channel}, {type: 'event', channel, event, data}.

const Pusher = require('pusher-js');

const [port, key, ...channels] = process.argv.slice(2);
const say = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);

const client = new Pusher(key, {
  cluster: 'mt1',
  wsHost: 'localhost',
  wssPort: Number(port),
  forceTLS: true,
  enabledTransports: ['ws'],
  disableStats: true,
});
client.connection.bind('state_change', ({ current }) => say({ type: 'state', current }));
for (const name of channels) {
  const channel = client.subscribe(name);
  channel.bind('pusher:subscription_succeeded', () => say({ type: 'subscribed', channel: name }));
  channel.bind_global((event, data) => {
    if (!event.startsWith('pusher:')) say({ type: 'event', channel: name, event, data });
  });
}
process.on('SIGTERM', () => {
  client.disconnect();
  process.exit(0);
});
