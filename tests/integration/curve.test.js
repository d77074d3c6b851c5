'use strict';
// CURVE on every tier link (issue 10): brokers with the tier's certificate and an allow-list,
// nodes and services with their own keys. pusher-js clients on both nodes receive what
// `rtmesh publish` and librtmesh (client/examples/feed.c) send; an unknown key, a plain-text
// socket and a key not allowed for the app are refused with exit 6 and deliver nothing; a
// plain-text SUB on a broker's egress reads nothing; the brokers count the refusals.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { useMesh, uniqueChannel, APP } = require('../lib/mesh');
const { connectPusherJs, subscribe, waitForEvent } = require('../lib/pusher-clients');
const { rtmesh, run, cliBin, feedBin } = require('../lib/rtmesh-cli');

// Debian's interpreter, where python3-zmq and python3-msgpack are (not a python3 earlier in PATH).
const PYTHON = '/usr/bin/python3';
const OTHER = { id: 'other-app', key: 'other-key', secret: 'other-secret' };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtmesh-curve-'));
const cert = (name) => path.join(dir, name);
const allow = path.join(dir, 'allow');

// The public key of a certificate rtmesh keygen wrote (CZMQ's text format).
function publicKey(file) {
  return /public-key = "(.{40})"/.exec(fs.readFileSync(file, 'utf8'))[1];
}

// Keys for the tier, the nodes, two services (one per app) and a stranger; the allow-list has
// the nodes' and the services' public certificates, and each app names its service.
function makeKeys() {
  for (const name of ['broker', 'node', 'svc', 'other', 'stranger']) execFileSync(cliBin(), ['keygen', cert(name)], { stdio: 'ignore' });
  fs.mkdirSync(allow);
  for (const name of ['node', 'svc', 'other']) fs.copyFileSync(cert(name), path.join(allow, name));
  return [
    { ...APP, publishers: [publicKey(cert('svc'))] },
    { ...OTHER, publishers: [publicKey(cert('other'))] },
  ];
}

const mesh = useMesh(
  {
    shards: 2,
    nodes: 2,
    workers: 2,
    apps: async () => makeKeys(),
    brokerEnv: { RTMESH_CURVE_SECRET: cert('broker_secret'), RTMESH_CURVE_ALLOW: allow },
    nodeEnv: { RTMESH_CURVE_SECRET: cert('node_secret'), RTMESH_CURVE_BROKER: cert('broker') },
  },
  { teardown: () => fs.rmSync(dir, { recursive: true, force: true }) },
);

const asService = (name) => ({ RTMESH_CURVE_SECRET: cert(`${name}_secret`), RTMESH_CURVE_BROKER: cert('broker') });
const plain = { RTMESH_CURVE_SECRET: '', RTMESH_CURVE_BROKER: '' };
const publish = (args, env) => rtmesh(['publish', '--brokers', mesh().brokerList, ...args], { env });

// The seq of every "tick" each channel gets; done once each has n.
function ticks(channels, n) {
  const seen = channels.map(() => []);
  const done = channels.map(
    (ch, i) =>
      new Promise((resolve) =>
        ch.bind('tick', (data) => {
          seen[i].push(data.seq);
          if (seen[i].length === n) resolve();
        }),
      ),
  );
  return { seen, done: Promise.all(done) };
}

async function clientsOnBothNodes(t, names) {
  const clients = await Promise.all([0, 1].map((n) => connectPusherJs(mesh().nodePort(n), t)));
  const channels = await Promise.all(clients.map((c) => Promise.all(names.map((name) => subscribe(c, name)))));
  return { clients, channels };
}

test('with CURVE everywhere, rtmesh publish reaches pusher-js clients on both nodes', async (t) => {
  const names = Array.from({ length: 8 }, () => uniqueChannel('curve'));
  const { channels } = await clientsOnBothNodes(t, names);
  const got = channels.flat().map((ch) => waitForEvent(ch, 'feed'));
  const res = await publish(['--app', APP.id, names.join(','), 'feed', '{"secure":true}'], asService('svc'));
  assert.equal(res.code, 0, res.stderr);
  for (const data of await Promise.all(got)) assert.deepEqual(data, { secure: true });
});

test('a C service on librtmesh (client/examples/feed.c) publishes a feed the clients receive in order', async (t) => {
  const name = uniqueChannel('feed');
  const { channels } = await clientsOnBothNodes(t, [name]);
  const { seen, done } = ticks(channels.flat(), 3);
  const res = await run(feedBin(), [APP.id, name, '3', '0'], { env: { RTMESH_BROKERS: mesh().brokerList, ...asService('svc') } });
  assert.equal(res.code, 0, res.stderr);
  await done;
  for (const s of seen) assert.deepEqual(s, [1, 2, 3]);
});

test('a Python service speaking docs/wire.md alone (client/examples/feed.py) publishes with its key', async (t) => {
  const name = uniqueChannel('py');
  const { channels } = await clientsOnBothNodes(t, [name]);
  const { seen, done } = ticks(channels.flat(), 3);
  const script = path.join(__dirname, '..', '..', 'client', 'examples', 'feed.py');
  const res = await run(PYTHON, [script, APP.id, name, '3', '0'], { env: { RTMESH_BROKERS: mesh().brokerList, ...asService('svc') } });
  assert.equal(res.code, 0, res.stderr);
  await done;
  for (const s of seen) assert.deepEqual(s, [1, 2, 3]);
  const refused = await run(PYTHON, [script, OTHER.id, name, '1'], { env: { RTMESH_BROKERS: mesh().brokerList, ...asService('svc') } });
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /publishers/);
});

test('an unknown key, a plain-text socket and a key not allowed for the app are refused and deliver nothing', async (t) => {
  const name = uniqueChannel('curve-refused');
  const { clients, channels } = await clientsOnBothNodes(t, [name]);
  const cases = [
    { what: 'unknown key', env: asService('stranger'), app: APP.id, says: /refused this service's CURVE key/ },
    { what: 'plain text', env: plain, app: APP.id, says: /handshake with the brokers failed/ },
    { what: 'key of another app', env: asService('other'), app: APP.id, says: /publishers/ },
    { what: "the app's key for another app", env: asService('svc'), app: OTHER.id, says: /publishers/ },
  ];
  for (const c of cases) {
    const res = await publish(['--app', c.app, '--timeout-ms', '1500', name, 'forbidden', c.what], c.env);
    assert.equal(res.code, 6, `${c.what}: exit ${res.code}: ${res.stderr}`);
    assert.match(res.stderr, c.says, c.what);
  }
  // The allowed service's event comes through; none of the refused ones ever did.
  const marker = channels.flat().map((ch) => waitForEvent(ch, 'marker'));
  const res = await publish(['--app', APP.id, name, 'marker', '1'], asService('svc'));
  assert.equal(res.code, 0, res.stderr);
  await Promise.all(marker);
  for (const c of clients) assert.ok(!c.inbox.seen((m) => m.event === 'forbidden'), 'a refused publish was delivered');
});

test('a plain-text SUB on a broker egress reads nothing, and the brokers count the refusals', async (t) => {
  const name = uniqueChannel('curve-egress');
  const { channels } = await clientsOnBothNodes(t, [name]);
  const egress = mesh().brokerList.split(',').map((ep) => ep.replace(/:(\d+)$/, (m, p) => `:${Number(p) + 1}`));
  const peek = path.join(path.dirname(process.env.RTMESH_BROKER_BIN), '..', 'tests', 'egress_peek');
  const peeks = egress.map((ep) => run(peek, [ep, '1500']));
  for (let i = 0; i < 3; i++) {
    const got = channels.flat().map((ch) => waitForEvent(ch, 'during'));
    const res = await publish(['--app', APP.id, name, 'during', String(i)], asService('svc'));
    assert.equal(res.code, 0, res.stderr);
    await Promise.all(got);
  }
  for (const p of await Promise.all(peeks)) assert.equal(p.stdout.trim(), '0', 'the plain SUB read something');
  const status = await rtmesh(['status', '--brokers', mesh().brokerList, '--app', APP.id, '--json'], { env: asService('svc') });
  assert.equal(status.code, 0, status.stderr);
  const s = JSON.parse(status.stdout);
  assert.equal(s.live, 2);
  const total = (key) => s.brokers.reduce((n, b) => n + b.stats[key], 0);
  assert.ok(total('handshake_failed') >= 2, `handshake_failed ${total('handshake_failed')}: both egresses saw the plain SUB`);
  assert.ok(total('auth_refused') >= 1, `auth_refused ${total('auth_refused')}`);
  assert.ok(total('app_refused') >= 1, `app_refused ${total('app_refused')}`);
});

test('with CURVE, the REST rules still apply: oversize and unknown app fail with their exit status', async () => {
  const name = uniqueChannel('curve-bad');
  let res = await publish(['--app', APP.id, name, 'e', 'x'.repeat(10241)], asService('svc'));
  assert.equal(res.code, 4, res.stderr);
  res = await publish(['--app', 'no-such-app', name, 'e', 'd'], asService('svc'));
  assert.equal(res.code, 5, res.stderr);
});
