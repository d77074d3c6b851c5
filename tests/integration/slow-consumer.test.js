'use strict';
// A slow consumer is dropped, not buffered without bound (README: RTMESH_MAX_OUTBOUND_KB).
//
// With RTMESH_MAX_OUTBOUND_KB=64, a client that subscribes and then stops reading its socket
// (the test pauses it) while ~10 KB events flow to its channel must be closed by the node once
// more than 64 KiB are unsent: the kernel buffers fill first, then the node's own queue. The
// node counts it as rtmesh_errors_total{kind="slow_consumer"}. A healthy subscriber of the same
// channel on the same node receives every event, in order, and stays connected.
//
// The paused socket cannot see the node's FIN, so the test publishes until the node reports the
// slow consumer (or a publishing budget runs out, which fails), then resumes reading: the
// socket must end. Its close frame (4100) is checked only if it arrives, since the node may
// have had to drop it together with the unsent data it could not queue.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, connectClient, triggerBatch, getMetrics, uniqueChannel, waitUntil, publish } = require('../lib/mesh');

const mesh = useMesh({ shards: 1, nodes: 1, workers: 2, env: { RTMESH_MAX_OUTBOUND_KB: '64' } });

const EVENT = 'bulk';
const BATCH = 10; // events per batch_events call (the Pusher maximum)
const DATA_BYTES = 10000; // just under the default 10 KiB event payload limit
const BUDGET_BYTES = 60 * 1024 * 1024; // give up (and fail) after publishing this much
const DEADLINE_MS = 15000;

// rtmesh_errors_total{kind="slow_consumer"} (0 while the labelled sample is absent).
async function slowConsumerErrors() {
  const { samples } = await getMetrics(mesh().nodePort(0));
  const s = samples.find((x) => x.name === 'rtmesh_errors_total' && x.labels.kind === 'slow_consumer');
  return s ? s.value : 0;
}

// Counts the bulk events a client receives instead of keeping them (megabytes of them), and
// checks they arrive in publishing order with none missing or repeated: event n carries "n:".
function countBulk(ws, channel) {
  const counter = { n: 0, disorder: [] };
  const push = ws.inbox.push.bind(ws.inbox);
  ws.inbox.push = (item) => {
    const m = item.type === 'text' && item.json;
    if (!m || m.event !== EVENT || m.channel !== channel) return push(item);
    const seq = Number(String(m.data).split(':', 1)[0]);
    if (seq !== counter.n && counter.disorder.length < 10) counter.disorder.push(`got #${seq} as event ${counter.n}`);
    counter.n += 1;
    return undefined;
  };
  return counter;
}

function batchOf(channel, first) {
  const filler = 'x'.repeat(DATA_BYTES - 16);
  return Array.from({ length: BATCH }, (_, i) => ({ channel, name: EVENT, data: `${first + i}:${filler}` }));
}

test('a client that stops reading is closed; a healthy subscriber on the same channel gets every event', async (t) => {
  const port = mesh().nodePort(0);
  const channel = uniqueChannel('slow');
  const slow = await connectClient(port);
  const healthy = await connectClient(port);
  t.after(() => {
    slow.destroy();
    healthy.destroy();
  });
  const slowCount = countBulk(slow, channel);
  const healthyCount = countBulk(healthy, channel);
  for (const ws of [slow, healthy]) {
    const reply = await ws.subscribe(channel);
    assert.equal(reply.event, 'pusher_internal:subscription_succeeded', JSON.stringify(reply));
    await ws.sync();
  }
  const errorsBefore = await slowConsumerErrors();
  let slowEnded = false;
  slow.socket.once('close', () => {
    slowEnded = true;
  });
  slow.socket.pause();

  // Publish batch after batch; after each, the healthy client must have everything so far
  // (so it is never the slow one) and the node may have dropped the paused client.
  let published = 0;
  let dropped = false;
  while (published * DATA_BYTES < BUDGET_BYTES) {
    const res = await triggerBatch(port, batchOf(channel, published));
    assert.equal(res.status, 200, `batch_events after ${published} events → HTTP ${res.status} ${res.text}`);
    published += BATCH;
    await waitUntil(
      () => healthyCount.n === published || healthy.inbox.endReason,
      `the healthy subscriber to receive ${published} events (has ${healthyCount.n})`,
      DEADLINE_MS,
      5,
    );
    assert.equal(healthy.inbox.endReason, null, `the healthy subscriber was disconnected after ${healthyCount.n} events`);
    if ((await slowConsumerErrors()) > errorsBefore) {
      dropped = true;
      break;
    }
  }
  assert.ok(
    dropped,
    `the node never reported a slow consumer: published ${published} events (${published * DATA_BYTES} bytes) ` +
      `to a client that reads nothing, with RTMESH_MAX_OUTBOUND_KB=64 (socket ended: ${slowEnded})`,
  );

  // Read what the kernel still holds for the paused client: the connection must end.
  slow.socket.resume();
  const close = await slow.waitForClose(DEADLINE_MS).catch((err) => {
    throw new Error(
      `the node counted a slow consumer but the paused client's connection did not end after resuming ` +
        `(${slowCount.n} of ${published} events read): ${err.message}`,
    );
  });
  t.diagnostic(`dropped after ${published} events published, ${slowCount.n} read; close frame ${JSON.stringify(close)}`);
  if (close !== null) assert.equal(close.code, 4100, `close frame of the slow client: ${JSON.stringify(close)}`);
  assert.ok(slowCount.n < published, `the slow client read all ${published} events, yet was dropped`);
  assert.deepEqual(slowCount.disorder, [], 'the slow client got events out of order before it was dropped');

  // The healthy subscriber got everything, in order, and is still connected and subscribed.
  assert.equal(healthyCount.n, published);
  assert.deepEqual(healthyCount.disorder, [], 'events reached the healthy subscriber out of order');
  await publish(port, { name: 'after-drop', channels: [channel], data: 'marker' });
  const marker = await healthy.waitForEvent('after-drop', { channel, ms: DEADLINE_MS });
  assert.equal(marker.data, 'marker');
  await healthy.sync();
  assert.equal(healthy.closeFrame, null, 'the healthy subscriber was closed');
});
