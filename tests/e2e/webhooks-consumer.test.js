'use strict';
// The Laravel-style webhook consumer: an app server that keeps who is online in a presence
// channel only from member_added / member_removed webhooks (what Laravel apps do with
// pusher's webhooks) must end up with exactly the mesh's real member list (the REST users
// query) through joins, leaves, one user with connections on both nodes, and a SIGKILL of the
// shard that owns the channel while a user leaves. The consumer also counts every webhook that
// makes no sense to it (an add of someone online, a removal of someone offline): none may come.
//
// Which broker owns which channel follows rendezvous over the brokers' identities (here their
// ports, new every run), so the kill hits one channel's owner, both or neither: the consumer
// must be right in every case.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, killProcess, waitUntil, sleep, getMetrics, APP } = require('../lib/mesh');
const { subscribe } = require('../lib/pusher-clients');
const { connectApp, sdkFor, queryOk } = require('../lib/features');
const { WebhookReceiver } = require('../lib/webhook-receiver');

const CHANNELS = ['presence-online-1', 'presence-online-2'];
const receiver = new WebhookReceiver(APP);
after(() => receiver.stop());

const mesh = useMesh({
  shards: 2,
  nodes: 2,
  workers: 2,
  brokerMetrics: true,
  env: { RTMESH_WEBHOOK_BACKOFF_MS: '100' },
  apps: async () => {
    await receiver.start();
    return [{ ...APP, webhooks: [{ url: receiver.url('/members'), event_types: ['member_added', 'member_removed'] }] }];
  },
});
const port = (node) => mesh().nodePort(node);

// The consumer: the online list per channel, rebuilt from the webhooks received so far.
function consumer() {
  const online = new Map(CHANNELS.map((c) => [c, new Set()]));
  const surprises = [];
  for (const e of receiver.events('/members')) {
    const users = online.get(e.channel);
    if (!users) continue;
    if (e.name === 'member_added' && users.has(e.user_id)) surprises.push(`added twice: ${e.user_id} on ${e.channel}`);
    if (e.name === 'member_removed' && !users.has(e.user_id)) surprises.push(`removed while offline: ${e.user_id} on ${e.channel}`);
    if (e.name === 'member_added') users.add(e.user_id);
    else users.delete(e.user_id);
  }
  return { online, surprises };
}

// Waits until every broker counts the other live: a broker counts a peer only 1 s after it
// first hears it (docs/wire.md §4), and before that it has no successor to replicate to.
async function brokersCountEachOther() {
  for (const shard of [0, 1]) {
    const live = async () => {
      const { samples } = await getMetrics(mesh().brokerMetricsPort(shard));
      const s = samples.find((x) => x.name === 'rtmesh_broker_live_shards');
      return s !== undefined && s.value === 2;
    };
    await waitUntil(live, `broker ${shard} to count 2 live brokers`, 10000, 100);
  }
}

// Waits until the consumer's list of every channel equals the mesh's (REST users query).
async function converged(what) {
  const sdk = sdkFor(port(0));
  let last = '';
  const check = waitUntil(
    async () => {
      const { online } = consumer();
      for (const channel of CHANNELS) {
        const res = await queryOk(sdk, `/channels/${channel}/users`).catch(() => null);
        if (!res) return false; // the owner is not answering yet (failover)
        const real = res.users.map((u) => u.id).sort();
        const kept = [...online.get(channel)].sort();
        last = `${channel}: webhooks say ${kept}, the mesh says ${real}`;
        if (JSON.stringify(real) !== JSON.stringify(kept)) return false;
      }
      return true;
    },
    what,
    15000,
    100,
  );
  await check.catch((err) => {
    throw new Error(`${err.message} (${last})`);
  });
}

async function join(node, user, t) {
  const client = await connectApp(port(node), t, { member: { user_id: user, user_info: { name: user } } });
  for (const channel of CHANNELS) await subscribe(client, channel);
  return client;
}

test('a consumer keeping the online list from webhooks ends up with the real member list', async (t) => {
  const ann1 = await join(0, 'ann', t);
  const ann2 = await join(1, 'ann', t); // one user, a connection on each node
  const bob = await join(1, 'bob', t);
  const carol = await join(0, 'carol', t);
  await converged('ann, bob and carol online');

  ann1.disconnect(); // ann is still online through node 1
  await converged('ann still online after one of her connections left');

  // The owner of presence-online-1 tells its successor what it announced within 100 ms
  // (broker/broker.c S_REPLICA_EVERY_MS); then it dies, and carol leaves before anyone noticed.
  await brokersCountEachOther();
  await sleep(300);
  await killProcess(mesh(), 'broker', 1);
  carol.disconnect();
  await converged('carol gone, reported by the shard that took the channel over');

  const dave = await join(0, 'dave', t);
  bob.disconnect();
  await converged('dave joined and bob left after the failover');
  ann2.disconnect();
  await converged('ann gone with her last connection');
  dave.disconnect();
  await converged('everybody gone');

  const { surprises } = consumer();
  assert.deepEqual(surprises, []);
  const sequence = (user, channel) => receiver.matching('/members', (e) => e.user_id === user && e.channel === channel).map((e) => e.name);
  for (const channel of CHANNELS) {
    for (const user of ['ann', 'bob', 'carol', 'dave']) assert.deepEqual(sequence(user, channel), ['member_added', 'member_removed'], `${user} on ${channel}`);
  }
  for (const r of receiver.requests) assert.ok(r.valid, r.rawBody);
});
