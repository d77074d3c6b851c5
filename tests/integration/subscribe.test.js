'use strict';
// Subscriptions and delivery with the raw client (reference §2–§3): subscribe replies, channel
// name and auth checks, unsubscribe, and REST-published events reaching subscribers on any node
// with exactly the posted data.
//
// Absence of an event is shown with a witness and a marker: a second client on the same node
// receives the event (so it reached that node), then a marker event published afterwards
// reaches the client under test, which must not have seen the first event by then.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, connectClient, publish, uniqueChannel, hmac, APP } = require('../lib/mesh');

const mesh = useMesh({ shards: 2, nodes: 2, workers: 2 });

async function client(t, node) {
  const ws = await connectClient(mesh().nodePort(node));
  t.after(() => ws.destroy());
  return ws;
}

async function subscribed(t, node, ...channels) {
  const ws = await client(t, node);
  for (const c of channels) {
    const reply = await ws.subscribe(c);
    assert.equal(reply.event, 'pusher_internal:subscription_succeeded', `subscribe ${c}: ${JSON.stringify(reply)}`);
  }
  return ws;
}

function privateAuth(socketId, channel, secret = APP.secret) {
  return `${APP.key}:${hmac(secret, `${socketId}:${channel}`)}`;
}

// The connection still works: it answers a ping and accepts a valid subscription.
async function assertUsable(ws) {
  await ws.sync();
  const c = uniqueChannel('still-usable');
  const reply = await ws.subscribe(c);
  assert.equal(reply.event, 'pusher_internal:subscription_succeeded');
}

// Publishes `event` on `channel` through `via`, waits until `witness` (subscribed to it, on the
// same node as `ws`) has it, then publishes a marker on `markerChannel` (which ws subscribed)
// and waits until ws has the marker. Asserts ws never received `event`.
async function assertNotDelivered({ ws, witness, channel, markerChannel, via }) {
  const event = `never-${uniqueChannel('e')}`;
  await publish(via, { name: event, channels: [channel], data: 'x' });
  await witness.waitForEvent(event, { channel });
  await publish(via, { name: 'marker', channels: [markerChannel], data: 'm' });
  await ws.waitForEvent('marker', { channel: markerChannel });
  assert.equal(ws.received(event), false, `${event} was delivered to a client not subscribed to ${channel}`);
}

test('subscribing to a public channel is confirmed with subscription_succeeded', async (t) => {
  const ws = await client(t, 0);
  const channel = uniqueChannel('public');
  ws.send({ event: 'pusher:subscribe', data: { auth: '', channel } });
  const reply = await ws.nextMessage();
  assert.deepEqual(reply, { event: 'pusher_internal:subscription_succeeded', channel, data: '{}' });
  // pusher-js omits auth for public channels in some paths; it must not matter.
  const other = uniqueChannel('public-noauth');
  ws.send({ event: 'pusher:subscribe', data: { channel: other } });
  assert.deepEqual(await ws.nextMessage(), { event: 'pusher_internal:subscription_succeeded', channel: other, data: '{}' });
  // null is absent: auth and channel_data null, as custom authorizers make pusher-js send them.
  const nulls = uniqueChannel('public-null');
  ws.send({ event: 'pusher:subscribe', data: { auth: null, channel_data: null, channel: nulls } });
  assert.deepEqual(await ws.nextMessage(), { event: 'pusher_internal:subscription_succeeded', channel: nulls, data: '{}' });
});

test('a private channel signed without channel_data is subscribed when channel_data is null', async (t) => {
  const ws = await client(t, 1);
  const channel = uniqueChannel('private-null');
  const reply = await ws.subscribe(channel, { auth: privateAuth(ws.socketId, channel), channel_data: null });
  assert.deepEqual(reply, { event: 'pusher_internal:subscription_succeeded', channel, data: '{}' });
});

test('an event published on one node reaches subscribers on both nodes with the exact data', async (t) => {
  const channel = uniqueChannel('delivery');
  const a = await subscribed(t, 0, channel);
  const b = await subscribed(t, 1, channel);
  const data = JSON.stringify({ text: 'héllo "quoted" \\ \u2603', n: [1, 2, 3] });
  for (const via of [0, 1]) {
    const name = `evt-via-${via}`;
    await publish(mesh().nodePort(via), { name, channels: [channel], data });
    for (const ws of [a, b]) {
      const got = await ws.waitForEvent(name, { channel });
      assert.deepEqual(got, { event: name, channel, data });
    }
  }
});

test('a plain string payload is delivered unchanged', async (t) => {
  const channel = uniqueChannel('string');
  const ws = await subscribed(t, 1, channel);
  await publish(mesh().nodePort(0), { name: 'plain', channels: [channel], data: 'just text, not JSON' });
  const got = await ws.waitForEvent('plain', { channel });
  assert.equal(got.data, 'just text, not JSON');
});

test('invalid channel names get pusher:error and the connection stays usable', async (t) => {
  const ws = await client(t, 0);
  for (const channel of ['has space', 'slash/inside', 'ünïcode', '', 'x'.repeat(1000), 'colon:inside']) {
    const reply = await ws.subscribe(channel);
    assert.equal(reply.event, 'pusher:error', `subscribe ${JSON.stringify(channel)}: ${JSON.stringify(reply)}`);
    assert.equal(typeof reply.data.message, 'string');
    assert.ok(reply.data.code === null || typeof reply.data.code === 'number');
  }
  await assertUsable(ws);
});

test('private and presence channels without valid auth get pusher:error; the connection stays usable', async (t) => {
  const ws = await client(t, 1);
  const cases = [
    [uniqueChannel('private'), {}],
    [uniqueChannel('private'), { auth: '' }],
    [uniqueChannel('private'), { auth: `${APP.key}:${'0'.repeat(64)}` }],
    [uniqueChannel('private'), { auth: 'not-even-a-key-and-signature' }],
    [uniqueChannel('presence'), {}],
    [uniqueChannel('presence'), { auth: '', channel_data: '{"user_id":"1"}' }],
  ];
  for (const [channel, data] of cases) {
    ws.send({ event: 'pusher:subscribe', data: { ...data, channel } });
    const reply = await ws.nextMessage();
    assert.equal(reply.event, 'pusher:error', `subscribe ${channel} with ${JSON.stringify(data)}: ${JSON.stringify(reply)}`);
    // then the same refusal as pusher-js and Laravel Echo report it
    const refusal = await ws.nextMessage();
    assert.equal(refusal.event, 'pusher:subscription_error', JSON.stringify(refusal));
    assert.equal(refusal.channel, channel);
  }
  // A signature made with another socket id or another secret is not accepted either.
  const channel = uniqueChannel('private');
  for (const auth of [privateAuth('1.1', channel), privateAuth(ws.socketId, channel, 'wrong-secret')]) {
    const reply = await ws.subscribe(channel, { auth });
    assert.equal(reply.event, 'pusher:error');
    assert.equal((await ws.nextMessage()).event, 'pusher:subscription_error');
  }
  await assertUsable(ws);
});

test('a private channel with a correct signature is subscribed and receives events', async (t) => {
  const ws = await client(t, 0);
  const channel = uniqueChannel('private');
  const reply = await ws.subscribe(channel, { auth: privateAuth(ws.socketId, channel) });
  assert.deepEqual(reply, { event: 'pusher_internal:subscription_succeeded', channel, data: '{}' });
  await publish(mesh().nodePort(1), { name: 'secret-news', channels: [channel], data: '{"a":1}' });
  assert.equal((await ws.waitForEvent('secret-news', { channel })).data, '{"a":1}');
});

test('pusher:unsubscribe gets no reply and stops delivery from that channel', async (t) => {
  const channel = uniqueChannel('unsub');
  const markerChannel = uniqueChannel('marker');
  const ws = await subscribed(t, 0, channel, markerChannel);
  const witness = await subscribed(t, 0, channel);

  // Delivered while subscribed.
  await publish(mesh().nodePort(1), { name: 'before', channels: [channel], data: '1' });
  await ws.waitForEvent('before', { channel });

  ws.unsubscribe(channel);
  await ws.sync();
  assert.equal(ws.inbox.history.at(-1).json.event, 'pusher:pong');
  assert.equal(ws.inbox.history.at(-2).json.event, 'before', 'unsubscribe must not be answered');

  await assertNotDelivered({ ws, witness, channel, markerChannel, via: mesh().nodePort(1) });
});

test('a channel whose name extends a subscribed one is not delivered (chat-1 vs chat-10)', async (t) => {
  const base = uniqueChannel('chat');
  const ws = await subscribed(t, 1, `${base}-1`);
  const witness = await subscribed(t, 1, `${base}-10`);
  await assertNotDelivered({ ws, witness, channel: `${base}-10`, markerChannel: `${base}-1`, via: mesh().nodePort(0) });
});

test('one event to several channels reaches each channel once', async (t) => {
  const channels = [uniqueChannel('multi'), uniqueChannel('multi'), uniqueChannel('multi')];
  const ws = await subscribed(t, 0, ...channels);
  await publish(mesh().nodePort(1), { name: 'fanout', channels, data: 'f' });
  for (const channel of channels) await ws.waitForEvent('fanout', { channel });
  await publish(mesh().nodePort(1), { name: 'marker', channels: [channels[0]], data: 'm' });
  await ws.waitForEvent('marker', { channel: channels[0] });
  const count = ws.inbox.history.filter((m) => m.json && m.json.event === 'fanout').length;
  assert.equal(count, channels.length, 'each channel delivered exactly once');
});

test('an event excluded by socket_id is not delivered to that connection only', async (t) => {
  const channel = uniqueChannel('exclude');
  const excluded = await subscribed(t, 0, channel);
  const other = await subscribed(t, 0, channel);
  const port = mesh().nodePort(1);
  await publish(port, { name: 'not-for-you', channels: [channel], data: 'x', socket_id: excluded.socketId });
  await other.waitForEvent('not-for-you', { channel });
  await publish(port, { name: 'marker', channels: [channel], data: 'm' });
  await excluded.waitForEvent('marker', { channel });
  assert.equal(excluded.received('not-for-you'), false);
});

test('closing a subscriber does not disturb the other subscribers of its channel', async (t) => {
  const channel = uniqueChannel('leave');
  const leaving = await subscribed(t, 0, channel);
  const staying = await subscribed(t, 0, channel);
  await leaving.close();
  await publish(mesh().nodePort(0), { name: 'after-leave', channels: [channel], data: 'ok' });
  await staying.waitForEvent('after-leave', { channel });
});
