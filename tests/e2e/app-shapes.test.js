'use strict';
// What real apps send, end to end with pusher-js and the `pusher` SDK on 2 nodes and 2 shards:
// * custom authorizers that answer {"auth", "channel_data": null} (pusher-js then sends
//   "channel_data":null in pusher:subscribe) subscribe like any other, and client events flow
//   on the channels they authorize;
// * integer user ids, as Laravel signs them: a sign-in {"id":1,...} is accepted (the node SDK
//   refuses to sign it, so the test signs as the PHP SDK does) and `1` is user "1" for
//   sendToUser and terminate_connections; presence user_id 2 comes back as the number 2 in
//   member_added / member_removed, subscription_succeeded's ids and the REST users list, while
//   2 and "2" are one member, counted once.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, uniqueChannel, hmac, APP } = require('../lib/mesh');
const { subscribe, waitForEvent } = require('../lib/pusher-clients');
const { sdkFor, connectApp, signIn, nextMessage, closedByServer, queryOk, once } = require('../lib/features');

const mesh = useMesh({ shards: 2, nodes: 2, workers: 2, apps: [{ ...APP, enable_client_messages: true }] });
const port = (node) => mesh().nodePort(node);
const sdk = (node) => sdkFor(port(node));

// A custom authorizer as PHP backends write it: the signature, and channel_data null.
const nullChannelData = ({ socketId, channelName, signer }) => ({
  auth: signer.authorizeChannel(socketId, channelName).auth,
  channel_data: null,
});

test('a custom authorizer answering channel_data null: private channels and client events work on both nodes', async (t) => {
  const name = uniqueChannel('private-null-data');
  const clients = [];
  for (const node of [0, 1]) {
    const client = await connectApp(port(node), t, { authorize: nullChannelData });
    const sent = client.inbox.history.length;
    const channel = await subscribe(client, name);
    assert.ok(
      client.inbox.history.slice(sent).every((m) => m.event !== 'pusher:error'),
      `node ${node} answered the subscription with pusher:error`,
    );
    clients.push({ client, channel });
  }
  const got = waitForEvent(clients[1].channel, 'client-typing');
  assert.ok(clients[0].channel.trigger('client-typing', { from: 0 }), 'pusher-js refused to send the client event');
  assert.deepEqual(await got, { from: 0 });
  const server = clients.map(({ channel }) => waitForEvent(channel, 'from-server'));
  await sdk(1).trigger(name, 'from-server', { ok: true });
  assert.deepEqual(await Promise.all(server), [{ ok: true }, { ok: true }]);
});

test('channel_data null on a presence channel: a signed-in connection joins as its user', async (t) => {
  const name = uniqueChannel('presence-null-data');
  const user = { id: uniqueChannel('user'), user_info: { name: 'Null' } };
  const client = await connectApp(port(0), t, { user, authorize: nullChannelData });
  await signIn(client);
  const channel = await subscribe(client, name);
  assert.deepEqual(channel.members.me, { id: user.id, info: user.user_info });
});

// pusher:signin for user_data exactly as given, signed as the PHP SDK signs it.
const signedAs = (userData) => ({ socketId }) => {
  const text = JSON.stringify(userData);
  return { auth: `${APP.key}:${hmac(APP.secret, `${socketId}::user::${text}`)}`, user_data: text };
};

test('a Laravel-shaped sign-in (integer id) is accepted; sendToUser and terminate reach user "1"', async (t) => {
  const id = Math.floor(Math.random() * 1e9);
  const laravel = { id, name: 'Taylor', user_info: { name: 'Taylor' } };
  const clients = [];
  for (const node of [0, 1]) {
    const client = await connectApp(port(node), t, { authenticate: signedAs(laravel) });
    client.signin();
    const success = await nextMessage(client, 'pusher:signin_success');
    assert.equal(success.data.user_data, JSON.stringify(laravel));
    clients.push(client);
  }
  // pusher-js's own user facade wants a string id: it neither subscribes the user channel nor
  // reads its events. The test subscribes it as pusher-js does for a string id; the node's
  // subscription_succeeded says its own subscription (made at sign-in) is live, so the
  // sendToUser below cannot pass it by. The event is read off the connection.
  const userChannel = `#server-to-user-${id}`;
  for (const client of clients) {
    client.send_event('pusher:subscribe', { auth: '', channel: userChannel });
    await nextMessage(client, 'pusher_internal:subscription_succeeded', userChannel);
  }
  const got = clients.map((c) => nextMessage(c, 'for-laravel', userChannel));
  await sdk(1).sendToUser(String(id), 'for-laravel', { ok: true });
  for (const message of await Promise.all(got)) assert.deepEqual(message.data, { ok: true });
  await sdk(0).terminateUserConnections(String(id));
  for (const client of clients) assert.ok((await closedByServer(client)).includes(4009));
});

// Resolves with the next pusher:member_added / removed of a pusher-js presence channel.
const memberEvent = (channel, event) => once((done) => channel.bind(event, done), `${event} on ${channel.name}`);

test('presence user_id 2 comes back as the number 2; 2 and "2" are one member', async (t) => {
  const name = uniqueChannel('presence-int');
  const watcher = await connectApp(port(0), t, { member: { user_id: 'watcher' } });
  const watching = await subscribe(watcher, name);

  const added = memberEvent(watching, 'pusher:member_added');
  const numeric = await connectApp(port(1), t, { member: { user_id: 2, user_info: { n: 'number' } } });
  const own = await subscribe(numeric, name);
  assert.deepEqual(await added, { id: 2, info: { n: 'number' } });
  assert.deepEqual(own.members.me, { id: 2, info: { n: 'number' } });
  const succeeded = numeric.inbox.history.find((m) => m.event === 'pusher_internal:subscription_succeeded' && m.channel === name);
  assert.deepEqual(succeeded.data.presence.ids.sort(), [2, 'watcher'].sort());

  // The same user as a string, on the other node: the same member (no member_added).
  const asString = await connectApp(port(0), t, { member: { user_id: '2' } });
  await subscribe(asString, name);
  const users = await queryOk(sdk(1), `/channels/${name}/users`);
  assert.deepEqual(users.users.sort((a, b) => String(a.id).localeCompare(String(b.id))), [{ id: 2 }, { id: 'watcher' }]);
  const info = await queryOk(sdk(0), `/channels/${name}`, { info: 'user_count' });
  assert.equal(info.user_count, 2);

  // Removed when its last connection leaves, still as a number.
  const removed = memberEvent(watching, 'pusher:member_removed');
  numeric.unsubscribe(name);
  asString.unsubscribe(name);
  assert.deepEqual(await removed, { id: 2, info: { n: 'number' } });
  assert.equal(watcher.inbox.history.filter((m) => m.event === 'pusher_internal:member_added' && m.channel === name).length, 1);
});
