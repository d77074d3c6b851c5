'use strict';
// What real apps send, end to end with pusher-js and the `pusher` SDK on 2 nodes and 2 shards:
// custom authorizers that answer {"auth", "channel_data": null} (pusher-js then sends
// "channel_data":null in pusher:subscribe) subscribe like any other, and client events flow
// on the channels they authorize.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, uniqueChannel, APP } = require('../lib/mesh');
const { subscribe, waitForEvent } = require('../lib/pusher-clients');
const { sdkFor, connectApp, signIn } = require('../lib/features');

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
