'use strict';
// End to end with the official libraries: pusher-js 8 clients subscribe on one node, the
// `pusher` server SDK triggers through the other, across both broker shards.
//
// Absence of an event is shown with a marker: an event published after it on a path that
// keeps order (same channel, or a witness on the same node first) reaches the client, which
// by then must not have received the first event.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, uniqueChannel } = require('../lib/mesh');
const { connectPusherJs, subscribe, waitForEvent, recordEvents, receivedRaw, serverSdk } = require('../lib/pusher-clients');

const mesh = useMesh({ shards: 2, nodes: 2, workers: 2 });
const port = (node) => mesh().nodePort(node);
const sdk = (node) => serverSdk(port(node));

test('a client on one node receives what the SDK triggers through the other, both ways', async (t) => {
  for (const [clientNode, triggerNode] of [
    [0, 1],
    [1, 0],
  ]) {
    const client = await connectPusherJs(port(clientNode), t);
    const channel = await subscribe(client, uniqueChannel('cross'));
    const got = waitForEvent(channel, 'order-shipped');
    const payload = { id: 42, items: ['a', 'b'], note: 'ünïcödé "quotes"', nested: { ok: true } };
    await sdk(triggerNode).trigger(channel.name, 'order-shipped', payload);
    assert.deepEqual(await got, payload, `client on node ${clientNode}, trigger via node ${triggerNode}`);
  }
});

test('string payloads stay strings; JSON strings arrive parsed', async (t) => {
  const client = await connectPusherJs(port(0), t);
  const channel = await subscribe(client, uniqueChannel('payloads'));
  const cases = [
    ['plain text', 'plain text'],
    ['{"already":"json"}', { already: 'json' }],
    [[1, 2, 3], [1, 2, 3]],
    [12.5, 12.5],
  ];
  for (const [i, [sent, expected]] of cases.entries()) {
    const got = waitForEvent(channel, `payload-${i}`);
    await sdk(1).trigger(channel.name, `payload-${i}`, sent);
    assert.deepEqual(await got, expected, `payload ${JSON.stringify(sent)}`);
  }
});

test('triggerBatch delivers every event of the batch', async (t) => {
  const client = await connectPusherJs(port(1), t);
  const a = await subscribe(client, uniqueChannel('batch-a'));
  const b = await subscribe(client, uniqueChannel('batch-b'));
  const waits = [waitForEvent(a, 'first'), waitForEvent(b, 'second'), waitForEvent(a, 'third')];
  await sdk(0).triggerBatch([
    { channel: a.name, name: 'first', data: { n: 1 } },
    { channel: b.name, name: 'second', data: 'two' },
    { channel: a.name, name: 'third', data: { n: 3 } },
  ]);
  assert.deepEqual(await Promise.all(waits), [{ n: 1 }, 'two', { n: 3 }]);
});

test('one trigger to several channels reaches every channel', async (t) => {
  const client = await connectPusherJs(port(0), t);
  const channels = [];
  for (let i = 0; i < 5; i++) channels.push(await subscribe(client, uniqueChannel('several')));
  const waits = channels.map((c) => waitForEvent(c, 'broadcast'));
  await sdk(1).trigger(
    channels.map((c) => c.name),
    'broadcast',
    { to: 'all' },
  );
  for (const data of await Promise.all(waits)) assert.deepEqual(data, { to: 'all' });
});

test('socket_id excludes exactly that connection', async (t) => {
  const excluded = await connectPusherJs(port(0), t);
  const other = await connectPusherJs(port(1), t);
  const name = uniqueChannel('exclude');
  const excludedChannel = await subscribe(excluded, name);
  const otherChannel = await subscribe(other, name);
  const seen = recordEvents(excludedChannel);

  const otherGot = waitForEvent(otherChannel, 'not-for-you');
  await sdk(1).trigger(name, 'not-for-you', { x: 1 }, { socket_id: excluded.connection.socket_id });
  await otherGot;

  const marker = waitForEvent(excludedChannel, 'marker');
  await sdk(1).trigger(name, 'marker', {});
  await marker;
  assert.deepEqual(
    seen.filter((e) => e.event === 'not-for-you'),
    [],
    'the excluded connection received the event',
  );
});

test('after unsubscribe a client receives nothing more from that channel', async (t) => {
  const leaver = await connectPusherJs(port(0), t);
  const witness = await connectPusherJs(port(0), t);
  const name = uniqueChannel('unsub');
  const leaverChannel = await subscribe(leaver, name);
  const witnessChannel = await subscribe(witness, name);

  const before = waitForEvent(leaverChannel, 'while-subscribed');
  await sdk(1).trigger(name, 'while-subscribed', {});
  await before;

  leaver.unsubscribe(name);
  // Subscribing to another channel on the same connection proves the node handled the
  // unsubscribe (messages on one connection are processed in order).
  const markerChannel = await subscribe(leaver, uniqueChannel('marker'));

  const witnessGot = waitForEvent(witnessChannel, 'after-unsubscribe');
  await sdk(1).trigger(name, 'after-unsubscribe', {});
  await witnessGot;
  const marker = waitForEvent(markerChannel, 'marker');
  await sdk(1).trigger(markerChannel.name, 'marker', {});
  await marker;
  assert.equal(receivedRaw(leaver, 'after-unsubscribe'), false, 'the node still sent the event after unsubscribe');
});

test('every channel delivers to clients on both nodes, whichever shard owns it', async (t) => {
  // 20 names: rendezvous hashing gives each of the 2 shards some of them (a shard owning none
  // has probability 2 * 2^-20).
  const clients = [await connectPusherJs(port(0), t), await connectPusherJs(port(1), t)];
  const names = Array.from({ length: 20 }, () => uniqueChannel('spread'));
  const channels = [];
  for (const client of clients) for (const name of names) channels.push(await subscribe(client, name));
  const waits = channels.map((c) => waitForEvent(c, 'spread-event'));
  for (const [i, name] of names.entries()) await sdk(i % 2).trigger(name, 'spread-event', { channel: name });
  const results = await Promise.all(waits);
  results.forEach((data, i) => assert.deepEqual(data, { channel: channels[i].name }));
});

test('clients on both nodes see the same events in publish order', async (t) => {
  const name = uniqueChannel('order');
  const clients = [await connectPusherJs(port(0), t), await connectPusherJs(port(1), t)];
  const records = [];
  for (const client of clients) records.push(recordEvents(await subscribe(client, name)));
  const server = sdk(0);
  const count = 20;
  for (let i = 0; i < count; i++) await server.trigger(name, 'seq', { i });
  const last = clients.map((c) => waitForEvent(c.channel(name), 'done'));
  await server.trigger(name, 'done', {});
  await Promise.all(last);
  const expected = Array.from({ length: count }, (_, i) => ({ i }));
  for (const seen of records) {
    assert.deepEqual(
      seen.filter((e) => e.event === 'seq').map((e) => e.data),
      expected,
    );
  }
});
