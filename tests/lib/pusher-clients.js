'use strict';
// Helpers for end-to-end tests with the official libraries users run: pusher-js 8 (WebSocket
// client, here in Node) and the `pusher` server SDK 5 (REST). Configured exactly as a
// self-hosted deployment would configure them: a dummy cluster, our host and port, no TLS,
// WebSocket transport only, no stats.
//
// Every pusher-js client records each message it receives (connection-level, before channel
// dispatch) in client.inbox, so a test can prove an event did NOT arrive even on a channel the
// client has left; t.after() disconnects clients a test opened.

const PusherJs = require('pusher-js');
const PusherServer = require('pusher');
const { APP, HOST, WAIT_MS, Inbox, withTimeout } = require('./util');

// A pusher-js client for the node at `port`, configured as a self-hosted deployment would be;
// it starts connecting at once. options are pusher-js options, plus appKey (default: the test
// app's key). client.inbox records every message; client.errors collects every
// connection-level error pusher-js reports (pusher:error frames and close codes,
// {type, data: {code, message}}) from the start. Registers its disconnect with the test
// context t (if given).
function createPusherJs(port, t, options = {}) {
  const { appKey = APP.key, ...pusherOptions } = options;
  const client = new PusherJs(appKey, {
    cluster: 'mt1',
    wsHost: HOST,
    wsPort: port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    ...pusherOptions,
  });
  if (t) t.after(() => client.disconnect());
  client.inbox = new Inbox(`pusher-js client on port ${port}`);
  client.errors = [];
  client.connection.bind('message', (msg) => client.inbox.push(msg));
  client.connection.bind('error', (err) => client.errors.push(err));
  return client;
}

// Resolves to a connected pusher-js client (see createPusherJs).
async function connectPusherJs(port, t, options = {}) {
  const client = createPusherJs(port, t, options);
  const connected = new Promise((resolve, reject) => {
    client.connection.bind('connected', () => resolve(client));
    client.connection.bind('state_change', ({ current }) => {
      if (current === 'failed' || current === 'unavailable') reject(new Error(`pusher-js connection ${current}`));
    });
  });
  try {
    return await withTimeout(connected, WAIT_MS, `pusher-js to connect to port ${port}`);
  } catch (err) {
    client.disconnect();
    throw err;
  }
}

// Subscribes and resolves with the channel once pusher:subscription_succeeded fired.
function subscribe(client, name) {
  const channel = client.subscribe(name);
  const done = new Promise((resolve, reject) => {
    channel.bind('pusher:subscription_succeeded', () => resolve(channel));
    channel.bind('pusher:subscription_error', (err) => reject(new Error(`subscription to ${name} failed: ${JSON.stringify(err)}`)));
  });
  return withTimeout(done, WAIT_MS, `subscription_succeeded on ${name}`);
}

// Resolves with the data of the next `event` on a subscribed channel (bind before triggering).
function waitForEvent(channel, event, ms = WAIT_MS) {
  const got = new Promise((resolve) => {
    const handler = (data) => {
      channel.unbind(event, handler);
      resolve(data);
    };
    channel.bind(event, handler);
  });
  return withTimeout(got, ms, `event ${event} on ${channel.name}`);
}

// Records every event a channel delivers to its bindings: [{event, data}].
function recordEvents(channel) {
  const seen = [];
  channel.bind_global((event, data) => seen.push({ event, data }));
  return seen;
}

// True if the client's connection ever received `event` (on `channel`, if given).
function receivedRaw(client, event, channel) {
  return client.inbox.seen((m) => m.event === event && (channel === undefined || m.channel === channel));
}

// The official server SDK pointed at the node at `port`; overrides e.g. {secret: 'wrong'}.
function serverSdk(port, overrides = {}) {
  return new PusherServer({
    appId: APP.id,
    key: APP.key,
    secret: APP.secret,
    host: HOST,
    port: String(port),
    useTLS: false,
    ...overrides,
  });
}

// Resolves with the error the promise rejects with; fails if it resolves.
async function rejection(promise, what) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error(`${what} succeeded but should have failed`);
}

module.exports = {
  PusherJs,
  PusherServer,
  createPusherJs,
  connectPusherJs,
  subscribe,
  waitForEvent,
  recordEvents,
  receivedRaw,
  serverSdk,
  rejection,
};
