'use strict';
// Cache channels (cache-, private-cache-, presence-cache-, private-encrypted-cache-): right
// after subscription_succeeded a subscriber receives the channel's last server-published event
// (same name, channel and data), or pusher:cache_miss when there is none. Client events are
// not cached. pusher-js emits both to the channel's bindings.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, uniqueChannel, withTimeout, connectClient, WAIT_MS, APP } = require('../lib/mesh');
const { subscribe, waitForEvent } = require('../lib/pusher-clients');
const { sdkFor, connectApp, nextMessage, messages } = require('../lib/features');

const mesh = useMesh({ shards: 2, nodes: 2, workers: 2, apps: [{ ...APP, enable_client_messages: true }] });
const port = (node) => mesh().nodePort(node);
const sdk = (node) => sdkFor(port(node));

const PREFIXES = ['cache-', 'private-cache-', 'presence-cache-', 'private-encrypted-cache-'];
const member = (id) => ({ user_id: id, user_info: { id } });

// Subscribes with `event` bound before the subscription is sent; resolves {channel, data}
// once subscription_succeeded and then `event` arrived.
async function subscribeExpecting(client, name, event) {
  const channel = client.subscribe(name);
  const got = new Promise((resolve) => channel.bind(event, (data) => resolve(data)));
  const ok = new Promise((resolve, reject) => {
    channel.bind('pusher:subscription_succeeded', resolve);
    channel.bind('pusher:subscription_error', (e) => reject(new Error(`subscription to ${name} refused: ${JSON.stringify(e)}`)));
  });
  await withTimeout(ok, WAIT_MS, `subscription_succeeded on ${name}`);
  const data = await withTimeout(got, WAIT_MS, `${event} right after subscribing to ${name}`);
  return { channel, data };
}

// Index of the first message on `channel` with `event` in the client's history (-1: none).
const indexOf = (client, event, channel) => client.inbox.history.findIndex((m) => m.event === event && m.channel === channel);

test('a new subscriber gets the last published event right after subscription_succeeded, for every cache type', async (t) => {
  const clients = [await connectApp(port(0), t, { member: member('a') }), await connectApp(port(1), t, { member: member('b') })];
  const names = PREFIXES.flatMap((prefix) => Array.from({ length: 6 }, () => uniqueChannel(`${prefix}last`)));
  for (const [i, name] of names.entries()) {
    await sdk(i % 2).trigger(name, 'older', { n: 1, name });
    await sdk(i % 2).trigger(name, 'latest', { n: 2, name });
  }
  for (const [i, name] of names.entries()) {
    const client = clients[(i + 1) % 2];
    const { channel, data } = await subscribeExpecting(client, name, 'latest');
    assert.deepEqual(data, { n: 2, name }, name);
    assert.ok(
      indexOf(client, 'pusher_internal:subscription_succeeded', name) < indexOf(client, 'latest', name),
      `${name}: the cached event came before subscription_succeeded`,
    );
    // Only the last event is replayed: a marker published now arrives with nothing else before it.
    const marker = waitForEvent(channel, 'marker');
    await sdk(i % 2).trigger(name, 'marker', {});
    await marker;
    assert.equal(indexOf(client, 'older', name), -1, `${name}: an older event was replayed`);
    assert.equal(messages(client, 'pusher:cache_miss', name).length, 0, `${name}: cache_miss although cached`);
  }
});

test('the replayed frame is exactly the live one; an empty channel gets exactly {event, channel}', async (t) => {
  // Raw clients see the frames as sent.
  const raw = async (node) => {
    const ws = await connectClient(port(node));
    t.after(() => ws.destroy());
    return ws;
  };
  const name = uniqueChannel('cache-frame');
  const live = await raw(0);
  assert.deepEqual(await live.subscribe(name), { event: 'pusher_internal:subscription_succeeded', channel: name, data: '{}' });
  assert.deepEqual(await live.nextMessage(), { event: 'pusher:cache_miss', channel: name });

  const data = JSON.stringify({ text: 'héllo "quoted" \\ \u2603' });
  await sdk(1).trigger(name, 'exact', data);
  const liveFrame = await live.nextMessage();
  assert.deepEqual(liveFrame, { event: 'exact', channel: name, data });

  const late = await raw(1);
  assert.equal((await late.subscribe(name)).event, 'pusher_internal:subscription_succeeded');
  assert.deepEqual(await late.nextMessage(), liveFrame);
});

test('an empty cache channel answers pusher:cache_miss, for every cache type', async (t) => {
  for (const node of [0, 1]) {
    const client = await connectApp(port(node), t, { member: member(`m${node}`) });
    for (const prefix of PREFIXES) {
      const name = uniqueChannel(`${prefix}empty`);
      await subscribeExpecting(client, name, 'pusher:cache_miss');
      const frame = messages(client, 'pusher:cache_miss', name)[0];
      assert.equal(frame.channel, name);
      assert.ok(indexOf(client, 'pusher_internal:subscription_succeeded', name) < indexOf(client, 'pusher:cache_miss', name));
    }
  }
});

test('client events are not cached', async (t) => {
  const name = uniqueChannel('private-cache-client');
  const sender = await connectApp(port(0), t);
  const witness = await connectApp(port(1), t);
  const senderChannel = await subscribe(sender, name);
  const witnessChannel = await subscribe(witness, name);
  const serverGot = waitForEvent(witnessChannel, 'from-server');
  await sdk(0).trigger(name, 'from-server', { by: 'server' });
  await serverGot;
  const clientGot = waitForEvent(witnessChannel, 'client-from-client');
  senderChannel.trigger('client-from-client', { by: 'client' });
  await clientGot;

  const late = await connectApp(port(1), t);
  const { data } = await subscribeExpecting(late, name, 'from-server');
  assert.deepEqual(data, { by: 'server' });
  assert.equal(indexOf(late, 'client-from-client', name), -1, 'a client event was replayed');
});

test('subscribers already on the node get each event once; newcomers on either node get it from the cache', async (t) => {
  const name = uniqueChannel('cache-shared');
  const first = await connectApp(port(0), t);
  await subscribeExpecting(first, name, 'pusher:cache_miss');
  const liveGot = waitForEvent(first.channel(name), 'news');
  await sdk(1).trigger(name, 'news', { v: 1 });
  assert.deepEqual(await liveGot, { v: 1 });

  const sameNode = await connectApp(port(0), t);
  const otherNode = await connectApp(port(1), t);
  assert.deepEqual((await subscribeExpecting(sameNode, name, 'news')).data, { v: 1 });
  assert.deepEqual((await subscribeExpecting(otherNode, name, 'news')).data, { v: 1 });

  const markers = [first, sameNode, otherNode].map((c) => waitForEvent(c.channel(name), 'marker'));
  await sdk(0).trigger(name, 'marker', {});
  await Promise.all(markers);
  for (const [who, c] of Object.entries({ first, sameNode, otherNode })) {
    assert.equal(messages(c, 'news', name).length, 1, `${who} got the event ${messages(c, 'news', name).length} times`);
  }
});
