'use strict';
// Webhooks across a shard failure (docs/architecture.md "Webhooks"). When the owning shard of
// occupied channels is SIGKILLed, the nodes re-announce their subscribers and members to the
// new owner, which takes them over without a second channel_occupied or member_added. The owner
// also keeps its successor told what webhooks announced about its channels, so what goes while
// it is dead is reported once by the successor once the nodes have re-announced what is still
// there; and when the shard comes back its channels move back without a duplicate either way.
// With a batching window of 0 every request carries exactly one event.
//
// Some channel names are fixed so that their owner is known: rendezvous hashing is stable
// across machines and versions (tests/unit/test_rendezvous.c pins it), and over 2 shards these
// names of the app "app-id" are owned by the shard noted next to them.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, killProcess, restartProcess, uniqueChannel, waitUntil, sleep, APP } = require('../lib/mesh');
const { subscribe } = require('../lib/pusher-clients');
const { connectApp, sdkFor } = require('../lib/features');
const { WebhookReceiver } = require('../lib/webhook-receiver');

const receiver = new WebhookReceiver(APP);
after(() => receiver.stop());

const WORKERS = 2;
const mesh = useMesh({
  shards: 2,
  nodes: 2,
  workers: WORKERS,
  env: { RTMESH_WEBHOOK_BATCH_MS: '0', RTMESH_WEBHOOK_BACKOFF_MS: '100' },
  apps: async () => {
    await receiver.start();
    return [{ ...APP, webhooks: [{ url: receiver.url('/hooks'), event_types: ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed'] }] }];
  },
});
const port = (node) => mesh().nodePort(node);

const of = (channel, name, user) => (e) => e.channel === channel && e.name === name && (user === undefined || e.user_id === user);
// The owner tells its successor what it announced at most 100 ms after a change
// (S_REPLICA_EVERY_MS in broker/broker.c); a shard that dies sooner loses that change.
const REPLICA_MS = 300;

// One channel's webhook life, "name[ user]" in arrival order.
function life(name) {
  return receiver.matching('/hooks', (e) => e.channel === name).map((e) => (e.user_id ? `${e.name} ${e.user_id}` : e.name));
}

// How many times node[i] logged that it hears shard 1 (each worker logs "event=shard_up
// shard=1" when the shard's heartbeats start or resume: liveness is each worker's own view).
function shardUpLines(node) {
  return mesh().process('node', node).log.count('event=shard_up shard=1 ');
}

// Waits until every channel is served (a publish is accepted by a live owner).
async function served(names) {
  const sdk = sdkFor(port(0));
  for (const name of names) {
    await waitUntil(() => sdk.trigger(name, 'probe', {}).then(() => true, () => false), `${name} served`, 15000, 200);
  }
}

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
  await served(names);
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

test('a shard that comes back takes its channels back without a duplicate either way', async (t) => {
  // Shard 1 is dead since the test before.
  const a = await connectApp(port(0), t, { member: { user_id: 'ann', user_info: {} } });
  const b = await connectApp(port(1), t, { member: { user_id: 'bob', user_info: {} } });
  // Owned by shard 1 once it is back; by shard 0 while it is dead (it still is).
  const names = ['back-1', 'back-2', 'presence-back-4', 'presence-online-5'];
  for (const name of names) {
    await subscribe(a, name);
    await subscribe(b, name);
  }
  for (const name of names) await receiver.waitFor('/hooks', of(name, 'channel_occupied'), `occupied ${name}`);
  await sleep(REPLICA_MS);
  const before = [0, 1].map(shardUpLines);
  await restartProcess(mesh(), 'broker', 1);
  for (const node of [0, 1]) {
    await waitUntil(() => shardUpLines(node) >= before[node] + WORKERS, `every worker of node[${node}] hears shard 1 again`, 15000, 100);
  }
  await served(names);
  for (const name of names) {
    a.unsubscribe(name);
    b.unsubscribe(name);
  }
  for (const name of names) await receiver.waitFor('/hooks', of(name, 'channel_vacated'), `vacated ${name}`, 1, 15000);
  for (const name of names) await subscribe(a, name); // the later event
  for (const name of names) {
    await receiver.waitFor('/hooks', of(name, 'channel_occupied'), `occupied again ${name}`, 2);
    const l = life(name);
    assert.deepEqual(l.filter((e) => e.startsWith('channel_')), ['channel_occupied', 'channel_vacated', 'channel_occupied'], `${name}: ${l}`);
    if (name.startsWith('presence-')) {
      assert.deepEqual(l.filter((e) => e.endsWith(' bob')), ['member_added bob', 'member_removed bob'], `${name}: ${l}`);
      assert.deepEqual(l.filter((e) => e.endsWith(' ann')), ['member_added ann', 'member_removed ann', 'member_added ann'], `${name}: ${l}`);
    }
  }
  a.disconnect();
  b.disconnect();
});

test('what goes while its owner is dead is reported once by the successor', async (t) => {
  const a = await connectApp(port(0), t, { member: { user_id: 'ann', user_info: {} } });
  const b = await connectApp(port(1), t, { member: { user_id: 'bob', user_info: {} } });
  const emptied = ['outage-7', 'outage-8', 'presence-outage-2', 'presence-outage-4', /* shard 0: */ 'outage-1', 'presence-outage-1'];
  const bobLeaves = ['presence-outage-6', 'presence-outage-8', /* shard 0: */ 'presence-outage-3'];
  const kept = ['outage-10', 'presence-outage-9']; // shard 1
  const all = [...emptied, ...bobLeaves, ...kept];
  for (const name of all) {
    await subscribe(a, name);
    await subscribe(b, name);
  }
  for (const name of all) await receiver.waitFor('/hooks', of(name, 'channel_occupied'), `occupied ${name}`);
  for (const name of all.filter((n) => n.startsWith('presence-'))) await receiver.waitFor('/hooks', of(name, 'member_added', 'bob'), `bob on ${name}`);
  await sleep(REPLICA_MS);

  await killProcess(mesh(), 'broker', 1);
  // Right away, before anyone noticed: these leaves go to the dead shard and are lost with it.
  for (const name of emptied) {
    a.unsubscribe(name);
    b.unsubscribe(name);
  }
  for (const name of bobLeaves) b.unsubscribe(name);
  await served(all);

  for (const name of emptied) await receiver.waitFor('/hooks', of(name, 'channel_vacated'), `vacated ${name}`, 1, 15000);
  for (const name of [...emptied, ...bobLeaves].filter((n) => n.startsWith('presence-'))) {
    await receiver.waitFor('/hooks', of(name, 'member_removed', 'bob'), `bob gone from ${name}`, 1, 15000);
  }
  // Later events of the same channels: whatever duplicate there were would have come before.
  for (const name of emptied) await subscribe(a, name);
  for (const name of bobLeaves) await subscribe(b, name);
  for (const name of kept) {
    a.unsubscribe(name);
    b.unsubscribe(name);
  }
  for (const name of emptied) await receiver.waitFor('/hooks', of(name, 'channel_occupied'), `occupied again ${name}`, 2);
  for (const name of bobLeaves) await receiver.waitFor('/hooks', of(name, 'member_added', 'bob'), `bob back on ${name}`, 2);
  for (const name of kept) await receiver.waitFor('/hooks', of(name, 'channel_vacated'), `vacated ${name}`);

  for (const name of emptied.filter((n) => !n.startsWith('presence-'))) {
    assert.deepEqual(life(name), ['channel_occupied', 'channel_vacated', 'channel_occupied'], name);
  }
  for (const name of emptied.filter((n) => n.startsWith('presence-'))) {
    const l = life(name);
    assert.deepEqual(l.filter((e) => e.endsWith(' ann')), ['member_added ann', 'member_removed ann', 'member_added ann'], `${name}: ${l}`);
    assert.deepEqual(l.filter((e) => e.endsWith(' bob')), ['member_added bob', 'member_removed bob'], `${name}: ${l}`);
    assert.deepEqual(l.filter((e) => e.startsWith('channel_')), ['channel_occupied', 'channel_vacated', 'channel_occupied'], `${name}: ${l}`);
  }
  for (const name of bobLeaves) {
    const l = life(name);
    assert.deepEqual(l.filter((e) => e.endsWith(' bob')), ['member_added bob', 'member_removed bob', 'member_added bob'], `${name}: ${l}`);
    assert.deepEqual(l.filter((e) => e.endsWith(' ann')), ['member_added ann'], `${name}: ${l}`);
    assert.deepEqual(l.filter((e) => e.startsWith('channel_')), ['channel_occupied'], `${name}: ${l}`);
  }
  for (const name of kept) {
    const l = life(name);
    assert.deepEqual(l.filter((e) => e.startsWith('channel_')), ['channel_occupied', 'channel_vacated'], `${name}: ${l}`);
  }
  for (const r of receiver.requests) {
    assert.ok(r.valid, r.rawBody);
    assert.equal(r.data.events.length, 1, `batch window 0: ${r.rawBody}`);
  }
  a.disconnect();
  b.disconnect();
});
