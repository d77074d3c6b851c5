'use strict';
// Webhooks across a shard failure: when the owning shard of occupied channels is SIGKILLed,
// the nodes re-announce their subscribers and members to the new owner, which takes them over
// without a second channel_occupied or member_added (docs/architecture.md "Webhooks"). Channels
// and users that then really go away are reported once by the new owner. With a batching window
// of 0 every request carries exactly one event.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, killProcess, uniqueChannel, waitUntil, APP } = require('../lib/mesh');
const { subscribe } = require('../lib/pusher-clients');
const { connectApp, sdkFor } = require('../lib/features');
const { WebhookReceiver } = require('../lib/webhook-receiver');

const receiver = new WebhookReceiver(APP);
after(() => receiver.stop());

const mesh = useMesh({
  shards: 2,
  nodes: 2,
  workers: 2,
  env: { RTMESH_WEBHOOK_BATCH_MS: '0', RTMESH_WEBHOOK_BACKOFF_MS: '100' },
  apps: async () => {
    await receiver.start();
    return [{ ...APP, webhooks: [{ url: receiver.url('/hooks'), event_types: ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed'] }] }];
  },
});
const port = (node) => mesh().nodePort(node);
const of = (channel, name) => (e) => e.channel === channel && e.name === name;

test('SIGKILL of the owning shard: no second channel_occupied or member_added; vacated once', async (t) => {
  const a = await connectApp(port(0), t, { member: { user_id: 'ann', user_info: {} } });
  const b = await connectApp(port(1), t, { member: { user_id: 'bob', user_info: {} } });
  // Both shards own some of 12 channels with near certainty, so shard 1 dies owning some.
  const names = [...Array.from({ length: 6 }, () => uniqueChannel('fo')), ...Array.from({ length: 6 }, () => uniqueChannel('presence-fo'))];
  for (const name of names) {
    await subscribe(a, name);
    await subscribe(b, name);
  }
  for (const name of names) await receiver.waitFor('/hooks', of(name, 'channel_occupied'), `occupied ${name}`);
  for (const name of names.filter((n) => n.startsWith('presence-'))) {
    await receiver.waitFor('/hooks', (e) => of(name, 'member_added')(e) && e.user_id === 'bob', `bob on ${name}`);
  }
  await killProcess(mesh(), 'broker', 1);
  // Wait until every channel is served again (a publish is accepted by a live owner).
  const sdk = sdkFor(port(0));
  for (const name of names) {
    await waitUntil(() => sdk.trigger(name, 'probe', {}).then(() => true, () => false), `${name} served again`, 15000, 200);
  }
  // Now everybody leaves: each channel vacates and each user goes, once.
  a.disconnect();
  b.disconnect();
  for (const name of names) await receiver.waitFor('/hooks', of(name, 'channel_vacated'), `vacated ${name}`, 1, 15000);
  for (const name of names) {
    const life = receiver.matching('/hooks', (e) => e.channel === name).map((e) => (e.user_id ? `${e.name} ${e.user_id}` : e.name));
    assert.equal(life.filter((e) => e === 'channel_occupied').length, 1, `${name}: ${life}`);
    assert.equal(life.filter((e) => e === 'channel_vacated').length, 1, `${name}: ${life}`);
    if (name.startsWith('presence-')) {
      assert.equal(life.filter((e) => e === 'member_added ann').length, 1, `${name}: ${life}`);
      assert.equal(life.filter((e) => e === 'member_added bob').length, 1, `${name}: ${life}`);
    }
  }
  for (const r of receiver.requests) {
    assert.ok(r.valid, r.rawBody);
    assert.equal(r.data.events.length, 1, `batch window 0: ${r.rawBody}`);
  }
});
