'use strict';
// Client events ("client-…"), mesh-wide: only when the app enables client messages, only on
// private- and presence- channels the sender is subscribed to; relayed to every other
// subscriber on every node, never echoed to the sender; on presence channels the relayed frame
// carries the sender's user_id (pusher-js: metadata.user_id). Refusals are non-fatal
// pusher:error frames with the channel; more than 10 in any second per connection → 4301.
// Laravel Echo's whisper/listenForWhisper is the same thing.
//
// Absence is proven with a marker the SDK triggers on the same channel afterwards: the owning
// shard relays in order, so anything it sent for the client event arrives before the marker.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, uniqueChannel, waitUntil, APP } = require('../lib/mesh');
const { subscribe, waitForEvent, receivedRaw } = require('../lib/pusher-clients');
const {
  OTHER_APP,
  CLIENT_EVENTS_DISABLED,
  CLIENT_EVENT_WRONG_CHANNEL,
  sdkFor,
  spreadNames,
  connectApp,
  echoFor,
  once,
  nextMessage,
  messages,
  assertUsable,
  triggerMarker,
} = require('../lib/features');

// APP allows client events; OTHER_APP keeps the default (off).
const mesh = useMesh({
  shards: 2,
  nodes: 2,
  workers: 2,
  apps: [{ ...APP, enable_client_messages: true }, { ...OTHER_APP }],
});
const port = (node) => mesh().nodePort(node);
const sdk = (node, app) => sdkFor(port(node), app);
const member = (id) => ({ user_id: id, user_info: { id } });
const RATE_LIMIT = 10; // client events per connection in any window of RATE_WINDOW_MS (Pusher's)
const RATE_WINDOW_MS = 1000;

// Triggers a marker on `channel` and waits until every client got it.
const marker = (channel, clients, via = sdk(1)) => triggerMarker(channel, clients, via);

test('client events reach subscribers on both nodes, on every shard, and are not echoed', async (t) => {
  // One sender per node; each sends 8 events, one at a time, below the rate limit.
  const senders = [await connectApp(port(0), t), await connectApp(port(1), t)];
  const receivers = [await connectApp(port(0), t), await connectApp(port(1), t)];
  const names = spreadNames('private-whisper');
  for (const [i, name] of names.entries()) {
    const from = await subscribe(senders[i % 2], name);
    const got = [];
    for (const r of receivers) got.push(waitForEvent(await subscribe(r, name), 'client-typing'));
    from.trigger('client-typing', { name, from: i % 2 });
    for (const data of await Promise.all(got)) assert.deepEqual(data, { name, from: i % 2 });
  }
  for (const [i, name] of names.entries()) await marker(name, [senders[i % 2], ...receivers]);
  for (const s of senders) assert.equal(receivedRaw(s, 'client-typing'), false, 'a sender got its own client event back');
  for (const r of receivers) assert.equal(messages(r, 'client-typing').length, names.length, 'each event exactly once');
});

test('presence client events carry the sender user_id', async (t) => {
  const name = uniqueChannel('presence-chat');
  const alice = await connectApp(port(0), t, { member: member('alice') });
  const bob = await connectApp(port(1), t, { member: member('bob') });
  const aliceChannel = await subscribe(alice, name);
  const bobChannel = await subscribe(bob, name);
  const got = new Promise((resolve) => bobChannel.bind('client-hello', (data, metadata) => resolve({ data, metadata })));
  aliceChannel.trigger('client-hello', { text: 'hi' });
  const { data, metadata } = await once((done) => got.then(done), 'client-hello at bob');
  assert.deepEqual(data, { text: 'hi' });
  assert.equal(metadata.user_id, 'alice');
  assert.equal(messages(bob, 'client-hello', name)[0].user_id, 'alice');
  await marker(name, [alice, bob]);
  assert.equal(receivedRaw(alice, 'client-hello'), false, 'echoed to the sender');
});

test('Laravel Echo: whisper and listenForWhisper on private and presence channels', async (t) => {
  const a = await echoFor(await connectApp(port(0), t, { member: member('ann') }));
  const b = await echoFor(await connectApp(port(1), t, { member: member('ben') }));
  const room = uniqueChannel('room');

  // Callbacks are registered before anything is awaited: subscription_succeeded is not replayed.
  const aPrivate = a.private(room);
  const aSubscribed = once((done) => aPrivate.subscribed(done), 'ann subscribed');
  const bPrivate = b.private(room);
  const bSubscribed = once((done) => bPrivate.subscribed(done), 'ben subscribed');
  await Promise.all([aSubscribed, bSubscribed]);
  const typing = once((done) => bPrivate.listenForWhisper('typing', done), 'ben to hear the whisper');
  aPrivate.whisper('typing', { name: 'ann' });
  assert.deepEqual(await typing, { name: 'ann' });

  const aPresence = a.join(room);
  const aHere = once((done) => aPresence.here(done), 'ann here');
  const bPresence = b.join(room);
  const bHere = once((done) => bPresence.here(done), 'ben here');
  await Promise.all([aHere, bHere]);
  const editing = once((done) => aPresence.listenForWhisper('editing', done), 'ann to hear the whisper');
  bPresence.whisper('editing', { line: 3 });
  assert.deepEqual(await editing, { line: 3 });
});

// Sends a client event and returns the pusher:error the node answers with (for that channel).
async function refused(client, channel, event = 'client-nope') {
  client.send_event(event, { x: 1 }, channel);
  const error = await nextMessage(client, 'pusher:error', channel);
  return error.data;
}

test('client events are refused on public and encrypted channels, and when not subscribed', async (t) => {
  const sender = await connectApp(port(0), t);
  const listener = await connectApp(port(1), t);
  const publicName = uniqueChannel('public-chat');
  const encryptedName = uniqueChannel('private-encrypted-chat');
  const privateName = uniqueChannel('private-not-joined');
  for (const name of [publicName, encryptedName]) await subscribe(sender, name);
  for (const name of [publicName, encryptedName, privateName]) await subscribe(listener, name);

  for (const name of [publicName, encryptedName]) {
    const error = await refused(sender, name);
    assert.deepEqual(error, { code: null, message: CLIENT_EVENT_WRONG_CHANNEL }, name);
  }
  const notSubscribed = await refused(sender, privateName);
  assert.equal(notSubscribed.code, null, JSON.stringify(notSubscribed));
  assert.equal(typeof notSubscribed.message, 'string');

  for (const name of [publicName, encryptedName, privateName]) await marker(name, [listener]);
  assert.equal(receivedRaw(listener, 'client-nope'), false, 'a refused client event was relayed');
  await assertUsable(sender, sdk(1));
});

test('client events are refused when the app has not enabled them', async (t) => {
  const sender = await connectApp(port(1), t, { app: OTHER_APP, member: member('s') });
  const listener = await connectApp(port(0), t, { app: OTHER_APP, member: member('l') });
  for (const name of [uniqueChannel('private-quiet'), uniqueChannel('presence-quiet')]) {
    await subscribe(sender, name);
    await subscribe(listener, name);
    const error = await refused(sender, name);
    assert.deepEqual(error, { code: null, message: CLIENT_EVENTS_DISABLED }, name);
    await marker(name, [listener], sdk(0, OTHER_APP));
  }
  assert.equal(receivedRaw(listener, 'client-nope'), false, 'a refused client event was relayed');
  await assertUsable(sender, sdk(0, OTHER_APP));
});

test('client events are limited to 10 in any second: the 11th of a burst is refused with 4301; the connection survives', async (t) => {
  const name = uniqueChannel('private-burst');
  const sender = await connectApp(port(0), t);
  const listener = await connectApp(port(1), t);
  const channel = await subscribe(sender, name);
  await subscribe(listener, name);
  // Sent at once, in order, on one connection: the node sees all 11 within the second that
  // begins with the first (the window is the margin).
  const burst = RATE_LIMIT + 1;
  for (let i = 0; i < burst; i++) channel.trigger('client-burst', { i });

  const rateErrors = () => messages(sender, 'pusher:error', name).filter((m) => m.data && m.data.code === 4301);
  const delivered = () => messages(listener, 'client-burst', name).map((m) => m.data.i);
  await waitUntil(
    () => rateErrors().length + delivered().length === burst,
    `all ${burst} client events relayed or refused (relayed ${delivered().length}, refused ${rateErrors().length})`,
  );
  await marker(name, [sender, listener]);
  assert.deepEqual(delivered(), [...Array(RATE_LIMIT).keys()], 'the first 10 relayed, in order');
  assert.equal(rateErrors().length, 1, 'the 11th refused, once');
  assert.equal(receivedRaw(sender, 'client-burst'), false, 'echoed to the sender');
  assert.equal(sender.connection.state, 'connected');

  // A whole window after the node relayed the burst (it did before the listener got it), the
  // budget is back: one more goes through.
  await new Promise((resolve) => setTimeout(resolve, RATE_WINDOW_MS));
  const after = waitForEvent(listener.channel(name), 'client-after');
  channel.trigger('client-after', { ok: true });
  assert.deepEqual(await after, { ok: true });
  assert.equal(rateErrors().length, 1, 'refused after the window');
  await assertUsable(sender, sdk(1));
});
