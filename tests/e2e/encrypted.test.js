'use strict';
// End-to-end encrypted channels (private-encrypted-): the app server (the `pusher` SDK with
// encryptionMasterKeyBase64) encrypts, the mesh relays {"nonce","ciphertext"} unchanged, and
// pusher-js (whose Node build carries tweetnacl) decrypts with the shared_secret the SDK's
// authorizeChannel returned. The node only checks the signature, as for private channels.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, uniqueChannel, APP } = require('../lib/mesh');
const { subscribe, waitForEvent } = require('../lib/pusher-clients');
const { sdkFor, spreadNames, connectApp, echoFor, once, messages, subscribeRefused, refusalFrames, assertUsable } = require('../lib/features');

const mesh = useMesh({ shards: 2, nodes: 2, workers: 2, apps: [{ ...APP }] });
const port = (node) => mesh().nodePort(node);
const sdk = (node) => sdkFor(port(node));

test('pusher-js decrypts what the SDK encrypts, on both nodes and both shards; the wire carries ciphertext', async (t) => {
  const clients = [await connectApp(port(0), t), await connectApp(port(1), t)];
  const names = spreadNames('private-encrypted-spread');
  const channels = [];
  for (const client of clients) for (const name of names) channels.push(await subscribe(client, name));
  const waits = channels.map((c) => waitForEvent(c, 'sealed'));
  const secret = 'the plaintext the mesh must never see';
  for (const [i, name] of names.entries()) await sdk(i % 2).trigger(name, 'sealed', { channel: name, secret });
  const results = await Promise.all(waits);
  results.forEach((data, i) => assert.deepEqual(data, { channel: channels[i].name, secret }));
  for (const client of clients) {
    for (const m of messages(client, 'sealed')) {
      assert.equal(typeof m.data.nonce, 'string', JSON.stringify(m));
      assert.equal(typeof m.data.ciphertext, 'string', JSON.stringify(m));
      assert.ok(!JSON.stringify(m).includes(secret), 'plaintext on the wire');
    }
  }
});

test('Laravel Echo: Echo.encryptedPrivate(...).listen receives decrypted broadcasts', async (t) => {
  const echo = await echoFor(await connectApp(port(0), t));
  const name = uniqueChannel('vault');
  const channel = echo.encryptedPrivate(name);
  await once((done) => channel.subscribed(done), `Echo.encryptedPrivate(${name}) subscribed`);
  const got = once((done) => channel.listen('.balance.updated', done), 'Echo event balance.updated');
  await sdk(1).trigger(`private-encrypted-${name}`, 'balance.updated', { balance: 1234.5 });
  assert.deepEqual(await got, { balance: 1234.5 });
});

test('triggerBatch encrypts each encrypted item and leaves the others plain', async (t) => {
  const client = await connectApp(port(1), t);
  const sealed = await subscribe(client, uniqueChannel('private-encrypted-batch'));
  const plain = await subscribe(client, uniqueChannel('plain-batch'));
  const waits = [waitForEvent(sealed, 'one'), waitForEvent(plain, 'two')];
  await sdk(0).triggerBatch([
    { channel: sealed.name, name: 'one', data: { n: 1 } },
    { channel: plain.name, name: 'two', data: { n: 2 } },
  ]);
  assert.deepEqual(await Promise.all(waits), [{ n: 1 }, { n: 2 }]);
  assert.equal(typeof messages(client, 'one', sealed.name)[0].data.ciphertext, 'string');
});

test('a wrong signature on an encrypted channel is refused; the connection stays usable', async (t) => {
  const client = await connectApp(port(0), t, {
    // The right shared secret but a signature for another channel.
    authorize: ({ socketId, channelName, signer }) => ({
      ...signer.authorizeChannel(socketId, channelName),
      auth: signer.authorizeChannel(socketId, `${channelName}-x`).auth,
    }),
  });
  const name = uniqueChannel('private-encrypted-refused');
  const refusal = await subscribeRefused(client, name);
  assert.equal(refusal.type, 'AuthError', JSON.stringify(refusal));
  assert.equal(refusal.status, 401, JSON.stringify(refusal));
  await refusalFrames(client, name);
  await assertUsable(client, sdk(1));
});
