'use strict';
// The client round trip of the deployment checks (deploy/ci-image.sh, deploy/ci-compose.sh):
// waits until the mesh behind 127.0.0.1:<port> answers /readyz 200, connects pusher-js
// clients (several, so that behind a load balancer they land on different nodes), subscribes
// each to CHANNELS channels (many, so that they are spread over every shard), publishes to all
// of them in one call of the `pusher` SDK on the same port, and checks that every client
// receives the event on every channel. Exits 0 when all arrived, 1 with the reason otherwise.
// Usage: node tests/deploy/roundtrip.js <port> [clients]

const http = require('node:http');
const { connectPusherJs, subscribe, waitForEvent, serverSdk } = require('../lib/pusher-clients');
const { HOST, waitUntil, uniqueChannel } = require('../lib/util');

const READY_MS = 30000; // containers start, brokers and nodes find each other
const EVENTS = 3;
const CHANNELS = 16; // the SDK's trigger takes up to 100

function readyz(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path: '/readyz', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

async function main() {
  const port = Number(process.argv[2]);
  const nClients = Number(process.argv[3] || 4);
  if (!Number.isInteger(port) || port <= 0) throw new Error('usage: roundtrip.js <port> [clients]');
  await waitUntil(() => readyz(port), `/readyz 200 on ${HOST}:${port}`, READY_MS, 200);
  const names = Array.from({ length: CHANNELS }, () => uniqueChannel('deploy'));
  const clients = [];
  try {
    const channels = [];
    for (let i = 0; i < nClients; i++) {
      const client = await connectPusherJs(port);
      clients.push(client);
      for (const name of names) channels.push(await subscribe(client, name));
    }
    const sdk = serverSdk(port);
    for (let n = 0; n < EVENTS; n++) {
      const waits = channels.map((ch) => waitForEvent(ch, 'deployed'));
      const res = await sdk.trigger(names, 'deployed', { n });
      if (res.status !== 200) throw new Error(`trigger answered ${res.status}`);
      const got = await Promise.all(waits);
      got.forEach((data, i) => {
        if (data.n !== n) throw new Error(`subscription ${i} got ${JSON.stringify(data)}, expected n=${n}`);
      });
    }
    const sockets = new Set(clients.map((c) => c.connection.socket_id.split('.')[0]));
    console.log(`roundtrip: ${nClients} pusher-js clients received ${EVENTS} events on each of ${CHANNELS} channels published with ` +
      `the pusher SDK through ${HOST}:${port} (${sockets.size} distinct socket-id prefixes)`);
  } finally {
    for (const c of clients) c.disconnect();
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(`roundtrip: FAILED: ${err.message}`);
  process.exit(1);
});
