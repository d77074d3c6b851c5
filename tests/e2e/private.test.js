'use strict';
// Private channels end to end: pusher-js and Laravel Echo authorize through the official
// server SDK (authorizeChannel in a customHandler); the node checks
// "<key>:<hmac_sha256_hex(secret, socket_id:channel)>". Every wrong or foreign signature is
// refused with pusher:error + pusher:subscription_error (both carrying the channel), which
// pusher-js surfaces as channel pusher:subscription_error and Echo as .error(), and the
// connection stays usable.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, uniqueChannel, hmac, APP } = require('../lib/mesh');
const { subscribe, waitForEvent, receivedRaw } = require('../lib/pusher-clients');
const {
  OTHER_APP,
  sdkFor,
  spreadNames,
  connectApp,
  echoFor,
  once,
  subscribeRefused,
  refusalFrames,
  assertUsable,
} = require('../lib/features');

const mesh = useMesh({ shards: 2, nodes: 2, workers: 2, apps: [{ ...APP }, { ...OTHER_APP }] });
const port = (node) => mesh().nodePort(node);
const sdk = (node, app) => sdkFor(port(node), app);

test('private channels deliver to authorized clients on both nodes, whichever shard owns them', async (t) => {
  const clients = [await connectApp(port(0), t), await connectApp(port(1), t)];
  const names = spreadNames('private-spread');
  const channels = [];
  for (const client of clients) for (const name of names) channels.push(await subscribe(client, name));
  const waits = channels.map((c) => waitForEvent(c, 'private-event'));
  for (const [i, name] of names.entries()) await sdk(i % 2).trigger(name, 'private-event', { channel: name });
  const results = await Promise.all(waits);
  results.forEach((data, i) => assert.deepEqual(data, { channel: channels[i].name }));
});

test('Laravel Echo: Echo.private(...).listen receives broadcasts from the other node', async (t) => {
  const client = await connectApp(port(1), t);
  const echo = await echoFor(client);
  const name = uniqueChannel('orders');
  const channel = echo.private(name);
  await once((done) => channel.subscribed(done), `Echo.private(${name}) subscribed`);
  const got = once((done) => channel.listen('.order.paid', done), 'Echo event order.paid');
  await sdk(0).trigger(`private-${name}`, 'order.paid', { order: { id: 11 } });
  assert.deepEqual(await got, { order: { id: 11 } });
});

// Ways to get a private channel's signature wrong, each returning the auth pusher-js sends.
const WRONG_SIGNATURES = {
  'signed with a wrong secret': ({ socketId, channelName }) => ({
    auth: `${APP.key}:${hmac('not-the-secret', `${socketId}:${channelName}`)}`,
  }),
  'signed for another socket id': ({ channelName, signer }) => signer.authorizeChannel('1234.5678', channelName),
  'signed for another channel': ({ socketId, channelName, signer }) => ({
    auth: signer.authorizeChannel(socketId, `${channelName}-other`).auth,
  }),
  "another app's key and signature": ({ socketId, channelName }) => ({
    auth: `${OTHER_APP.key}:${hmac(OTHER_APP.secret, `${socketId}:${channelName}`)}`,
  }),
  "our key signed with another app's secret": ({ socketId, channelName }) => ({
    auth: `${APP.key}:${hmac(OTHER_APP.secret, `${socketId}:${channelName}`)}`,
  }),
  'an empty auth': () => ({ auth: '' }),
  'a signature without the key': ({ socketId, channelName }) => ({ auth: hmac(APP.secret, `${socketId}:${channelName}`) }),
  'a truncated signature': ({ socketId, channelName, signer }) => ({ auth: signer.authorizeChannel(socketId, channelName).auth.slice(0, -2) }),
};

test('wrong and foreign signatures are refused with both frames; the connection stays usable', async (t) => {
  for (const node of [0, 1]) {
    let wrong = null;
    const client = await connectApp(port(node), t, {
      authorize: (params) => (wrong ? wrong(params) : params.signer.authorizeChannel(params.socketId, params.channelName)),
    });
    for (const [what, fn] of Object.entries(WRONG_SIGNATURES)) {
      wrong = fn;
      const name = uniqueChannel('private-refused');
      const refusal = await subscribeRefused(client, name);
      assert.equal(refusal.type, 'AuthError', `${what} on node ${node}: ${JSON.stringify(refusal)}`);
      assert.equal(refusal.status, 401, `${what} on node ${node}: ${JSON.stringify(refusal)}`);
      const frames = await refusalFrames(client, name);
      assert.deepEqual(frames.subscriptionError, refusal, `${what}: the frame pusher-js emitted`);
      assert.equal(client.connection.state, 'connected', `${what}: connection closed`);
    }
    wrong = null;
    // A correct signature still works on the same connection, and so does everything else.
    const good = await subscribe(client, uniqueChannel('private-after-refusals'));
    const got = waitForEvent(good, 'fine');
    await sdk(1 - node).trigger(good.name, 'fine', { node });
    assert.deepEqual(await got, { node });
    await assertUsable(client, sdk(node));
  }
});

test('a refused private subscription receives nothing from that channel', async (t) => {
  const name = uniqueChannel('private-guarded');
  const intruder = await connectApp(port(0), t, { authorize: () => ({ auth: `${APP.key}:${'0'.repeat(64)}` }) });
  await subscribeRefused(intruder, name);
  await refusalFrames(intruder, name);
  // A witness on the same node, properly authorized, shows when the event reached the node.
  const witness = await subscribe(await connectApp(port(0), t), name);
  const marker = await subscribe(intruder, uniqueChannel('marker')); // public: no auth needed
  const witnessGot = waitForEvent(witness, 'secret');
  await sdk(1).trigger(name, 'secret', { s: 1 });
  await witnessGot;
  const markerGot = waitForEvent(marker, 'marker');
  await sdk(1).trigger(marker.name, 'marker', {});
  await markerGot;
  assert.equal(receivedRaw(intruder, 'secret'), false, 'a refused subscriber received the channel event');
});

test("Laravel Echo: .error() receives the node's refusal, and Echo carries on", async (t) => {
  let refuse = true;
  const client = await connectApp(port(0), t, {
    authorize: ({ socketId, channelName, signer }) =>
      refuse ? { auth: signer.authorizeChannel(socketId, `${channelName}x`).auth } : signer.authorizeChannel(socketId, channelName),
  });
  const echo = await echoFor(client);
  const name = uniqueChannel('denied');
  const error = await once((done) => echo.private(name).error(done), `Echo .error() on private-${name}`);
  assert.equal(error.type, 'AuthError', JSON.stringify(error));
  assert.equal(error.status, 401, JSON.stringify(error));

  refuse = false;
  const allowed = uniqueChannel('allowed');
  const channel = echo.private(allowed);
  await once((done) => channel.subscribed(done), `Echo.private(${allowed}) subscribed`);
  const got = once((done) => channel.listen('.ok', done), 'Echo event ok');
  await sdk(1).trigger(`private-${allowed}`, 'ok', { fine: true });
  assert.deepEqual(await got, { fine: true });
});

test("a client of one app cannot use another app's signature for the same channel name", async (t) => {
  // The other app's client subscribes legitimately; our client presents a signature that the
  // other app's SDK made for our socket id: valid HMAC, wrong app.
  const name = uniqueChannel('private-cross-app');
  const other = await connectApp(port(1), t, { app: OTHER_APP });
  await subscribe(other, name);
  const foreignSigner = sdk(0, OTHER_APP);
  const client = await connectApp(port(0), t, {
    authorize: ({ socketId, channelName }) => foreignSigner.authorizeChannel(socketId, channelName),
  });
  const refusal = await subscribeRefused(client, name);
  assert.equal(refusal.type, 'AuthError', JSON.stringify(refusal));
  await refusalFrames(client, name);
  await assertUsable(client, sdk(1));
});
