'use strict';
// A query or publish that cannot reach every shard it needs is answered 503, never with a
// partial or stale answer. Deterministic setup: every broker is killed, so no shard is left
// to take over (with one shard killed, the other takes its channels within ~1.5 s and the
// answer would depend on timing). The node notices dead shards by missed heartbeats, so the
// test first waits until a trigger is refused, then expects 503 from every query on both
// nodes. After the brokers restart, the same requests succeed again.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, killProcess, restartProcess, uniqueChannel, waitUntil, APP } = require('../lib/mesh');
const { subscribe } = require('../lib/pusher-clients');
const { sdkFor, connectApp, query } = require('../lib/features');

const mesh = useMesh({ shards: 2, nodes: 2, workers: 2, apps: [{ ...APP, subscription_count: true }] });
const port = (node) => mesh().nodePort(node);
// Requests to a node whose brokers are gone may wait for the node's own timeout: bounded here.
const sdk = (node) => sdkFor(port(node), APP, { timeout: 10000 });

async function status(promise) {
  try {
    return (await promise).status;
  } catch (err) {
    return err.status === undefined ? `error: ${err.message}` : err.status;
  }
}

test('with every broker down, queries, triggers and batches answer 503; 200 again once they are back', async (t) => {
  const presence = uniqueChannel('presence-down');
  const publicName = uniqueChannel('down');
  const client = await connectApp(port(0), t, { member: { user_id: 'ann', user_info: {} } });
  await subscribe(client, presence);
  await subscribe(client, publicName);

  const queries = [
    ['/channels', undefined],
    ['/channels', { filter_by_prefix: 'presence-', info: 'user_count' }],
    ['/channels', { info: 'subscription_count' }],
    [`/channels/${publicName}`, undefined],
    [`/channels/${publicName}`, { info: 'subscription_count' }],
    [`/channels/${presence}`, { info: 'user_count' }],
    [`/channels/${presence}/users`, undefined],
  ];
  const allStatuses = async () => {
    const out = {};
    for (const node of [0, 1]) {
      for (const [path, params] of queries) out[`node ${node} GET ${path} ${JSON.stringify(params || {})}`] = (await query(sdk(node), path, params)).status;
      out[`node ${node} trigger`] = await status(sdk(node).trigger([publicName, presence], 'e', {}));
      out[`node ${node} batch`] = await status(sdk(node).triggerBatch([{ channel: publicName, name: 'e', data: {} }]));
    }
    return out;
  };
  const every = (statuses, code) => Object.values(statuses).every((s) => s === code);

  const before = await allStatuses();
  assert.ok(every(before, 200), `before: ${JSON.stringify(before, null, 1)}`);

  await killProcess(mesh(), 'broker', 0);
  await killProcess(mesh(), 'broker', 1);
  await waitUntil(
    async () => (await status(sdk(0).trigger(publicName, 'e', {}))) === 503 && (await status(sdk(1).trigger(publicName, 'e', {}))) === 503,
    'both nodes to refuse triggers with 503',
    20000,
    250,
  );
  const down = await allStatuses();
  assert.ok(every(down, 503), `with every broker down: ${JSON.stringify(down, null, 1)}`);

  await restartProcess(mesh(), 'broker', 0);
  await restartProcess(mesh(), 'broker', 1);
  let after;
  await waitUntil(
    async () => {
      after = await allStatuses();
      return every(after, 200);
    },
    'every request to succeed again after the brokers restarted',
    30000,
    500,
  ).catch((err) => {
    throw new Error(`${err.message}: ${JSON.stringify(after, null, 1)}`);
  });
});
