'use strict';
// Several apps on one mesh (--apps FILE): each app has its own key and secret, and apps are
// isolated: the same channel name in two apps is two different channels.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, connectClient, publish, triggerEvent, uniqueChannel, getMetrics, waitUntil, OP } = require('../lib/mesh');

const APPS = [
  { id: 'app-one', key: 'key-one', secret: 'secret-one' },
  { id: 'app-two', key: 'key-two', secret: 'secret-two' },
];
const mesh = useMesh({ shards: 2, nodes: 2, workers: 2, apps: APPS });

async function clientOf(t, app, node) {
  const ws = await connectClient(mesh().nodePort(node), { path: `/app/${app.key}?protocol=7` });
  t.after(() => ws.destroy());
  return ws;
}

const as = (app) => ({ appId: app.id, key: app.key, secret: app.secret });

test('every configured app key is accepted, others are refused with 4001', async (t) => {
  for (const app of APPS) await clientOf(t, app, 0);
  await assert.rejects(clientOf(t, { key: 'app-key' }, 0), /pusher:connection_established|4001/);
});

test('an app publishes with its own credentials only', async () => {
  const port = mesh().nodePort(1);
  const event = () => ({ name: 'e', channels: [uniqueChannel('apps')], data: 'd' });
  assert.equal((await triggerEvent(port, event(), as(APPS[1]))).status, 200);
  const crossed = { ...as(APPS[1]), secret: APPS[0].secret };
  assert.equal((await triggerEvent(port, event(), crossed)).status, 401, "app two's path signed with app one's secret");
});

test('the same channel name in two apps does not share events', async (t) => {
  const channel = uniqueChannel('shared-name');
  const one = await clientOf(t, APPS[0], 0);
  const two = await clientOf(t, APPS[1], 0);
  for (const ws of [one, two]) assert.equal((await ws.subscribe(channel)).event, 'pusher_internal:subscription_succeeded');

  const port = mesh().nodePort(1);
  await publish(port, { name: 'for-app-one', channels: [channel], data: '1' }, as(APPS[0]));
  await one.waitForEvent('for-app-one', { channel });
  await publish(port, { name: 'for-app-two', channels: [channel], data: '2' }, as(APPS[1]));
  await two.waitForEvent('for-app-two', { channel });
  assert.equal(two.received('for-app-one'), false, "app two received app one's event");

  await publish(port, { name: 'marker', channels: [channel], data: 'm' }, as(APPS[0]));
  await one.waitForEvent('marker', { channel });
  assert.equal(one.received('for-app-two'), false, "app one received app two's event");
});

test('/metrics counts connections, channels, messages, bytes, errors and closes per app', async (t) => {
  const port = mesh().nodePort(1);
  const FAMILIES = ['rtmesh_app_connections', 'rtmesh_app_messages_in_total', 'rtmesh_app_messages_out_total', 'rtmesh_app_subscriptions', 'rtmesh_app_bytes_out_total', 'rtmesh_app_bytes_in_total', 'rtmesh_app_channels'];
  // Per app: the one-label families in FAMILIES order, then errors by kind and closes by code
  // (those two list non-zero samples only: a missing one is 0).
  const perApp = async () => {
    const { samples } = await getMetrics(port);
    const of = (name, app) => samples.find((x) => x.name === name && x.labels.app === app.id).value;
    const byLabel = (name, app, label) => Object.fromEntries(samples.filter((x) => x.name === name && x.labels.app === app.id).map((x) => [x.labels[label], x.value]));
    return Object.fromEntries(APPS.map((app) => [app.id, [...FAMILIES.map((n) => of(n, app)), byLabel('rtmesh_app_errors_total', app, 'kind'), byLabel('rtmesh_app_closes_total', app, 'code')]]));
  };
  const before = await perApp();
  const ws = await clientOf(t, APPS[1], 1);
  const channel = uniqueChannel('per-app');
  await ws.subscribe(channel);
  ws.sendText('not a pusher message'); // refused with pusher:error, connection kept
  await ws.waitForEvent('pusher:error');
  const closing = await clientOf(t, APPS[1], 1);
  closing.sendFrame({ opcode: OP.BINARY, payload: Buffer.from([1, 2, 3]) }); // closed 1003
  assert.equal((await closing.waitForClose()).code, 1003);
  const refused = await triggerEvent(port, { name: 'e', channels: ['not a channel name'], data: 'd' }, as(APPS[1]));
  assert.equal(refused.status, 400, 'an invalid REST publish of app two');
  await ws.sync();
  const [c0, i0, o0, s0, b0, bi0, ch0, e0, x0] = before[APPS[1].id];
  let now;
  await waitUntil(async () => {
    now = await perApp();
    const [conns, msgsIn, msgsOut, subs, bytesOut, bytesIn, channels, errors, closes] = now[APPS[1].id];
    // connection_established (twice), subscription_succeeded and pusher:error went out; the
    // closed connection is gone again
    return conns === c0 + 1 && msgsIn > i0 && msgsOut >= o0 + 4 && subs === s0 + 1 && bytesOut > b0 &&
      bytesIn > bi0 && channels === ch0 + 1 && (errors.bad_message ?? 0) === (e0.bad_message ?? 0) + 1 &&
      (errors.bad_frame ?? 0) === (e0.bad_frame ?? 0) + 1 && (errors.rest_invalid ?? 0) === (e0.rest_invalid ?? 0) + 1 && (closes['1003'] ?? 0) === (x0['1003'] ?? 0) + 1;
  }, 'app-two\'s counters to move');
  assert.deepEqual(now[APPS[0].id], before[APPS[0].id], 'app-one\'s counters stay');
});
