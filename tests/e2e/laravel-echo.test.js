'use strict';
// Laravel Echo 2 (which drives pusher-js) as a Laravel front end uses it: a broadcast event
// named after its PHP class reaches .listen('ShortName'), a dotted name reaches
// .listen('.name'), and leaving the channel stops delivery.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, uniqueChannel, withTimeout, WAIT_MS } = require('../lib/mesh');
const { connectPusherJs, subscribe, waitForEvent, serverSdk, receivedRaw } = require('../lib/pusher-clients');

const mesh = useMesh({ shards: 2, nodes: 2, workers: 2 });

// laravel-echo 2 is an ES module (its CommonJS build does not load under "type": "module").
async function echoOn(t, node) {
  const { default: Echo } = await import('laravel-echo');
  const client = await connectPusherJs(mesh().nodePort(node), t);
  return { echo: new Echo({ broadcaster: 'pusher', client }), client };
}

function subscribed(echoChannel, name) {
  return withTimeout(new Promise((resolve) => echoChannel.subscribed(resolve)), WAIT_MS, `Echo subscription to ${name}`);
}

function listen(echoChannel, event) {
  return withTimeout(new Promise((resolve) => echoChannel.listen(event, resolve)), WAIT_MS, `Echo event ${event}`);
}

test('Echo receives a Laravel broadcast by class name and by explicit name', async (t) => {
  const { echo } = await echoOn(t, 0);
  const name = uniqueChannel('orders');
  const channel = echo.channel(name);
  await subscribed(channel, name);

  const byClass = listen(channel, 'OrderShipped');
  await serverSdk(mesh().nodePort(1)).trigger(name, 'App\\Events\\OrderShipped', { order: { id: 7 } });
  assert.deepEqual(await byClass, { order: { id: 7 } });

  const byName = listen(channel, '.order.cancelled');
  await serverSdk(mesh().nodePort(0)).trigger(name, 'order.cancelled', { order: { id: 8 } });
  assert.deepEqual(await byName, { order: { id: 8 } });
});

test('after Echo leaves a channel nothing more arrives from it', async (t) => {
  const { echo, client } = await echoOn(t, 1);
  const name = uniqueChannel('left');
  const markerName = uniqueChannel('marker');
  await subscribed(echo.channel(name), name);
  const marker = echo.channel(markerName);
  await subscribed(marker, markerName);
  // A witness on the same node shows when the event has reached that node.
  const witness = await subscribe(await connectPusherJs(mesh().nodePort(1), t), name);

  echo.leave(name);
  // A fresh subscription on the same connection proves the node processed the leave.
  await subscribed(echo.channel(uniqueChannel('sync')), 'sync channel');
  const witnessGot = waitForEvent(witness, 'ignored');
  await serverSdk(mesh().nodePort(0)).trigger(name, 'ignored', {});
  await witnessGot;
  const got = listen(marker, '.marker');
  await serverSdk(mesh().nodePort(0)).trigger(markerName, 'marker', {});
  await got;
  assert.equal(receivedRaw(client, 'ignored'), false);
});
