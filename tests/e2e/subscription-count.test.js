'use strict';
// subscription_count (app option): every subscriber of a channel receives
// pusher_internal:subscription_count {"subscription_count":N} whenever the mesh-wide number of
// subscriptions changes; pusher-js emits it as pusher:subscription_count. Apps without the
// option never get it.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, uniqueChannel, connectClient, APP } = require('../lib/mesh');
const { subscribe } = require('../lib/pusher-clients');
const { OTHER_APP, sdkFor, spreadNames, connectApp, nextMessage, messages, trackCount, countsReach } = require('../lib/features');

const mesh = useMesh({
  shards: 2,
  nodes: 2,
  workers: 2,
  apps: [{ ...APP, subscription_count: true }, { ...OTHER_APP }],
});
const port = (node) => mesh().nodePort(node);

test('every subscriber sees the mesh-wide count as it changes, on every shard', async (t) => {
  const a = await connectApp(port(0), t);
  const b = await connectApp(port(0), t);
  const c = await connectApp(port(1), t);
  // Public and private channels, spread over both shards.
  const names = [...spreadNames('counted', 8), ...spreadNames('private-counted', 8)];
  const trackers = { a: [], b: [], c: [] };
  for (const name of names) {
    for (const [who, client] of Object.entries({ a, b, c })) {
      const channel = client.subscribe(name);
      trackers[who].push(trackCount(channel));
      await subscribe(client, name);
    }
  }
  await countsReach([...trackers.a, ...trackers.b, ...trackers.c], 3, 'three subscribers on two nodes');

  for (const name of names) b.unsubscribe(name);
  await countsReach([...trackers.a, ...trackers.c], 2, 'after one unsubscribed');

  c.disconnect();
  await countsReach(trackers.a, 1, 'after the node-1 subscriber disconnected');
});

test('the frame is pusher_internal:subscription_count with the count as a JSON string', async (t) => {
  const name = uniqueChannel('counted-raw');
  const raw = await connectClient(port(1));
  t.after(() => raw.destroy());
  assert.equal((await raw.subscribe(name)).event, 'pusher_internal:subscription_succeeded');
  const other = await connectApp(port(0), t);
  await subscribe(other, name);
  // Counts may be sent for 1 and then 2; wait for the one that says 2.
  for (;;) {
    const frame = await raw.waitForEvent('pusher_internal:subscription_count', { channel: name });
    assert.deepEqual(Object.keys(frame).sort(), ['channel', 'data', 'event']);
    assert.equal(typeof frame.data, 'string', JSON.stringify(frame));
    const data = JSON.parse(frame.data);
    assert.deepEqual(Object.keys(data), ['subscription_count']);
    if (data.subscription_count === 2) break;
    assert.equal(data.subscription_count, 1, JSON.stringify(frame));
  }
});

test('apps without subscription_count get no count events', async (t) => {
  const name = uniqueChannel('uncounted');
  const clients = [await connectApp(port(0), t, { app: OTHER_APP }), await connectApp(port(1), t, { app: OTHER_APP })];
  for (const client of clients) await subscribe(client, name);
  const markers = clients.map((client) => nextMessage(client, 'marker', name));
  await sdkFor(port(0), OTHER_APP).trigger(name, 'marker', {});
  await Promise.all(markers);
  for (const client of clients) assert.deepEqual(messages(client, 'pusher_internal:subscription_count'), []);
});
