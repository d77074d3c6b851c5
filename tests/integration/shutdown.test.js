'use strict';
// Graceful shutdown of an edge node (README "Deploy"; node/main.c): on SIGTERM the node drains
// for --drain-seconds before it stops. While draining it still listens: /readyz answers 503
// "draining" (load balancers stop sending clients), /healthz 200 (it is not restarted), REST
// publishes are still accepted and delivered, every WebSocket client gets a close frame 4200
// (reconnect now, elsewhere) and new WebSocket upgrades are refused with 503 (counted as
// rtmesh_errors_total{kind="draining"}). Then it exits 0. The other node of the mesh keeps
// serving its clients, REST calls and new connections throughout; the stopped node, started
// again, serves as before, and a second signal cuts its drain short.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const {
  useMesh, restartProcess, connectClient, openWebSocket, publish, httpGet, errorCount, uniqueChannel,
  waitUntil, withTimeout,
} = require('../lib/mesh');

// Long enough for the checks below to run inside it (they need a few round trips).
const DRAIN_SECONDS = 3;
const mesh = useMesh({ shards: 1, nodes: 2, workers: 2, env: { RTMESH_DRAIN_SECONDS: String(DRAIN_SECONDS) } });
const DEADLINE_MS = 10000;
const CLIENTS_ON_STOPPED_NODE = 4; // several, so both workers of the node are likely to hold some

async function subscribedClient(t, node, channel) {
  const ws = await connectClient(mesh().nodePort(node));
  t.after(() => ws.destroy());
  const reply = await ws.subscribe(channel);
  assert.equal(reply.event, 'pusher_internal:subscription_succeeded', JSON.stringify(reply));
  await ws.sync();
  return ws;
}

// Publishes through `viaNode` and waits for every client to receive the event.
async function assertDelivers(viaNode, channel, clients, data) {
  await publish(mesh().nodePort(viaNode), { name: 'still-serving', channels: [channel], data });
  for (const ws of clients) {
    const m = await ws.waitForEvent('still-serving', { channel, ms: DEADLINE_MS });
    assert.equal(m.data, data);
  }
}

// Sends `signal` to node[index] without waiting; resolves with its exit when it ends.
function signalNode(index, signal) {
  const proc = mesh().process('node', index);
  proc.killed = true; // its exit is judged here, not by the harness
  proc.child.kill(signal);
  return withTimeout(proc.exited, DEADLINE_MS + DRAIN_SECONDS * 1000, `node[${index}] to exit after ${signal}`);
}

function assertCleanExit(exit, what) {
  assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, `${what}: ${JSON.stringify(exit)}`);
}

test('SIGTERM: the node drains (readyz 503, REST served, clients told 4200, upgrades refused), exits 0; the other node keeps serving', async (t) => {
  const channel = uniqueChannel('shutdown');
  const leaving = [];
  for (let i = 0; i < CLIENTS_ON_STOPPED_NODE; i++) leaving.push(await subscribedClient(t, 0, channel));
  const staying = await subscribedClient(t, 1, channel);
  await assertDelivers(1, channel, [...leaving, staying], 'before');
  const port0 = mesh().nodePort(0);
  assert.equal((await httpGet(port0, '/readyz')).status, 200, 'node[0] ready before SIGTERM');

  const exited = signalNode(0, 'SIGTERM');
  for (const [i, ws] of leaving.entries()) {
    // closeFrame is recorded when the frame is parsed, before the TCP close resolves this.
    const close = await ws.waitForClose(DEADLINE_MS);
    assert.notEqual(close, null, `client ${i} of node[0]: the socket ended without a close frame`);
    assert.equal(close.code, 4200, `client ${i} of node[0]: close frame ${JSON.stringify(close)}`);
    assert.deepEqual(ws.violations, [], `client ${i} of node[0]: protocol violations`);
  }
  // Still listening while draining: not ready, alive, serving REST, refusing WebSockets.
  const ready = await waitUntil(async () => {
    const r = await httpGet(port0, '/readyz');
    return r.status === 503 ? r : null;
  }, 'node[0] /readyz to answer 503 while draining');
  assert.equal(ready.text, 'draining\n');
  assert.equal((await httpGet(port0, '/healthz')).status, 200, 'node[0] /healthz while draining');
  await assertDelivers(0, channel, [staying], 'published via the draining node');
  const refused = await openWebSocket(port0);
  refused.destroy();
  assert.equal(refused.status, 503, 'a WebSocket upgrade to the draining node');
  assert.ok((await errorCount(port0, 'draining')) >= 1, 'the refused upgrade is counted as kind=draining');

  assertCleanExit(await exited, 'node[0] after SIGTERM and its drain');
  assert.match(mesh().process('node', 0).log.tail(50), /event=draining signal=15 seconds=3/);

  // node[1]: its subscriber still receives, through its own REST API; it is ready and accepts
  // new connections.
  assert.equal(staying.closeFrame, null, `node[1]'s client was closed: ${JSON.stringify(staying.closeFrame)}`);
  await assertDelivers(1, channel, [staying], 'after');
  const ready1 = await httpGet(mesh().nodePort(1), '/readyz');
  assert.equal(ready1.status, 200, `node[1] /readyz: ${ready1.text}`);
  const newcomer = await subscribedClient(t, 1, channel);
  await assertDelivers(1, channel, [staying, newcomer], 'newcomer');

  // node[0] comes back on the same port and serves again, both ways across the mesh.
  await restartProcess(mesh(), 'node', 0);
  const returning = await subscribedClient(t, 0, channel);
  await assertDelivers(1, channel, [returning, staying, newcomer], 'back via node 1');
  await assertDelivers(0, channel, [returning, staying, newcomer], 'back via node 0');
});

test('a second signal during the drain stops the node at once, cleanly', async (t) => {
  const channel = uniqueChannel('shutdown-cut');
  const client = await subscribedClient(t, 0, channel);
  const exited = signalNode(0, 'SIGTERM');
  assert.equal((await client.waitForClose(DEADLINE_MS))?.code, 4200, 'close frame of the drained client');
  await waitUntil(() => /event=draining/.test(mesh().process('node', 0).log.tail(20)), 'node[0] to log event=draining');
  mesh().process('node', 0).child.kill('SIGTERM');
  assertCleanExit(await exited, 'node[0] after two SIGTERMs');
  assert.match(mesh().process('node', 0).log.tail(20), /event=drain_cut reason=second_signal/);
  await restartProcess(mesh(), 'node', 0); // the harness stops (and judges) a running mesh
});
