'use strict';
// Shared pieces for the end-to-end suites of the whole Pusher protocol (private, presence,
// encrypted and cache channels, client events, user authentication, channel queries, several
// apps), driven by the official libraries:
//
// * pusher-js clients that authorize channels and sign in through the `pusher` server SDK in a
//   customHandler, so no HTTP auth endpoint is needed; a test can swap in its own (wrong)
//   signatures to see the node refuse them;
// * Laravel Echo 2 on top of such a client;
// * waits for what pusher-js does not surface as a promise: a refused subscription (the two
//   frames the node sends), sign-in, the connection being closed, subscription counts;
// * the server SDK's REST queries, answered as {status, body} whatever the status.
//
// Waits are bounded (util.WAIT_MS unless said otherwise); nothing here measures time.

const assert = require('node:assert/strict');
const { APP, WAIT_MS, withTimeout, waitUntil, uniqueChannel } = require('./util');
const { hmac } = require('./rest');
const { connectPusherJs, subscribe, waitForEvent, serverSdk } = require('./pusher-clients');

// A second app for "foreign signature" and isolation tests.
const OTHER_APP = Object.freeze({ id: 'other-app', key: 'other-key', secret: 'other-secret' });

// The end-to-end encryption master key only the app server (the SDK) knows: 32 fixed bytes.
const MASTER_KEY = Buffer.from('rtmesh e2e master key: 32 bytes!').toString('base64');

// Exact refusal texts of the contract (client events).
const CLIENT_EVENTS_DISABLED =
  'To send client events, you must enable this feature in the Settings page of your dashboard.';
const CLIENT_EVENT_WRONG_CHANNEL = 'Client event rejected - only supported on private and presence channels';

// The server SDK for `app` pointed at the node at `port`, able to encrypt for
// private-encrypted- channels. overrides as for serverSdk (e.g. {secret: 'wrong'}).
function sdkFor(port, app = APP, overrides = {}) {
  return serverSdk(port, {
    appId: app.id,
    key: app.key,
    secret: app.secret,
    encryptionMasterKeyBase64: MASTER_KEY,
    ...overrides,
  });
}

// `count` channel names with this prefix. Rendezvous hashing over 2 shards leaves a shard
// without any of 16 names with probability 2 * 2^-16, so both shards own some.
function spreadNames(prefix, count = 16) {
  return Array.from({ length: count }, () => uniqueChannel(prefix));
}

// A connected pusher-js client of `app` on the node at `port` (see connectPusherJs).
//   member:       {user_id, user_info?} signed as channel_data for presence- channels
//   user:         user data ({id, ...}) signed for pusher:signin (client.signin())
//   authorize:    ({socketId, channelName, signer}) => auth object, replacing the SDK's
//                 authorizeChannel (to send wrong signatures)
//   authenticate: ({socketId, signer}) => {auth, user_data}, replacing authenticateUser
//   pusher:       more pusher-js options
// client.signer is the server SDK used for signing, client.app the app, client.userData the
// sign-in user data (client.user is pusher-js's own user facade).
async function connectApp(port, t, { app = APP, member, user, authorize, authenticate, pusher = {} } = {}) {
  const signer = sdkFor(port, app);
  const guarded = (fn) => (params, callback) => {
    let result;
    try {
      result = fn(params);
    } catch (err) {
      callback(err, null);
      return;
    }
    callback(null, result);
  };
  const channelAuth = ({ socketId, channelName }) => {
    if (authorize) return authorize({ socketId, channelName, signer });
    const data = channelName.startsWith('presence-') ? member : undefined;
    return signer.authorizeChannel(socketId, channelName, data);
  };
  const userAuth = ({ socketId }) => {
    if (authenticate) return authenticate({ socketId, signer });
    if (!user) throw new Error('connectApp: no user to sign in as');
    return signer.authenticateUser(socketId, user);
  };
  const client = await connectPusherJs(port, t, {
    appKey: app.key,
    channelAuthorization: { customHandler: guarded(channelAuth) },
    userAuthentication: { customHandler: guarded(userAuth) },
    ...pusher,
  });
  client.signer = signer;
  client.app = app;
  client.userData = user;
  return client;
}

// Laravel Echo 2 (an ES module) driving an existing pusher-js client.
async function echoFor(client) {
  const { default: Echo } = await import('laravel-echo');
  return new Echo({ broadcaster: 'pusher', client });
}

// Resolves with the first value `register(resolve)` passes on (for Echo callbacks).
function once(register, what, ms = WAIT_MS) {
  return withTimeout(new Promise((resolve) => register(resolve)), ms, what);
}

// Next message on the client's connection with this event (and channel, if given); it is
// taken from client.inbox.
function nextMessage(client, event, channel, ms = WAIT_MS) {
  const what = `${event}${channel === undefined ? '' : ` on ${channel}`}`;
  return client.inbox.next((m) => m.event === event && (channel === undefined || m.channel === channel), what, ms);
}

// Every message ever received with this event (and channel, if given).
function messages(client, event, channel) {
  return client.inbox.history.filter((m) => m.event === event && (channel === undefined || m.channel === channel));
}

// Subscribes and resolves with the data of pusher:subscription_error; fails if the
// subscription succeeds instead.
function subscribeRefused(client, name) {
  const channel = client.subscribe(name);
  const done = new Promise((resolve, reject) => {
    channel.bind('pusher:subscription_error', (data) => resolve(data));
    channel.bind('pusher:subscription_succeeded', () => reject(new Error(`subscription to ${name} succeeded but should be refused`)));
  });
  return withTimeout(done, WAIT_MS, `pusher:subscription_error on ${name}`);
}

// Waits for the two frames of a refused subscription to `channel` (pusher:error and
// pusher:subscription_error, both carrying the channel) and checks their shape; resolves
// with {error, subscriptionError} (the frames' data).
async function refusalFrames(client, channel) {
  const error = await nextMessage(client, 'pusher:error', channel);
  const refusal = await nextMessage(client, 'pusher:subscription_error', channel);
  assert.equal(typeof error.data, 'object', `pusher:error data must be an object: ${JSON.stringify(error)}`);
  assert.equal(typeof error.data.message, 'string', `pusher:error without message: ${JSON.stringify(error)}`);
  assert.ok(error.data.code === null || Number.isInteger(error.data.code), `pusher:error code: ${JSON.stringify(error)}`);
  assert.equal(typeof refusal.data, 'object', `pusher:subscription_error data: ${JSON.stringify(refusal)}`);
  assert.ok(['AuthError', 'LimitReached'].includes(refusal.data.type), `subscription_error type: ${JSON.stringify(refusal)}`);
  assert.equal(typeof refusal.data.error, 'string', `subscription_error error: ${JSON.stringify(refusal)}`);
  assert.ok(Number.isInteger(refusal.data.status), `subscription_error status: ${JSON.stringify(refusal)}`);
  return { error: error.data, subscriptionError: refusal.data };
}

// The connection still works: a new public subscription succeeds and an event the SDK
// triggers through `via` (a server SDK of the client's app) arrives.
async function assertUsable(client, via) {
  assert.equal(client.connection.state, 'connected', 'the connection was closed');
  const channel = await subscribe(client, uniqueChannel('still-usable'));
  const got = waitForEvent(channel, 'still-usable');
  await via.trigger(channel.name, 'still-usable', { ok: true });
  assert.deepEqual(await got, { ok: true });
}

// Asks pusher-js to sign in (as client.userData); resolves with the signin_success frame once
// the node confirmed it and the client's #server-to-user-<id> subscription succeeded.
async function signIn(client) {
  client.signin();
  const success = await nextMessage(client, 'pusher:signin_success');
  await nextMessage(client, 'pusher_internal:subscription_succeeded', `#server-to-user-${client.userData.id}`);
  return success;
}

// The pusher:signin frame for user_data (a string, sent as is), signed for socketId with the
// given credentials.
function signinFrame(socketId, userData, { key = APP.key, secret = APP.secret } = {}) {
  return {
    event: 'pusher:signin',
    data: { auth: `${key}:${hmac(secret, `${socketId}::user::${userData}`)}`, user_data: userData },
  };
}

// Resolves once pusher-js gave up on the connection (state disconnected or failed, which
// pusher-js does only for close codes 4000-4099 and >= 4300) and returns the error codes it
// reported (see errorCode). A 1000/1001 close or a 41xx/42xx code makes pusher-js reconnect
// instead, so this then times out.
async function closedByServer(client, ms = WAIT_MS) {
  const done = ['disconnected', 'failed'];
  if (!done.includes(client.connection.state)) {
    const ended = new Promise((resolve) => {
      client.connection.bind('state_change', ({ current }) => {
        if (done.includes(current)) resolve();
      });
    });
    await withTimeout(ended, ms, 'the server to close the pusher-js connection');
  }
  return client.errors.map(errorCode);
}

// The Pusher error code of an error pusher-js reported: {type: 'PusherError', data: {code}}
// after the handshake, {type: 'WebSocketError', error: {type: 'PusherError', data: {code}}}
// when the handshake itself was refused.
function errorCode(err) {
  const pusherError = err && err.type === 'WebSocketError' ? err.error : err;
  return pusherError && pusherError.data ? pusherError.data.code : undefined;
}

// Tracks the last subscription_count pusher-js reported for a channel.
function trackCount(channel) {
  const state = { last: undefined, all: [] };
  channel.bind('pusher:subscription_count', (data) => {
    state.last = data.subscription_count;
    state.all.push(data.subscription_count);
  });
  return state;
}

// Waits until every tracker reports `n`.
function countsReach(trackers, n, what, ms = WAIT_MS) {
  return waitUntil(
    () => trackers.every((s) => s.last === n),
    `${what}: subscription_count ${n} (have ${JSON.stringify(trackers.map((s) => s.last))})`,
    ms,
  );
}

// GET through the server SDK; resolves {status, body} (body parsed when it is JSON) for any
// status, so 4xx/5xx answers can be asserted.
async function query(sdk, path, params) {
  let res;
  try {
    res = await sdk.get({ path, params });
  } catch (err) {
    if (err.status === undefined) throw err;
    let body = err.body;
    try {
      body = JSON.parse(err.body);
    } catch {
      // plain text error body
    }
    return { status: err.status, body };
  }
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

// Like query, but fails unless the answer is 200; resolves with the body.
async function queryOk(sdk, path, params) {
  const res = await query(sdk, path, params);
  assert.equal(res.status, 200, `GET ${path} ${JSON.stringify(params || {})} → ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

// Triggers a marker event on `channel` through `via` (a server SDK) and waits until every
// client got it: whatever the channel's shard emitted before reaches them first, so a marker
// proves the absence of anything that should not have come.
async function triggerMarker(channel, clients, via) {
  const name = `marker-${uniqueChannel('m')}`;
  const waits = clients.map((c) => nextMessage(c, name, channel));
  await via.trigger(channel, name, {});
  await Promise.all(waits);
}

module.exports = {
  triggerMarker,
  OTHER_APP,
  MASTER_KEY,
  CLIENT_EVENTS_DISABLED,
  CLIENT_EVENT_WRONG_CHANNEL,
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
  signinFrame,
  closedByServer,
  trackCount,
  countsReach,
  query,
  queryOk,
};
