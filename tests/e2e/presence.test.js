'use strict';
// Presence channels end to end, mesh-wide: members are users (user_id), not connections.
// pusher-js and Laravel Echo (join/here/joining/leaving) on both nodes; channel_data signed by
// the server SDK. subscription_succeeded lists the whole mesh's members including the
// subscriber; member_added/member_removed go out once per user (first connection / last
// connection), never to the connection that caused them. Limits: max_presence_members per
// channel (refused with LimitReached), max_presence_member_kb for user_info.
//
// Absence is proven with markers: an event the SDK triggers on the same presence channel after
// the shard has handled a change reaches the observers after anything the shard emitted for
// that change (one shard owns the channel and keeps its order).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, uniqueChannel, waitUntil, hmac, APP } = require('../lib/mesh');
const { subscribe } = require('../lib/pusher-clients');
const {
  sdkFor,
  spreadNames,
  connectApp,
  echoFor,
  once,
  nextMessage,
  messages,
  subscribeRefused,
  refusalFrames,
  assertUsable,
  signIn,
  triggerMarker,
  queryOk,
} = require('../lib/features');

const SMALL_APP = Object.freeze({ id: 'small-app', key: 'small-key', secret: 'small-secret' });
const mesh = useMesh({
  shards: 2,
  nodes: 2,
  workers: 2,
  apps: [{ ...APP, subscription_count: true }, { ...SMALL_APP, max_presence_members: 2 }],
});
const port = (node) => mesh().nodePort(node);
const sdk = (node, app) => sdkFor(port(node), app);

const info = (id) => ({ id, name: `User ${id}` });
const member = (id) => ({ user_id: id, user_info: info(id) });
const byId = (list) => [...list].sort((a, b) => (a.id < b.id ? -1 : 1));
const memberEvents = (client, event, channel, userId) =>
  messages(client, `pusher_internal:${event}`, channel).filter((m) => m.data && m.data.user_id === userId);

// Triggers a marker on the channel and waits until every client has it.
const marker = (channel, clients, via = sdk(0)) => triggerMarker(channel, clients, via);

test('Laravel Echo: two users on different nodes see each other (here, joining, leaving)', async (t) => {
  const alice = await echoFor(await connectApp(port(0), t, { member: member('alice') }));
  const bob = await echoFor(await connectApp(port(1), t, { member: member('bob') }));
  const room = uniqueChannel('room');

  const aliceRoom = alice.join(room);
  assert.deepEqual(await once((done) => aliceRoom.here(done), 'here for alice'), [info('alice')]);
  const joining = once((done) => aliceRoom.joining(done), 'alice to see bob joining');

  const bobRoom = bob.join(room);
  const bobHere = await once((done) => bobRoom.here(done), 'here for bob');
  assert.deepEqual(byId(bobHere), [info('alice'), info('bob')]);
  assert.deepEqual(await joining, info('bob'));

  const leaving = once((done) => aliceRoom.leaving(done), 'alice to see bob leaving');
  bob.leave(room);
  assert.deepEqual(await leaving, info('bob'));
});

test('presence membership is mesh-wide on every shard: both users see each other everywhere', async (t) => {
  const alice = await connectApp(port(0), t, { member: member('alice') });
  const bob = await connectApp(port(1), t, { member: member('bob') });
  const names = spreadNames('presence-spread');
  const aliceChannels = [];
  for (const name of names) aliceChannels.push(await subscribe(alice, name));
  for (const name of names) {
    const channel = await subscribe(bob, name);
    assert.equal(channel.members.count, 2, `${name}: bob's subscription_succeeded must list alice too`);
    assert.deepEqual(channel.members.get('alice'), { id: 'alice', info: info('alice') });
  }
  await waitUntil(() => aliceChannels.every((c) => c.members.count === 2), 'alice to see bob on every channel');
  bob.disconnect();
  await waitUntil(() => aliceChannels.every((c) => c.members.count === 1), 'alice to see bob leave every channel');
});

test('subscription_succeeded carries ids, hash and count of the whole mesh; user ids keep their type', async (t) => {
  const channel = uniqueChannel('presence-payload');
  const alice = await connectApp(port(0), t, { member: member('alice') });
  await subscribe(alice, channel);
  const first = messages(alice, 'pusher_internal:subscription_succeeded', channel)[0];
  assert.deepEqual(first.data, { presence: { ids: ['alice'], hash: { alice: info('alice') }, count: 1 } });

  // A numeric user_id (the SDK passes it through as a number) stays the number 10; hash keys
  // are strings, as JSON keys are.
  const numeric = await connectApp(port(1), t, { member: { user_id: 10, user_info: { n: 10 } } });
  await subscribe(numeric, channel);
  const added = await nextMessage(alice, 'pusher_internal:member_added', channel);
  assert.deepEqual(added.data, { user_id: 10, user_info: { n: 10 } });

  const carol = await connectApp(port(0), t, { member: member('carol') });
  await subscribe(carol, channel);
  const { presence } = messages(carol, 'pusher_internal:subscription_succeeded', channel)[0].data;
  assert.deepEqual([...presence.ids].sort(), [10, 'alice', 'carol']);
  assert.deepEqual(presence.hash, { 10: { n: 10 }, alice: info('alice'), carol: info('carol') });
  assert.equal(presence.count, 3);
});

test('member_added never reaches the connection that caused it', async (t) => {
  const channel = uniqueChannel('presence-self');
  const alice = await connectApp(port(0), t, { member: member('alice') });
  const bob = await connectApp(port(1), t, { member: member('bob') });
  await subscribe(alice, channel);
  await subscribe(bob, channel);
  await nextMessage(alice, 'pusher_internal:member_added', channel);
  await marker(channel, [alice, bob]);
  assert.deepEqual(messages(bob, 'pusher_internal:member_added', channel), [], 'bob was told about his own arrival');
  assert.deepEqual(messages(alice, 'pusher_internal:member_added', channel).length, 1);
});

test('one user connected on both nodes is one member until the last connection leaves', async (t) => {
  const channel = uniqueChannel('presence-multi');
  const dave = await connectApp(port(0), t, { member: member('dave') });
  await subscribe(dave, channel);
  const carolA = await connectApp(port(0), t, { member: member('carol') });
  await subscribe(carolA, channel);
  await nextMessage(dave, 'pusher_internal:member_added', channel);

  // carol's second connection, on the other node: no new member.
  const carolB = await connectApp(port(1), t, { member: member('carol') });
  const b = await subscribe(carolB, channel);
  assert.equal(b.members.count, 2, 'dave and carol');
  const { presence } = messages(carolB, 'pusher_internal:subscription_succeeded', channel)[0].data;
  assert.deepEqual([...presence.ids].sort(), ['carol', 'dave']);
  assert.equal(presence.count, 2);
  await marker(channel, [dave, carolA, carolB]);
  assert.equal(memberEvents(dave, 'member_added', channel, 'carol').length, 1, "carol's second connection announced again");
  assert.deepEqual(messages(carolA, 'pusher_internal:member_added', channel), [], 'carol told about herself');
  assert.deepEqual(messages(carolB, 'pusher_internal:member_added', channel), [], 'carol told about herself');

  // carolA leaves and joins again on the same connection: once her new subscription succeeds,
  // the shard has handled the leave, so a marker after it orders any member_removed.
  carolA.unsubscribe(channel);
  await subscribe(carolA, channel);
  await marker(channel, [dave, carolB]);
  assert.deepEqual(memberEvents(dave, 'member_removed', channel, 'carol'), [], 'carol removed while still connected on node 1');
  assert.equal(memberEvents(dave, 'member_added', channel, 'carol').length, 1, 'carol announced again');

  // carolA disconnects: carol stays (her connection on node 1 remains). Node 0 sends her leave
  // to the shard before the drop in its subscription count, so once the shard counts 2
  // connections it has handled the leave, and a marker orders any member_removed.
  carolA.disconnect();
  await waitUntil(
    async () => (await queryOk(sdk(1), `/channels/${channel}`, { info: 'subscription_count' })).subscription_count === 2,
    "the shard to count dave's and carolB's connections only",
  );
  await marker(channel, [dave, carolB]);
  assert.deepEqual(memberEvents(dave, 'member_removed', channel, 'carol'), [], 'carol removed at her first disconnect');

  // The last connection goes: dave sees carol leave, once.
  carolB.disconnect();
  const removed = await nextMessage(dave, 'pusher_internal:member_removed', channel);
  assert.equal(removed.data.user_id, 'carol');
  assert.equal(dave.channel(channel).members.count, 1);
  await marker(channel, [dave]);
  assert.equal(memberEvents(dave, 'member_removed', channel, 'carol').length, 1);
});

test('max_presence_members: the limit counts users mesh-wide; the next user gets LimitReached', async (t) => {
  const channel = uniqueChannel('presence-full');
  const join = async (node, id) => {
    const client = await connectApp(port(node), t, { app: SMALL_APP, member: member(id) });
    return { client, channel: await subscribe(client, channel) };
  };
  await join(0, 'u1');
  const u2 = await join(1, 'u2');

  const u3 = await connectApp(port(0), t, { app: SMALL_APP, member: member('u3') });
  const refusal = await subscribeRefused(u3, channel);
  assert.equal(refusal.type, 'LimitReached', JSON.stringify(refusal));
  await refusalFrames(u3, channel);
  await assertUsable(u3, sdk(1, SMALL_APP));

  // Another connection of a member is not a new member: accepted at the limit.
  const again = await join(1, 'u1');
  assert.equal(again.channel.members.count, 2);

  // Once u2 has left there is room again (the leave reaches the shard asynchronously: retry
  // with fresh connections until one is accepted).
  u2.client.disconnect();
  await waitUntil(
    async () => {
      const c = await connectApp(port(1), t, { app: SMALL_APP, member: member('u3') });
      try {
        await subscribe(c, channel);
        return true;
      } catch {
        c.disconnect();
        return false;
      }
    },
    'u3 to be accepted once u2 left',
    15000,
    200,
  );
});

test('user_info larger than max_presence_member_kb (1 KB) is refused; smaller is accepted', async (t) => {
  for (const node of [0, 1]) {
    const channel = uniqueChannel('presence-size');
    const big = await connectApp(port(node), t, { member: { user_id: 'big', user_info: { pad: 'x'.repeat(1100) } } });
    const refusal = await subscribeRefused(big, channel);
    assert.ok(['LimitReached', 'AuthError'].includes(refusal.type), JSON.stringify(refusal));
    await refusalFrames(big, channel);
    await assertUsable(big, sdk(node));

    const fits = await connectApp(port(node), t, { member: { user_id: 'fits', user_info: { pad: 'x'.repeat(900) } } });
    const ok = await subscribe(fits, channel);
    assert.equal(ok.members.count, 1, 'the refused user must not be a member');
  }
});

test('invalid channel_data is refused and the connection stays usable', async (t) => {
  const client = await connectApp(port(1), t);
  const sid = () => client.connection.socket_id;
  const sign = (channel, data) => `${APP.key}:${hmac(APP.secret, `${sid()}:${channel}:${data}`)}`;
  const cases = {
    'no user_id': (channel) => {
      const data = JSON.stringify({ user_info: { name: 'nobody' } });
      return { auth: sign(channel, data), channel_data: data };
    },
    'not JSON': (channel) => ({ auth: sign(channel, 'not json'), channel_data: 'not json' }),
    'no channel_data at all': (channel) => ({ auth: `${APP.key}:${hmac(APP.secret, `${sid()}:${channel}`)}` }),
    'channel_data other than the signed one': (channel) => ({
      auth: sign(channel, JSON.stringify({ user_id: 'alice' })),
      channel_data: JSON.stringify({ user_id: 'mallory' }),
    }),
  };
  for (const [what, make] of Object.entries(cases)) {
    const channel = uniqueChannel('presence-bad');
    // pusher-js would parse channel_data itself; send the frame as pusher-js encodes it.
    client.send_event('pusher:subscribe', { ...make(channel), channel });
    const frames = await refusalFrames(client, channel);
    assert.ok(frames.subscriptionError.status >= 400, `${what}: ${JSON.stringify(frames)}`);
  }
  await assertUsable(client, sdk(0));
});

test('a signed-in user joins without channel_data as its sign-in identity, seen by others', async (t) => {
  const room = uniqueChannel('presence-signed');
  // The auth endpoint signs socket_id:channel only (no presence data), as the SDK does when the
  // app relies on user authentication for the member's identity.
  const carol = await connectApp(port(0), t, {
    user: { id: 'carol', user_info: { name: 'Carol' } },
    authorize: ({ socketId, channelName, signer }) => signer.authorizeChannel(socketId, channelName),
  });
  await signIn(carol);
  carol.subscribe(room);
  const joined = await nextMessage(carol, 'pusher_internal:subscription_succeeded', room);
  assert.deepEqual(joined.data.presence.hash, { carol: { name: 'Carol' } });

  const dave = await connectApp(port(1), t, { member: member('dave') });
  dave.subscribe(room);
  const seen = (await nextMessage(dave, 'pusher_internal:subscription_succeeded', room)).data;
  assert.deepEqual(seen.presence.hash, { carol: { name: 'Carol' }, dave: info('dave') });
  assert.equal(seen.presence.count, 2);
});
