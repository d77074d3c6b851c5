'use strict';
// Services publish over ZeroMQ (issue 10): `rtmesh publish` (librtmesh) into a mesh of two
// brokers and two nodes, received by pusher-js clients on both nodes; the brokers' REST-API
// rules with the exit status a script sees; `rtmesh status`. Plain text here;
// curve.test.js runs the same publishes with CURVE on for every link.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, uniqueChannel, APP } = require('../lib/mesh');
const { connectPusherJs, subscribe, waitForEvent } = require('../lib/pusher-clients');
const path = require('node:path');
const { rtmesh, run } = require('../lib/rtmesh-cli');

const mesh = useMesh({ shards: 2, nodes: 2, workers: 2 });
const brokers = () => ['--brokers', mesh().brokerList];

// One pusher-js client on each node, each subscribed to every channel of names.
async function clientsOnBothNodes(t, names) {
  const clients = await Promise.all([0, 1].map((n) => connectPusherJs(mesh().nodePort(n), t)));
  const channels = await Promise.all(clients.map((c) => Promise.all(names.map((name) => subscribe(c, name)))));
  return { clients, channels };
}

test('rtmesh publish reaches pusher-js clients on both nodes, on channels of both shards', async (t) => {
  const names = Array.from({ length: 8 }, () => uniqueChannel('svc')); // 8 channels: both shards own some
  const { channels } = await clientsOnBothNodes(t, names);
  const got = channels.flat().map((ch) => waitForEvent(ch, 'feed'));
  const res = await rtmesh(['publish', ...brokers(), '--app', APP.id, names.join(','), 'feed', '{"price":42}']);
  assert.equal(res.code, 0, res.stderr);
  for (const data of await Promise.all(got)) assert.deepEqual(data, { price: 42 });
});

test('DATA "-" is read from standard input, byte for byte', async (t) => {
  const name = uniqueChannel('svc-stdin');
  const { channels } = await clientsOnBothNodes(t, [name]);
  const got = channels.flat().map((ch) => waitForEvent(ch, 'raw'));
  const input = 'not json, "quoted"\nsecond line';
  const res = await rtmesh(['publish', ...brokers(), '--app', APP.id, name, 'raw', '-'], { input });
  assert.equal(res.code, 0, res.stderr);
  for (const data of await Promise.all(got)) assert.equal(data, input);
});

test('--socket-id keeps the event from that connection only', async (t) => {
  const name = uniqueChannel('svc-exclude');
  const { clients, channels } = await clientsOnBothNodes(t, [name]);
  const excluded = clients[0].connection.socket_id;
  const other = waitForEvent(channels[1][0], 'first');
  let res = await rtmesh(['publish', ...brokers(), '--app', APP.id, '--socket-id', excluded, name, 'first', '1']);
  assert.equal(res.code, 0, res.stderr);
  await other;
  // Events of one publisher on one channel arrive in order: once the next one is there, the
  // excluded client would have had the first.
  const next = waitForEvent(channels[0][0], 'second');
  res = await rtmesh(['publish', ...brokers(), '--app', APP.id, name, 'second', '2']);
  assert.equal(res.code, 0, res.stderr);
  await next;
  assert.ok(!clients[0].inbox.seen((m) => m.event === 'first'), 'the excluded connection got the event');
});

test('refusals: the REST API rules, as one line and an exit status per cause', async () => {
  const name = uniqueChannel('svc-bad');
  const cases = [
    { what: 'data over the app limit', args: [name, 'e', 'x'.repeat(10241)], code: 4, says: /over the limit of 10240 bytes/ },
    { what: 'invalid channel name', args: ['bad channel', 'e', 'd'], code: 3, says: /invalid channel name/ },
    { what: 'encrypted channel among several', args: [`private-encrypted-${name},${name}`, 'e', 'd'], code: 3, says: /on its own/ },
    { what: 'event name over 200 bytes', args: [name, 'e'.repeat(201), 'd'], code: 3, says: /name: must be 1 to 200 bytes/ },
    { what: 'unknown app', app: 'no-such-app', args: [name, 'e', 'd'], code: 5, says: /unknown app/i },
  ];
  for (const c of cases) {
    const res = await rtmesh(['publish', ...brokers(), '--app', c.app || APP.id, ...c.args]);
    assert.equal(res.code, c.code, `${c.what}: exit ${res.code}, stderr ${res.stderr}`);
    assert.match(res.stderr, c.says, c.what);
    assert.equal(res.stderr.trim().split('\n').length, 1, `${c.what}: one line, got ${res.stderr}`);
  }
  const usage = await rtmesh(['publish', ...brokers(), name, 'e', 'd']); // no --app
  assert.equal(usage.code, 2, usage.stderr);
});

test('no live owner: an unreachable broker list fails within the timeout (exit 7)', async () => {
  const res = await rtmesh(['publish', '--brokers', 'tcp://127.0.0.1:9', '--app', APP.id, '--timeout-ms', '300', 'c', 'e', 'd']);
  assert.equal(res.code, 7, res.stderr);
  assert.match(res.stderr, /no live broker/);
});

test('rtmesh status shows both brokers live with the same list digest, and their counters', async () => {
  const res = await rtmesh(['status', ...brokers(), '--app', APP.id, '--json']);
  assert.equal(res.code, 0, res.stderr);
  const s = JSON.parse(res.stdout);
  assert.equal(s.brokers.length, 2);
  assert.equal(s.live, 2);
  for (const b of s.brokers) {
    assert.equal(b.state, 'live', JSON.stringify(b));
    assert.equal(b.digest, s.digest, 'every broker has our list');
    assert.ok(b.stats.nodes >= 4, `nodes seen by ${b.identity}: ${b.stats.nodes}`); // 2 nodes x 2 workers (+ us)
    assert.ok(Number.isInteger(b.channels));
  }
  const text = await rtmesh(['status', ...brokers()]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^brokers=2 digest=[0-9a-f]{16}/);
});

test('without keys the egress is open: a plain SUB reads the heartbeats (curve.test.js: nothing)', async () => {
  const peek = path.join(path.dirname(process.env.RTMESH_BROKER_BIN), '..', 'tests', 'egress_peek');
  const ingress = mesh().brokerList.split(',')[0];
  const egress = ingress.replace(/:(\d+)$/, (m, p) => `:${Number(p) + 1}`);
  const res = await run(peek, [egress, '1500']); // heartbeats come every 500 ms
  assert.equal(res.code, 0, res.stderr);
  assert.ok(Number(res.stdout) > 0, `a plain SUB read ${res.stdout.trim()} messages`);
});
