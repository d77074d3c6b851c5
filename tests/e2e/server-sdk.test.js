'use strict';
// The official `pusher` server SDK against the node's REST API: success resolves with 200,
// refusals reject with the SDK's RequestError carrying the HTTP status.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, uniqueChannel } = require('../lib/mesh');
const { serverSdk, rejection } = require('../lib/pusher-clients');

const mesh = useMesh({ shards: 2, nodes: 2, workers: 2 });
const sdk = (overrides) => serverSdk(mesh().nodePort(0), overrides);

test('trigger and triggerBatch resolve with HTTP 200', async () => {
  const res = await sdk().trigger(uniqueChannel('sdk'), 'ok', { fine: true });
  assert.equal(res.status, 200);
  const batch = await sdk().triggerBatch([{ channel: uniqueChannel('sdk'), name: 'ok', data: 'x' }]);
  assert.equal(batch.status, 200);
});

test('a wrong secret is rejected with status 401', async () => {
  const wrong = sdk({ secret: 'not-the-secret' });
  const err = await rejection(wrong.trigger(uniqueChannel('sdk'), 'e', {}), 'trigger with a wrong secret');
  assert.equal(err.status, 401, String(err));
  const batchErr = await rejection(wrong.triggerBatch([{ channel: 'c', name: 'e', data: 'd' }]), 'batch with a wrong secret');
  assert.equal(batchErr.status, 401, String(batchErr));
});

test('a wrong app id is rejected with status 404', async () => {
  const err = await rejection(sdk({ appId: 'no-such-app' }).trigger(uniqueChannel('sdk'), 'e', {}), 'trigger for an unknown app');
  assert.equal(err.status, 404, String(err));
});

test('an oversize payload is rejected with status 413', async () => {
  const err = await rejection(sdk().trigger(uniqueChannel('sdk'), 'big', 'x'.repeat(20 * 1024)), 'trigger of 20 KB');
  assert.equal(err.status, 413, String(err));
});

test('more than 10 events in a batch is rejected with status 400', async () => {
  const batch = Array.from({ length: 11 }, (_, i) => ({ channel: `c-${i}`, name: 'e', data: String(i) }));
  const err = await rejection(sdk().triggerBatch(batch), 'batch of 11');
  assert.equal(err.status, 400, String(err));
});
