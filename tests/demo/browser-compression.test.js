'use strict';
// pusher-js in headless Chromium with permessage-deflate: Chromium offers it on every
// WebSocket, the node accepts it, and every event pusher-js decodes arrived compressed. The
// DevTools protocol shows the handshake the browser saw; the node's /metrics show that each
// event went out as a compressed frame. Chromium compresses its own messages too (subscribe,
// ping), so the node inflates them on the way.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { test } = require('node:test');
const { APP, HOST, useMesh, publish, uniqueChannel, getMetrics, metricSum, waitUntil } = require('../lib/mesh');
const { launchBrowser, openPage, waitFor } = require('../lib/browser');

const PUSHER_JS = path.join(__dirname, '..', 'node_modules', 'pusher-js', 'dist', 'web', 'pusher.min.js');
const EVENTS = 20; // of each kind
let browser;
let pageServer;
let page0; // http://127.0.0.1:<port>/ : an empty page with pusher-js

// Serves the page from loopback: Chromium lets only a page of a local origin open a WebSocket
// to a local address (its local network access checks block about:blank).
function servePage() {
  const server = http.createServer((req, res) => {
    if (req.url === '/pusher.min.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(fs.readFileSync(PUSHER_JS));
    } else if (req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><title>compression</title><link rel="icon" href="data:,"><script src="/pusher.min.js"></script>');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(0, HOST, () => resolve(server)));
}

const mesh = useMesh(
  { shards: 2, nodes: 2, workers: 2 },
  {
    async setup() {
      browser = await launchBrowser();
      pageServer = await servePage();
      page0 = `http://${HOST}:${pageServer.address().port}/`;
    },
    async teardown() {
      if (browser) await browser.close();
      if (pageServer) await new Promise((resolve) => pageServer.close(resolve));
    },
  },
);

// A dashboard update of about 2 KB and a chat line of about 200 B, numbered.
function dashboard(seq) {
  const metrics = [];
  for (let i = 0; i < 24; i++) metrics.push({ name: `http_requests_${i}`, value: 1000 + i * 37.25 + seq, unit: 'req/s', trend: i % 3 ? 'up' : 'down', p95: 20 + i * 3 });
  return JSON.stringify({ seq, ts: 1733500000123 + seq, host: 'web-17', metrics });
}
const chat = (seq) => JSON.stringify({ seq, user: 'alice', text: 'see you at the standup in five minutes, bring the numbers', ts: 1733500000123 + seq });

async function deflatedOut(node) {
  return metricSum((await getMetrics(mesh().nodePort(node))).samples, 'rtmesh_deflated_out_total') ?? 0;
}

test('pusher-js in Chromium negotiates permessage-deflate and decodes every compressed event', async () => {
  const page = await openPage(browser);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const handshakes = [];
  cdp.on('Network.webSocketHandshakeResponseReceived', (e) => handshakes.push(e.response.headers));
  await page.goto(page0);

  const channel = uniqueChannel('browser-deflate');
  await page.evaluate(
    ({ key, host, port, channel }) => {
      window.received = [];
      window.subscribed = false;
      const pusher = new Pusher(key, { cluster: 'mt1', wsHost: host, wsPort: port, forceTLS: false, enabledTransports: ['ws'], disableStats: true });
      const ch = pusher.subscribe(channel);
      ch.bind('pusher:subscription_succeeded', () => {
        window.subscribed = true;
      });
      ch.bind('update', (data) => window.received.push(['update', JSON.stringify(data)]));
      ch.bind('chat', (data) => window.received.push(['chat', JSON.stringify(data)]));
    },
    { key: APP.key, host: HOST, port: mesh().nodePort(0), channel },
  );
  await waitFor(page, 'the subscription (a compressed subscribe inflated by the node)', () => window.subscribed);
  assert.equal(handshakes.length, 1);
  const ext = Object.entries(handshakes[0]).find(([k]) => k.toLowerCase() === 'sec-websocket-extensions');
  assert.equal(ext && ext[1], 'permessage-deflate; server_no_context_takeover; client_no_context_takeover');

  const before = await deflatedOut(0);
  const sent = [];
  for (let seq = 0; seq < EVENTS; seq++) {
    for (const [name, data] of [['update', dashboard(seq)], ['chat', chat(seq)]]) {
      await publish(mesh().nodePort(1), { name, channels: [channel], data });
      sent.push([name, data]);
    }
  }
  await waitFor(page, `${sent.length} events`, (n) => window.received.length >= n, sent.length);
  assert.deepEqual(await page.evaluate(() => window.received), sent);
  // every one of them went out compressed (both kinds are over the threshold)
  await waitUntil(async () => (await deflatedOut(0)) === before + sent.length, `${sent.length} compressed deliveries`);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
