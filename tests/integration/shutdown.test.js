'use strict';
// Graceful shutdown of an edge node (README; worker.c): on SIGTERM the node tells every
// WebSocket client to reconnect elsewhere with a close frame 4200 before it closes the socket,
// and exits 0. The other node of the mesh keeps serving its clients, REST calls and new
// connections throughout; the stopped node, started again, serves as before.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, killProcess, restartProcess, connectClient, publish, httpGet, uniqueChannel } = require('../lib/mesh');

const mesh = useMesh({ shards: 1, nodes: 2, workers: 2 });
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

test('SIGTERM: clients get close 4200 before the socket ends, the node exits 0, the other node keeps serving', async (t) => {
  const channel = uniqueChannel('shutdown');
  const leaving = [];
  for (let i = 0; i < CLIENTS_ON_STOPPED_NODE; i++) leaving.push(await subscribedClient(t, 0, channel));
  const staying = await subscribedClient(t, 1, channel);
  await assertDelivers(1, channel, [...leaving, staying], 'before');

  const exit = await killProcess(mesh(), 'node', 0, 'SIGTERM');
  assert.deepEqual(
    { code: exit.code, signal: exit.signal },
    { code: 0, signal: null },
    `node[0] after SIGTERM: ${JSON.stringify(exit)}`,
  );
  for (const [i, ws] of leaving.entries()) {
    // closeFrame is recorded when the frame is parsed, before the TCP close resolves this.
    const close = await ws.waitForClose(DEADLINE_MS);
    assert.notEqual(close, null, `client ${i} of node[0]: the socket ended without a close frame`);
    assert.equal(close.code, 4200, `client ${i} of node[0]: close frame ${JSON.stringify(close)}`);
    assert.deepEqual(ws.violations, [], `client ${i} of node[0]: protocol violations`);
  }

  // node[1]: its subscriber still receives, through its own REST API; it is ready and accepts
  // new connections.
  assert.equal(staying.closeFrame, null, `node[1]'s client was closed: ${JSON.stringify(staying.closeFrame)}`);
  await assertDelivers(1, channel, [staying], 'after');
  const ready = await httpGet(mesh().nodePort(1), '/readyz');
  assert.equal(ready.status, 200, `node[1] /readyz: ${ready.text}`);
  const newcomer = await subscribedClient(t, 1, channel);
  await assertDelivers(1, channel, [staying, newcomer], 'newcomer');

  // node[0] comes back on the same port and serves again, both ways across the mesh.
  await restartProcess(mesh(), 'node', 0);
  const returning = await subscribedClient(t, 0, channel);
  await assertDelivers(1, channel, [returning, staying, newcomer], 'back via node 1');
  await assertDelivers(0, channel, [returning, staying, newcomer], 'back via node 0');
});
