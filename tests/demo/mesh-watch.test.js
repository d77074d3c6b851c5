'use strict';
// The demo's mesh watcher (examples/demo/lib/mesh-watch.js) on /metrics answers as nodes give
// them: with two nodes behind one shared port each probe reaches one of them, so the watcher
// must tell them apart by rtmesh_node_info, find both, compute rates per node, show a silent
// node as gone and a shard no node sees live as down. The answers are scripted here (which node
// the kernel picks is not ours to choose); the browser tests run it against real nodes.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { MeshWatch } = require('../../examples/demo/lib/mesh-watch');

const SHARDS = ['tcp://127.0.0.1:7100', 'tcp://127.0.0.1:7102'];

function metrics(node, { out = 0, connections = 0, live = [1, 1] } = {}) {
  return [
    '# HELP rtmesh_node_info The node that answered (hostname/pid).',
    '# TYPE rtmesh_node_info gauge',
    `rtmesh_node_info{node="${node}"} 1`,
    `rtmesh_connections ${connections}`,
    'rtmesh_channels 3',
    `rtmesh_messages_out_total ${out}`,
    'rtmesh_messages_in_total 0',
    'rtmesh_ready 1',
    ...SHARDS.map((s, i) => `rtmesh_shard_live{shard="${s}"} ${live[i]}`),
    '',
  ].join('\n');
}

// A fetch that answers each probe with the next scripted body (null = connection refused).
function scripted(bodies) {
  return async () => (bodies.length ? bodies.shift() : null);
}

test('nodes behind one shared port are told apart by rtmesh_node_info', async () => {
  const bodies = [];
  const watch = new MeshWatch({ urls: ['http://127.0.0.1:6001/metrics'], probes: 4, goneMs: 2000, fetch: scripted(bodies) });
  bodies.push(metrics('h/1', { out: 0, connections: 2 }), metrics('h/1'), metrics('h/2', { out: 10, connections: 5 }), null);
  await watch.round(1000);
  bodies.push(metrics('h/2', { out: 30, connections: 5 }), metrics('h/1', { out: 50, connections: 2 }), null, null);
  await watch.round(2000);
  const s = watch.snapshot(2000);
  assert.deepEqual(s.nodes.map((n) => [n.id, n.up, n.connections, n.messagesOutPerSec]), [
    ['h/1', true, 2, 50],
    ['h/2', true, 5, 20],
  ]);
  assert.deepEqual(s.totals, { nodesUp: 2, connections: 7, channels: 6, messagesOutPerSec: 70, messagesInPerSec: 0 });
  assert.deepEqual(s.shards.map((x) => [x.endpoint, x.live, x.liveOn]), [
    [SHARDS[0], true, 2],
    [SHARDS[1], true, 2],
  ]);
});

test('a node that stops answering is gone; a shard no live node sees is down', async () => {
  const bodies = [];
  const watch = new MeshWatch({ urls: ['http://a/metrics', 'http://b/metrics'], probes: 1, goneMs: 1500, fetch: scripted(bodies) });
  bodies.push(metrics('a/1'), metrics('b/1'));
  await watch.round(0);
  bodies.push(metrics('a/1', { live: [1, 0] }), null);
  await watch.round(1000);
  assert.equal(watch.snapshot(1000).nodes.find((n) => n.id === 'b/1').up, true, 'one missed answer is not gone yet');
  bodies.push(metrics('a/1', { live: [1, 0] }), 'not metrics at all');
  await watch.round(2000);
  const s = watch.snapshot(2000);
  assert.deepEqual(s.nodes.map((n) => [n.id, n.up]), [['a/1', true], ['b/1', false]]);
  assert.deepEqual(s.shards.map((x) => [x.live, x.liveOn, x.seenBy]), [[true, 1, 1], [false, 0, 1]]);
  assert.equal(s.totals.nodesUp, 1);
});

test('a node silent for forgetMs is dropped from the picture', async () => {
  const bodies = [metrics('a/1')];
  const watch = new MeshWatch({ urls: ['http://a/metrics'], probes: 1, goneMs: 100, forgetMs: 1000, fetch: scripted(bodies) });
  await watch.round(0);
  await watch.round(500);
  assert.equal(watch.snapshot(500).nodes.length, 1);
  await watch.round(1500);
  assert.equal(watch.snapshot(1500).nodes.length, 0);
});
