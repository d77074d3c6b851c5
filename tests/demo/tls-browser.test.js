'use strict';
// Headless Chromium (Debian's) with pusher-js over wss:// to nodes with TLS on a 2-node,
// 2-shard mesh. The test's CA is installed where Chromium on Linux finds the CAs a user added
// (an NSS database in the HOME it starts with): the browser verifies the node's certificate
// as it would a public one and nothing is ignored (no ignoreHTTPSErrors). A browser without
// the CA refuses the same certificate, so the CA is what makes it work.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const path = require('node:path');
const { test } = require('node:test');
const { useMesh, APP, uniqueChannel } = require('../lib/mesh');
const { launchBrowser, openPage, waitFor } = require('../lib/browser');
const { serverSdk } = require('../lib/pusher-clients');
const { makeTestCa, browserHomeTrusting } = require('../lib/tls');

const PUSHER_JS = path.join(__dirname, '..', 'node_modules', 'pusher-js', 'dist', 'web', 'pusher.min.js');
const ca = makeTestCa();
const pair = ca.issue('node', 'rtmesh-node');
let page; // the page server: http://127.0.0.1:port/ with pusher-js (http pages may open wss://)
const mesh = useMesh(
  { shards: 2, nodes: 2, workers: 2, nodeEnv: { RTMESH_TLS_CERT: pair.cert, RTMESH_TLS_KEY: pair.key } },
  {
    setup: async () => {
      page = http.createServer((req, res) => {
        if (req.url === '/pusher.js') {
          res.writeHead(200, { 'content-type': 'text/javascript' });
          res.end(fs.readFileSync(PUSHER_JS));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><title>tls</title><script src="/pusher.js"></script>');
      });
      await new Promise((resolve) => page.listen(0, '127.0.0.1', resolve));
    },
    teardown: async () => {
      await new Promise((resolve) => page.close(resolve));
      ca.remove();
    },
  },
);
const pageUrl = () => `http://127.0.0.1:${page.address().port}/`;

test('pusher-js in Chromium connects with forceTLS and receives what the SDK publishes over https:// to the other node', async (t) => {
  const browser = await launchBrowser({ ...process.env, HOME: browserHomeTrusting(ca.dir, ca.caFile) });
  t.after(() => browser.close());
  const tab = await openPage(browser);
  await tab.goto(pageUrl());
  const channel = uniqueChannel('browser-tls');
  await tab.evaluate(({ port, key, name }) => new Promise((resolve, reject) => {
    window.got = [];
    const pusher = new Pusher(key, { cluster: 'mt1', wsHost: 'localhost', wssPort: port, forceTLS: true, enabledTransports: ['ws'], disableStats: true });
    pusher.connection.bind('state_change', ({ current }) => {
      if (current === 'unavailable' || current === 'failed') reject(new Error(`pusher-js ${current}`));
    });
    const ch = pusher.subscribe(name);
    ch.bind('hello', (data) => window.got.push(data));
    ch.bind('pusher:subscription_succeeded', resolve);
  }), { port: mesh().nodePort(1), key: APP.key, name: channel });
  const sdk = serverSdk(mesh().nodePort(0), { useTLS: true, agent: new https.Agent({ ca: fs.readFileSync(ca.caFile) }) });
  await sdk.trigger(channel, 'hello', { over: 'wss' });
  await waitFor(tab, 'the event in the page', () => window.got.length === 1);
  assert.deepEqual(await tab.evaluate(() => window.got[0]), { over: 'wss' });
  assert.deepEqual(tab.problems, []);
});

test('a Chromium without the test CA refuses the node\'s certificate', async (t) => {
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const tab = await openPage(browser);
  await tab.goto(pageUrl());
  const outcome = await tab.evaluate((port) => fetch(`https://localhost:${port}/healthz`).then(() => 'fetched', () => 'refused'), mesh().nodePort(0));
  assert.equal(outcome, 'refused');
});
