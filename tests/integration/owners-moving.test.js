'use strict';
// Owners move (a broker joins, leaves or dies), and a node and a broker learn of it from
// different sockets: a broker may answer a PUBLISH with "another owns the channel" to a node that
// already routes by the newer view. The node then sends those channels again, to their owner as
// of then, for a while (node/rest_session.c), and answers 200 only once every owner accepted.
// The disagreement is made to last here: node[0] lists broker[0] alone, so it routes every
// channel there, while broker[0] and broker[1] share both and each owns its half.
// Judged: while broker[1] is live, broker[0] refuses its half and the publish is refused with
// 503 after the retries, nothing hanging, and a node stopped meanwhile exits 0 holding nothing;
// once broker[1] leaves (SIGTERM), a publish refused at
// first is accepted on a later try, answered 200 and delivered on every channel (to a witness on
// node[1], which lists both).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, killProcess, restartProcess, connectClient, uniqueChannel, waitUntil } = require('../lib/mesh');
const { triggerEvent, getMetrics, metricSum } = require('../lib/rest');

const CHANNELS = 12; // all owned by broker[0] with probability 2^-12
const mesh = useMesh({
  shards: 2,
  nodes: 2,
  workers: 1,
  brokerMetrics: true,
  brokersFor: (kind, index, list) => (kind === 'node' && index === 0 ? list.split(',')[0] : list),
});

const rerouted = async () => metricSum((await getMetrics(mesh().nodePort(0))).samples, 'rtmesh_rest_publishes_rerouted_total');

async function bothBrokersLive() {
  for (const shard of [0, 1]) {
    await waitUntil(async () => metricSum((await getMetrics(mesh().brokerMetricsPort(shard))).samples, 'rtmesh_broker_live_shards') === 2, `broker[${shard}] to count 2 live brokers`);
  }
}

test('a publish whose channels a live broker keeps owning is sent again for a while, then refused with 503', async () => {
  await bothBrokersLive();
  const before = await rerouted();
  const channels = Array.from({ length: CHANNELS }, () => uniqueChannel('moving'));
  const res = await triggerEvent(mesh().nodePort(0), { name: 'never', channels, data: '{}' });
  assert.equal(res.status, 503, `HTTP ${res.status} ${res.text}`);
  assert.match(res.text, /unavailable, retry later/);
  assert.ok((await rerouted()) > before, 'rtmesh_rest_publishes_rerouted_total counted the tries');
});

test('a node stopped while a publish is being sent again exits 0 and holds nothing', async () => {
  await bothBrokersLive();
  const before = await rerouted();
  const channels = Array.from({ length: CHANNELS }, () => uniqueChannel('moving'));
  const answer = triggerEvent(mesh().nodePort(0), { name: 'abandoned', channels, data: '{}' }).catch((err) => err);
  await waitUntil(async () => (await rerouted()) > before, 'node[0] to send the publish again');
  assert.deepEqual(await killProcess(mesh(), 'node', 0, 'SIGTERM'), { code: 0, signal: null }, 'node[0] exit');
  const res = await answer;
  assert.ok(res instanceof Error || res.status === 503, `never acknowledged: ${res.status ?? res.message}`);
  // A leak of the call would be a LeakSanitizer report at its exit, which fails the mesh.
  await restartProcess(mesh(), 'node', 0);
});

test('a publish refused while owners move is sent again and accepted once they agree', async () => {
  await bothBrokersLive();
  const channels = Array.from({ length: CHANNELS }, () => uniqueChannel('moving'));
  const witness = await connectClient(mesh().nodePort(1)); // node[0] cannot confirm half of them
  try {
    for (const ch of channels) assert.equal((await witness.subscribe(ch)).event, 'pusher_internal:subscription_succeeded');
    await witness.sync();
    const before = await rerouted();
    const answer = triggerEvent(mesh().nodePort(0), { name: 'moved', channels, data: '"late"' });
    await waitUntil(async () => (await rerouted()) > before, 'node[0] to send the publish again');
    const left = killProcess(mesh(), 'broker', 1, 'SIGTERM'); // it leaves: broker[0] takes its half
    const res = await answer;
    assert.equal(res.status, 200, `HTTP ${res.status} ${res.text}`);
    for (const ch of channels) {
      await witness.waitForFrame((m) => m.type === 'text' && m.json?.event === 'moved' && m.json.channel === ch, `the event on ${ch}`);
    }
    assert.deepEqual(await left, { code: 0, signal: null }, 'broker[1] left and exited 0');
  } finally {
    witness.destroy();
  }
});
