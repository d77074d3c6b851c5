'use strict';
// enable_user_authentication: a connection that has not signed in within the timeout is closed
// with 4009 (RTMESH_USER_AUTH_TIMEOUT shortens the 30 s default to 2 s here). Signed-in
// connections, and connections of apps without the option, stay open.
//
// The waits for "stays open" are settle times well past the 2 s timeout, not measurements.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, uniqueChannel, connectClient, sleep, APP } = require('../lib/mesh');
const { createPusherJs } = require('../lib/pusher-clients');
const { OTHER_APP, sdkFor, connectApp, once, signIn, closedByServer } = require('../lib/features');

const TIMEOUT_S = 2;
const mesh = useMesh({
  shards: 2,
  nodes: 2,
  workers: 2,
  env: { RTMESH_USER_AUTH_TIMEOUT: String(TIMEOUT_S) },
  apps: [{ ...APP, enable_user_authentication: true }, { ...OTHER_APP }],
});
const port = (node) => mesh().nodePort(node);
const LONG_WAIT_MS = (TIMEOUT_S + 10) * 1000;

test('a connection that does not sign in is closed with 4009, on both nodes', async (t) => {
  for (const node of [0, 1]) {
    const raw = await connectClient(port(node));
    t.after(() => raw.destroy());
    const pusherJs = createPusherJs(port(node), t);
    const close = await raw.waitForClose(LONG_WAIT_MS);
    assert.equal(close && close.code, 4009, `close frame ${JSON.stringify(close)}`);
    assert.deepEqual(raw.errorBeforeClose(), { event: 'pusher:error', data: { code: 4009, message: close.reason } });
    const codes = await closedByServer(pusherJs, LONG_WAIT_MS);
    assert.ok(codes.includes(4009), `pusher-js saw ${JSON.stringify(codes)}`);
  }
});

test('signed-in connections, and apps without user authentication, stay open past the timeout', async (t) => {
  const signedIn = [];
  for (const node of [0, 1]) {
    const client = await connectApp(port(node), t, { user: { id: uniqueChannel('user') } });
    await signIn(client);
    signedIn.push(client);
  }
  const other = await connectClient(port(1), { path: `/app/${OTHER_APP.key}?protocol=7` });
  t.after(() => other.destroy());

  await sleep((TIMEOUT_S + 2) * 1000);

  for (const [node, client] of signedIn.entries()) {
    assert.equal(client.connection.state, 'connected', `signed-in client on node ${node}`);
    const got = once((done) => client.user.bind('still-here', done), 'user event still-here');
    await sdkFor(port(1 - node)).sendToUser(client.userData.id, 'still-here', { node });
    assert.deepEqual(await got, { node });
  }
  await other.sync();
  assert.equal(other.closeFrame, null, 'the other app closed an unsigned connection');
});
