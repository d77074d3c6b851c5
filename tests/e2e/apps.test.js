'use strict';
// Several apps on one mesh, with the official clients: the same channel names in two apps
// never share events, client events, presence members, subscription counts or query answers.
// And max_connections: the (max+1)-th connection of an app in the whole mesh gets pusher:error 4004
// and close 4004 (pusher-js then gives up), on every node, while other apps are unaffected.
// max_event_payload_kb limits what the app may publish. Unknown keys in the apps file are
// refused at start-up.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { useMesh, assertRefusesToStart, uniqueChannel, waitUntil, connectClient, openWebSocket, APP } = require('../lib/mesh');
const { subscribe, waitForEvent, receivedRaw, createPusherJs, rejection } = require('../lib/pusher-clients');
const { sdkFor, connectApp, nextMessage, messages, trackCount, countsReach, query, queryOk, closedByServer } = require('../lib/features');

const ONE = Object.freeze({ id: 'app-one', key: 'key-one', secret: 'secret-one' });
const TWO = Object.freeze({ id: 'app-two', key: 'key-two', secret: 'secret-two' });
const LIMITED = Object.freeze({ id: 'app-limited', key: 'key-limited', secret: 'secret-limited' });
const FEATURES = { enable_client_messages: true, subscription_count: true };
const mesh = useMesh({
  shards: 2,
  nodes: 2,
  workers: 2,
  apps: [
    { ...ONE, ...FEATURES },
    { ...TWO, ...FEATURES },
    { ...LIMITED, max_connections: 2, max_event_payload_kb: 1 },
  ],
});
const port = (node) => mesh().nodePort(node);
const sdk = (node, app) => sdkFor(port(node), app);
const member = (id) => ({ user_id: id, user_info: { id } });

// Triggers a marker in `app` on `channel` and waits until every client has it.
async function marker(app, channel, clients) {
  const name = `marker-${uniqueChannel('m')}`;
  const waits = clients.map((c) => nextMessage(c, name, channel));
  await sdk(1, app).trigger(channel, name, {});
  await Promise.all(waits);
}

test('the same channel names in two apps do not share events, on any node or shard', async (t) => {
  const names = Array.from({ length: 8 }, () => uniqueChannel('shared'));
  const one = [await connectApp(port(0), t, { app: ONE }), await connectApp(port(1), t, { app: ONE })];
  const two = [await connectApp(port(0), t, { app: TWO }), await connectApp(port(1), t, { app: TWO })];
  for (const name of names) for (const c of [...one, ...two]) await subscribe(c, name);
  for (const [i, name] of names.entries()) {
    const got = one.map((c) => waitForEvent(c.channel(name), 'for-one'));
    await sdk(i % 2, ONE).trigger(name, 'for-one', { i });
    for (const data of await Promise.all(got)) assert.deepEqual(data, { i });
    const gotTwo = two.map((c) => waitForEvent(c.channel(name), 'for-two'));
    await sdk(i % 2, TWO).trigger(name, 'for-two', { i });
    for (const data of await Promise.all(gotTwo)) assert.deepEqual(data, { i });
  }
  for (const name of names) {
    await marker(ONE, name, one);
    await marker(TWO, name, two);
  }
  for (const c of two) assert.equal(receivedRaw(c, 'for-one'), false, "app two received app one's event");
  for (const c of one) assert.equal(receivedRaw(c, 'for-two'), false, "app one received app two's event");
});

test('client events stay in their app', async (t) => {
  const name = uniqueChannel('private-shared');
  const sender = await connectApp(port(0), t, { app: ONE });
  const listenerOne = await connectApp(port(1), t, { app: ONE });
  const listenerTwo = await connectApp(port(1), t, { app: TWO });
  const from = await subscribe(sender, name);
  const got = waitForEvent(await subscribe(listenerOne, name), 'client-ping');
  await subscribe(listenerTwo, name);
  from.trigger('client-ping', { from: 'one' });
  assert.deepEqual(await got, { from: 'one' });
  await marker(TWO, name, [listenerTwo]);
  assert.equal(receivedRaw(listenerTwo, 'client-ping'), false, "app two received app one's client event");
});

test('presence members stay in their app', async (t) => {
  const name = uniqueChannel('presence-shared');
  const alice = await connectApp(port(0), t, { app: ONE, member: member('alice') });
  const bob = await connectApp(port(1), t, { app: TWO, member: member('bob') });
  const aliceChannel = await subscribe(alice, name);
  const bobChannel = await subscribe(bob, name);
  assert.equal(bobChannel.members.count, 1, "bob sees app one's member");
  await marker(ONE, name, [alice]);
  await marker(TWO, name, [bob]);
  assert.equal(aliceChannel.members.count, 1, "alice sees app two's member");
  assert.deepEqual(messages(alice, 'pusher_internal:member_added'), []);
  assert.deepEqual(messages(bob, 'pusher_internal:member_added'), []);

  assert.deepEqual(await queryOk(sdk(0, ONE), `/channels/${name}/users`), { users: [{ id: 'alice' }] });
  assert.deepEqual(await queryOk(sdk(1, TWO), `/channels/${name}/users`), { users: [{ id: 'bob' }] });
  assert.deepEqual(await queryOk(sdk(1, ONE), `/channels/${name}`, { info: 'user_count' }), { occupied: true, user_count: 1 });
});

test('subscription counts stay in their app', async (t) => {
  const name = uniqueChannel('counted-shared');
  const one = [await connectApp(port(0), t, { app: ONE }), await connectApp(port(1), t, { app: ONE })];
  const two = await connectApp(port(1), t, { app: TWO });
  const trackers = [];
  for (const c of one) {
    trackers.push(trackCount(c.subscribe(name)));
    await subscribe(c, name);
  }
  const twoTracker = trackCount(two.subscribe(name));
  await subscribe(two, name);
  await countsReach(trackers, 2, 'app one');
  await countsReach([twoTracker], 1, 'app two');
  await marker(TWO, name, [two]);
  assert.ok(
    twoTracker.all.every((n) => n === 1),
    `app two saw counts ${JSON.stringify(twoTracker.all)}`,
  );
  const body = await queryOk(sdk(0, TWO), `/channels/${name}`, { info: 'subscription_count' });
  assert.deepEqual(body, { occupied: true, subscription_count: 1 });
});

test('channel queries answer for their app only', async (t) => {
  const prefix = `${uniqueChannel('apps-q')}-`;
  const [a, b, c] = [`${prefix}a`, `${prefix}b`, `${prefix}c`];
  await subscribe(await connectApp(port(0), t, { app: ONE }), a);
  await subscribe(await connectApp(port(1), t, { app: ONE }), b);
  await subscribe(await connectApp(port(1), t, { app: TWO }), c);
  // Occupancy reaches the shards asynchronously (each node announces it at its next tick):
  // wait until each app lists as many channels as it occupies, then check which.
  for (const [app, count] of [[ONE, 2], [TWO, 1]]) {
    await waitUntil(async () => {
      const res = await query(sdk(0, app), '/channels', { filter_by_prefix: prefix });
      return res.status === 200 && Object.keys(res.body.channels).length === count;
    }, `app ${app.id}'s ${count} channel(s) listed`);
  }
  assert.deepEqual(Object.keys((await queryOk(sdk(1, ONE), '/channels', { filter_by_prefix: prefix })).channels).sort(), [a, b]);
  assert.deepEqual(await queryOk(sdk(0, TWO), '/channels', { filter_by_prefix: prefix }), { channels: { [c]: {} } });
  assert.deepEqual(await queryOk(sdk(0, ONE), `/channels/${c}`), { occupied: false });
  assert.deepEqual(await queryOk(sdk(0, TWO), `/channels/${a}`), { occupied: false });
});

test('max_connections: the next connection anywhere in the mesh gets 4004; other apps are unaffected', async (t) => {
  const path = `/app/${LIMITED.key}?protocol=7&client=js&version=8.6.0&flash=false`;
  const raw = async (node) => {
    const ws = await connectClient(port(node), { path });
    t.after(() => ws.destroy());
    return ws;
  };
  const first = await raw(0);
  await raw(0);

  const over = await openWebSocket(port(0), { path });
  t.after(() => over.destroy());
  assert.equal(over.status, 101);
  const error = await over.nextMessage();
  assert.equal(error.event, 'pusher:error', `first message ${JSON.stringify(error)}`);
  assert.equal(error.data.code, 4004, JSON.stringify(error));
  const close = await over.waitForClose();
  assert.equal(close && close.code, 4004, `close frame ${JSON.stringify(close)}`);

  // pusher-js gets the same and does not retry (4004 is in the 4000-4099 "refused" range).
  const pusherJs = createPusherJs(port(0), t, { appKey: LIMITED.key });
  const codes = await closedByServer(pusherJs);
  assert.ok(codes.includes(4004), `pusher-js saw ${JSON.stringify(codes)}`);

  // Counted across the mesh: the other node refuses too once it has heard of node 0's
  // connections (asynchronously: retry until it does), and other apps are unaffected.
  await waitUntil(
    async () => {
      const ws = await openWebSocket(port(1), { path });
      t.after(() => ws.destroy());
      const msg = await ws.nextMessage();
      ws.destroy();
      return msg.event === 'pusher:error' && msg.data.code === 4004;
    },
    'node 1 to refuse the third connection of the app',
    10000,
    200,
  );
  await connectApp(port(0), t, { app: ONE });
  await connectApp(port(1), t, { app: ONE });

  // A closed connection frees its slot (the node learns of it asynchronously: retry).
  await first.close();
  await waitUntil(
    async () => {
      const ws = await openWebSocket(port(0), { path });
      t.after(() => ws.destroy());
      const msg = await ws.nextMessage();
      if (msg.event === 'pusher:connection_established') return true;
      ws.destroy();
      return false;
    },
    'a connection to be accepted once a slot was freed',
    10000,
    200,
  );
});

test('max_event_payload_kb: an app publishes up to its own limit, 413 above it', async () => {
  const name = uniqueChannel('payload');
  assert.equal((await sdk(0, LIMITED).trigger(name, 'fits', 'x'.repeat(900))).status, 200);
  const err = await rejection(sdk(1, LIMITED).trigger(name, 'too-big', 'x'.repeat(2048)), 'a 2 KB event with a 1 KB limit');
  assert.equal(err.status, 413, String(err));
  // Other apps keep the 10 KB default.
  assert.equal((await sdk(0, ONE).trigger(name, 'fits', 'x'.repeat(2048))).status, 200);
});

test('an apps file with an unknown key is refused at start-up by the node and the broker, naming it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtmesh-apps-'));
  try {
    const file = path.join(dir, 'apps.json');
    fs.writeFileSync(file, JSON.stringify([{ ...APP, enable_everything: true }]));
    const runs = [
      [process.env.RTMESH_NODE_BIN, ['--apps', file, '--brokers', 'tcp://127.0.0.1:1']],
      [process.env.RTMESH_BROKER_BIN, ['--shard', '0', '--brokers', 'tcp://127.0.0.1:1', '--apps', file]],
    ];
    for (const [bin, args] of runs) {
      const stderr = assertRefusesToStart(bin, args, 2);
      assert.ok(stderr.includes(`app #0 '${APP.id}': unknown key 'enable_everything'`), stderr);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
