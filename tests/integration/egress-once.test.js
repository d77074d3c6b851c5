'use strict';
// A node hears each broker's egress once, whatever its number of workers (docs/architecture.md,
// "Once per node"): one SUB link per broker in worker 0's loop, every worker handed what it
// wants from there. With subscribers on every one of 8 workers, a broadcast crosses the network
// once, is counted once, and reaches every subscriber exactly once and in order; the DEALER
// links stay per worker, so a SIGKILLed node's presence members and counts still leave the
// broker (with 1 worker and with 8).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { startMesh, killProcess, connectClient, publish, getMetrics, metricSum, restRequest, uniqueChannel, waitUntil, APP } = require('../lib/mesh');
const { joinPresence, memberEvent } = require('../lib/presence');

const MAX_CLIENTS = 200; // SO_REUSEPORT spreads connections by hash: enough to reach every worker

async function nodeMetric(mesh, node, name) {
  return metricSum((await getMetrics(mesh.nodePort(node))).samples, name) || 0;
}

// Opens clients on node and subscribes each (join(ws, i)) until the node's rtmesh_channels —
// channels with a subscriber, summed over workers — reads `workers`: with one channel, every
// worker holds subscribers of it. Resolves to the clients.
async function subscribersOnEveryWorker(t, mesh, node, workers, join) {
  const clients = [];
  while ((await nodeMetric(mesh, node, 'rtmesh_channels')) < workers) {
    assert.ok(clients.length < MAX_CLIENTS, `${MAX_CLIENTS} clients did not reach all ${workers} workers`);
    const ws = await connectClient(mesh.nodePort(node));
    t.after(() => ws.destroy());
    await join(ws, clients.length);
    clients.push(ws);
  }
  return clients;
}

// Established TCP connections to a local port (the broker's egress), from ss.
function establishedTo(port) {
  const out = execFileSync('ss', ['-tnH', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim()).length;
}

test('8 workers, subscribers on each: one egress link per node, each broadcast delivered exactly once and in order', async (t) => {
  const mesh = await startMesh({ shards: 1, nodes: 1, workers: 8 });
  t.after(() => mesh.stop());
  const channel = uniqueChannel('fleet');
  const clients = await subscribersOnEveryWorker(t, mesh, 0, 8, async (ws) => {
    const reply = await ws.subscribe(channel);
    assert.equal(reply.event, 'pusher_internal:subscription_succeeded');
  });
  assert.equal(establishedTo(mesh.brokerPorts[0] + 1), 1, 'connections to the broker egress');

  const N = 20;
  const before = await nodeMetric(mesh, 0, 'rtmesh_events_received_total');
  for (let i = 0; i < N; i++) await publish(mesh.nodePort(0), { name: 'seq', channel, data: String(i) });
  await publish(mesh.nodePort(0), { name: 'end', channel, data: '' });
  await Promise.all(clients.map((ws) => ws.waitForEvent('end', { channel })));
  for (const [k, ws] of clients.entries()) {
    const got = ws.inbox.history.filter((m) => m.json && m.json.event === 'seq' && m.json.channel === channel).map((m) => Number(m.json.data));
    assert.deepEqual(got, [...Array(N).keys()], `client ${k} (${clients.length} on 8 workers)`);
  }
  // the events counter counts what the node heard: once per event, not once per worker
  await waitUntil(async () => (await nodeMetric(mesh, 0, 'rtmesh_events_received_total')) - before >= N + 1, 'the events counted');
  assert.equal((await nodeMetric(mesh, 0, 'rtmesh_events_received_total')) - before, N + 1);
  mesh.assertHealthy();
});

// GET /apps/{id}/channels/{channel}?info=... through node, JSON.
async function channelInfo(mesh, node, channel) {
  const res = await restRequest(mesh.nodePort(node), {
    method: 'GET',
    path: `/apps/${APP.id}/channels/${channel}`,
    query: { info: 'user_count,subscription_count' },
  });
  assert.equal(res.status, 200, res.text);
  return res.json;
}

for (const workers of [1, 8]) {
  test(`a node of ${workers} worker(s) SIGKILLed with presence members on each: members and counts leave the broker`, async (t) => {
    const mesh = await startMesh({ shards: 1, nodes: 2, workers, apps: [{ ...APP, subscription_count: true }] });
    t.after(() => mesh.stop());
    const channel = `presence-${uniqueChannel('kill')}`;
    const watcher = await connectClient(mesh.nodePort(1));
    t.after(() => watcher.destroy());
    assert.equal((await joinPresence(watcher, channel, 'watcher')).event, 'pusher_internal:subscription_succeeded');
    const members = await subscribersOnEveryWorker(t, mesh, 0, workers, async (ws, i) => {
      assert.equal((await joinPresence(ws, channel, `m${i}`)).event, 'pusher_internal:subscription_succeeded');
    });
    const n = members.length + 1;
    await waitUntil(async () => {
      const info = await channelInfo(mesh, 1, channel);
      return info.user_count === n && info.subscription_count === n;
    }, `${n} members and subscriptions counted`);

    await killProcess(mesh, 'node', 0, 'SIGKILL');
    for (let i = 0; i < members.length; i++) await memberEvent(watcher, 'member_removed', channel, `m${i}`);
    let info;
    await waitUntil(async () => {
      info = await channelInfo(mesh, 1, channel);
      return info.user_count === 1 && info.subscription_count === 1;
    }, 'only the watcher left').catch((err) => {
      throw new Error(`${err.message}; last: ${JSON.stringify(info)}`);
    });
    mesh.assertHealthy();
  });
}
