'use strict';
// User authentication, mesh-wide: pusher-js signs in (pusher:signin signed by the SDK's
// authenticateUser over "socket_id::user::user_data"), then subscribes #server-to-user-<id>.
// sendToUser reaches every connection signed in as that user on every node and nobody else;
// terminateUserConnections closes all of them with 4009. A bad sign-in is a non-fatal
// pusher:error 4009; #server-to-user-X is refused to anyone not signed in as X. The watchlist
// of user_data: pusher-js's pusher.user.watchlist reports each watched user online or offline,
// mesh-wide; over 100 ids is pusher:error 4302.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, uniqueChannel, connectClient, waitUntil, APP } = require('../lib/mesh');
const { receivedRaw } = require('../lib/pusher-clients');
const {
  OTHER_APP,
  sdkFor,
  connectApp,
  once,
  nextMessage,
  messages,
  refusalFrames,
  assertUsable,
  signIn,
  signinFrame,
  closedByServer,
} = require('../lib/features');

// Connections that never sign in are closed after 30 s (the default); every test here is
// much shorter. user-auth-timeout.test.js covers the timeout itself.
const mesh = useMesh({ shards: 2, nodes: 2, workers: 2, apps: [{ ...APP, enable_user_authentication: true }] });
const port = (node) => mesh().nodePort(node);
const sdk = (node) => sdkFor(port(node));
const userId = () => uniqueChannel('user');

// A pusher-js client on `node` signed in as `id`.
async function signedIn(t, node, id, extra = {}) {
  const client = await connectApp(port(node), t, { user: { id, ...extra } });
  await signIn(client);
  return client;
}

// Resolves with the data of the next `event` sent to the client's user (pusher.user.bind).
function userEvent(client, event) {
  return once((done) => client.user.bind(event, done), `user event ${event}`);
}

test('sign-in succeeds with the SDK signature; signin_success carries the exact user_data', async (t) => {
  const user = { id: userId(), user_info: { name: 'Ünïcode "quoted"' } };
  for (const node of [0, 1]) {
    const client = await connectApp(port(node), t, { user });
    const success = await signIn(client);
    assert.equal(success.data.user_data, JSON.stringify(user));
    assert.deepEqual(client.user.user_data, user);
  }
});

test('sendToUser reaches every connection of the user on both nodes, and nobody else', async (t) => {
  const target = userId();
  const bystanderId = userId();
  const mine = [await signedIn(t, 0, target), await signedIn(t, 1, target)];
  const bystander = await signedIn(t, 1, bystanderId);
  const anonymous = await connectApp(port(0), t);

  for (const via of [0, 1]) {
    const got = mine.map((c) => userEvent(c, `note-${via}`));
    await sdk(via).sendToUser(target, `note-${via}`, { text: 'for you', via });
    assert.deepEqual(await Promise.all(got), [
      { text: 'for you', via },
      { text: 'for you', via },
    ]);
  }
  // Markers: the bystander gets its own event, which was sent after ours.
  const marker = userEvent(bystander, 'marker');
  await sdk(0).sendToUser(bystanderId, 'marker', {});
  await marker;
  assert.equal(receivedRaw(bystander, 'note-0') || receivedRaw(bystander, 'note-1'), false, "another user received the user's event");
  await assertUsable(anonymous, sdk(1));
  assert.equal(receivedRaw(anonymous, 'note-0') || receivedRaw(anonymous, 'note-1'), false, 'a connection not signed in received it');
});

test('#server-to-user-X is refused to connections not signed in as X', async (t) => {
  const target = userId();
  const owner = await signedIn(t, 0, target);
  const anonymous = await connectApp(port(1), t);
  const intruder = await signedIn(t, 1, userId());
  const channel = `#server-to-user-${target}`;
  for (const client of [anonymous, intruder]) {
    // pusher-js refuses '#' channel names itself; send the frame it would send.
    client.send_event('pusher:subscribe', { auth: '', channel });
    await refusalFrames(client, channel);
  }
  const got = userEvent(owner, 'private-note');
  await sdk(1).sendToUser(target, 'private-note', { secret: 1 });
  await got;
  const marker = userEvent(intruder, 'marker');
  await sdk(1).sendToUser(intruder.userData.id, 'marker', {});
  await marker;
  assert.equal(receivedRaw(intruder, 'private-note'), false, "a refused subscriber received the user's event");
  for (const client of [anonymous, intruder]) await assertUsable(client, sdk(0));
});

test('a bad sign-in is answered with pusher:error 4009 and the connection stays open', async (t) => {
  for (const node of [0, 1]) {
    const client = await connectApp(port(node), t);
    const sid = client.connection.socket_id;
    const good = JSON.stringify({ id: userId() });
    const cases = {
      'a wrong secret': signinFrame(sid, good, { secret: 'not-the-secret' }),
      'another socket id': signinFrame('1234.5678', good),
      "another app's key and secret": signinFrame(sid, good, OTHER_APP),
      'user_data signed, other user_data sent': {
        event: 'pusher:signin',
        data: { ...signinFrame(sid, good).data, user_data: JSON.stringify({ id: 'someone-else' }) },
      },
      'a fractional id': signinFrame(sid, JSON.stringify({ id: 5.5 })),
      'no id': signinFrame(sid, JSON.stringify({ name: 'nobody' })),
      'an empty id': signinFrame(sid, JSON.stringify({ id: '' })),
      'user_data that is not JSON': signinFrame(sid, 'not json'),
    };
    for (const [what, frame] of Object.entries(cases)) {
      client.send_event(frame.event, frame.data);
      const error = await nextMessage(client, 'pusher:error');
      assert.equal(error.data.code, 4009, `${what} on node ${node}: ${JSON.stringify(error)}`);
      assert.equal(client.connection.state, 'connected', `${what}: connection closed`);
    }
    assert.deepEqual(messages(client, 'pusher:signin_success'), [], 'a bad sign-in succeeded');
    await assertUsable(client, sdk(1 - node));
  }
});

test('terminateUserConnections closes every connection of the user on both nodes with 4009', async (t) => {
  const target = userId();
  const bystanderId = userId();
  const pusherJs = [await signedIn(t, 0, target), await signedIn(t, 1, target)];
  // A raw client too, to see the exact close frame.
  const raw = await connectClient(port(1));
  t.after(() => raw.destroy());
  raw.send(signinFrame(raw.socketId, JSON.stringify({ id: target })));
  await raw.waitForEvent('pusher:signin_success');
  const bystander = await signedIn(t, 0, bystanderId);

  const res = await sdk(1).terminateUserConnections(target);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {});
  for (const client of pusherJs) {
    const codes = await closedByServer(client);
    assert.ok(codes.includes(4009), `close codes ${JSON.stringify(codes)}`);
  }
  const close = await raw.waitForClose();
  assert.equal(close && close.code, 4009, `close frame ${JSON.stringify(close)}`);
  assert.deepEqual(raw.errorBeforeClose(), {
    event: 'pusher:error',
    data: { code: 4009, message: close.reason },
  });
  for (const client of pusherJs) assert.equal(messages(client, 'pusher:error').at(-1).data.code, 4009);

  assert.equal(bystander.connection.state, 'connected');
  const still = userEvent(bystander, 'still-here');
  await sdk(0).sendToUser(bystanderId, 'still-here', {});
  await still;
});

// Records what pusher-js's watchlist facade reports: ['online', id] / ['offline', id] entries.
function watchEvents(client) {
  const seen = [];
  for (const name of ['online', 'offline']) client.user.watchlist.bind(name, (e) => seen.push(...e.user_ids.map((id) => [name, id])));
  return seen;
}

test('watchlist: online when a watched user signs in anywhere, offline when the last connection leaves', async (t) => {
  const [a, b, never] = [userId(), userId(), userId()];
  const watcher = await connectApp(port(0), t, { user: { id: userId(), watchlist: [a, b, never] } });
  const seen = watchEvents(watcher);
  await signIn(watcher);
  const has = (...entry) => seen.some((e) => e[0] === entry[0] && e[1] === entry[1]);
  await waitUntil(() => has('offline', a) && has('offline', b) && has('offline', never), 'the initial statuses');

  const a1 = await signedIn(t, 1, a);
  await waitUntil(() => has('online', a), `${a} online`);
  const a2 = await signedIn(t, 0, a); // a second connection: still one user online
  await signedIn(t, 1, b);
  await waitUntil(() => has('online', b), `${b} online`);
  a1.disconnect();
  await signedIn(t, 0, never); // a marker: its news comes after any about a1's departure
  await waitUntil(() => has('online', never), `${never} online`);
  a2.disconnect();
  await waitUntil(() => has('offline', a) && seen.filter((e) => e[1] === a).length === 3, `${a} offline`);
  assert.deepEqual(
    seen.filter((e) => e[1] === a),
    [
      ['offline', a],
      ['online', a],
      ['offline', a],
    ],
  );
  // Terminating a closes a's connections, not those that watch a.
  await signedIn(t, 1, a);
  await waitUntil(() => seen.filter((e) => e[1] === a).length === 4, `${a} online again`);
  await sdk(0).terminateUserConnections(a);
  await waitUntil(() => seen.filter((e) => e[1] === a).length === 5, `${a} offline after termination`);
  assert.deepEqual(seen.filter((e) => e[1] === a).at(-1), ['offline', a]);
  assert.equal(watcher.connection.state, 'connected');
});

test('a watchlist over 100 user ids: pusher:error 4302, the first 100 are watched', async (t) => {
  const ids = Array.from({ length: 101 }, () => userId());
  const watcher = await connectApp(port(1), t, { user: { id: userId(), watchlist: ids } });
  const seen = watchEvents(watcher);
  await signIn(watcher);
  const error = await nextMessage(watcher, 'pusher:error');
  assert.equal(error.data.code, 4302);
  await waitUntil(() => seen.length === 100, 'a status for each of the first 100');
  await signedIn(t, 0, ids[100]); // the 101st is not watched; the 100th is
  await signedIn(t, 0, ids[99]);
  await waitUntil(() => seen.some((e) => e[0] === 'online' && e[1] === ids[99]), 'the 100th online');
  assert.equal(
    seen.some((e) => e[1] === ids[100]),
    false,
  );
  assert.equal(watcher.connection.state, 'connected');
});
