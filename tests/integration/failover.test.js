'use strict';
// Failover between broker shards (README; node/upstream.c): a shard that misses 3 heartbeats
// (500 ms apart) is dead; every node then computes channel owners over the live shards only,
// re-subscribes its channels there and re-announces its presence members to the new owner.
// Meanwhile a publish that cannot reach a live owner is refused with 503, never acknowledged
// and lost. When the shard comes back, owners move back the same way.
//
// Which shard owns a channel cannot be seen from outside, so the tests use many channels
// (both shards own some of them with near certainty) and check every one: after broker 1 is
// SIGKILLed, a marker is published to each channel (503 → retry; accepted but not delivered to
// every subscriber → retry with a new marker) until one reaches every subscriber on both nodes.
// Once every channel has recovered, one more publish per channel must be accepted and delivered
// at the first try. The same after broker 1 is started again. Deadlines are generous;
// durations are never asserted.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const {
  useMesh,
  killProcess,
  restartProcess,
  connectClient,
  triggerEvent,
  publish,
  httpGet,
  uniqueChannel,
  waitUntil,
  sleep,
} = require('../lib/mesh');
const { member, joinPresence, memberEvent } = require('../lib/presence');

const WORKERS = 2;
const mesh = useMesh({ shards: 2, nodes: 2, workers: WORKERS });
const CHANNELS = 20;
const PRESENCE_CHANNELS = 12; // all on one shard with probability 2^-11
const CLIENTS_PER_NODE = 2; // on each node, so both workers are likely to hold subscribers
const RECOVERY_MS = 15000; // per channel, after a shard died or came back
const ATTEMPT_MS = 1500; // how long one marker may take to reach everybody before a retry
const RETRY_PAUSE_MS = 100;
const WAIT_MS = 10000;

function names(prefix, count) {
  return Array.from({ length: count }, () => uniqueChannel(prefix));
}

async function client(t, node) {
  const ws = await connectClient(mesh().nodePort(node));
  t.after(() => ws.destroy());
  return ws;
}

function label(ws) {
  return ws.label || ws.socketId;
}

function assertOpen(subscribers) {
  for (const ws of subscribers) {
    assert.equal(ws.inbox.endReason, null, `subscriber ${label(ws)} was disconnected: ${ws.inbox.endReason}`);
  }
}

// Waits for the event `name` with exactly `data` on `channel` at every subscriber; resolves
// with the labels of those that did not get it within ms.
async function missing(subscribers, channel, name, data, ms) {
  const got = await Promise.all(
    subscribers.map((ws) =>
      ws.inbox
        .next((m) => m.type === 'text' && m.json && m.json.event === name && m.json.channel === channel && m.json.data === data, `${name} ${data}`, ms)
        .then(() => true)
        .catch(() => false),
    ),
  );
  return subscribers.filter((_, i) => !got[i]).map(label);
}

// Publishes markers to `channel` through node `via` until one is accepted (200) and reaches
// every subscriber. 503 is retried (no live owner yet); any other status fails at once.
// Fails after RECOVERY_MS with every attempt's outcome.
async function recovers(channel, subscribers, via, tag) {
  const outcomes = [];
  const deadline = Date.now() + RECOVERY_MS;
  for (let attempt = 1; Date.now() < deadline; attempt++) {
    assertOpen(subscribers);
    const data = `${tag}-${attempt}`;
    const res = await triggerEvent(mesh().nodePort(via), { name: 'marker', channels: [channel], data });
    if (res.status === 503) {
      outcomes.push('503');
      await sleep(RETRY_PAUSE_MS);
      continue;
    }
    assert.equal(res.status, 200, `publish ${data} to ${channel} via node[${via}] → HTTP ${res.status} ${res.text} (before: ${outcomes.join(', ')})`);
    const lost = await missing(subscribers, channel, 'marker', data, ATTEMPT_MS);
    if (lost.length === 0) return outcomes;
    outcomes.push(`200 but not delivered to ${lost.join('+')}`);
  }
  throw new Error(
    `${channel} did not recover within ${RECOVERY_MS} ms (publishing via node[${via}]); attempts: ${outcomes.join(', ')}`,
  );
}

// One publish through node `via`: must be accepted and reach every subscriber.
async function delivers(channel, subscribers, via, data) {
  assertOpen(subscribers);
  await publish(mesh().nodePort(via), { name: 'marker', channels: [channel], data });
  const lost = await missing(subscribers, channel, 'marker', data, WAIT_MS);
  assert.deepEqual(lost, [], `publish ${data} to ${channel} via node[${via}] was accepted but not delivered to ${lost.join(', ')}`);
}

async function recoverAll(t, channels, subscribers, tag) {
  const retried = [];
  for (const [i, ch] of channels.entries()) {
    const outcomes = await recovers(ch, subscribers, i % 2, `${tag}-${i}`);
    if (outcomes.length > 0) retried.push(`#${i}: ${outcomes.length} retries (${[...new Set(outcomes)].join(', ')})`);
  }
  t.diagnostic(`${tag}: ${retried.length} of ${channels.length} channels needed retries ${retried.join('; ')}`);
  // Every channel recovered: now it works at the first try, through either node.
  for (const [i, ch] of channels.entries()) {
    await delivers(ch, subscribers, i % 2, `${tag}-${i}-settled-a`);
    await delivers(ch, subscribers, 1 - (i % 2), `${tag}-${i}-settled-b`);
  }
}

// How many times node[i] logged that it hears shard 1 (each worker logs "event=shard_up shard=1"
// when the shard's heartbeats start or resume: liveness is each worker's own view).
function shardUpLines(node) {
  return mesh().process('node', node).log.text.split('\n').filter((l) => l.includes('event=shard_up shard=1 ')).length;
}

// Restarts broker 1 and waits until every worker of both nodes hears it again, so what follows
// runs after the owners moved back (not while some worker still routes around the dead shard).
async function restartBroker1() {
  const before = [0, 1].map(shardUpLines);
  await restartProcess(mesh(), 'broker', 1);
  for (const node of [0, 1]) {
    await waitUntil(() => shardUpLines(node) >= before[node] + WORKERS, `every worker of node[${node}] to log event=shard_up shard=1 again`, WAIT_MS);
  }
}

async function bothReady() {
  for (const node of [0, 1]) {
    await waitUntil(async () => (await httpGet(mesh().nodePort(node), '/readyz')).status === 200, `node[${node}] /readyz 200`, WAIT_MS);
  }
}

test('public channels: every channel delivers again after a shard is killed, and after it returns', async (t) => {
  const channels = names('failover', CHANNELS);
  const subscribers = [];
  for (const node of [0, 1]) {
    for (let k = 0; k < CLIENTS_PER_NODE; k++) {
      const ws = await client(t, node);
      ws.label = `node${node}-client${k}`;
      for (const ch of channels) {
        const reply = await ws.subscribe(ch);
        assert.equal(reply.event, 'pusher_internal:subscription_succeeded', `${ws.label} ${ch}: ${JSON.stringify(reply)}`);
      }
      await ws.sync();
      subscribers.push(ws);
    }
  }
  for (const [i, ch] of channels.entries()) await delivers(ch, subscribers, i % 2, `healthy-${i}`);

  const exit = await killProcess(mesh(), 'broker', 1, 'SIGKILL');
  assert.equal(exit.signal, 'SIGKILL', `broker[1]: ${JSON.stringify(exit)}`);
  await recoverAll(t, channels, subscribers, 'killed');
  await bothReady();

  await restartBroker1();
  await recoverAll(t, channels, subscribers, 'restarted');
  await bothReady();
  assertOpen(subscribers);
});

// ---- presence ------------------------------------------------------------------------------

// The presence data of a subscription_succeeded: {ids (sorted), hash, count}.
function presenceOf(reply) {
  const data = typeof reply.data === 'string' ? JSON.parse(reply.data) : reply.data;
  const p = data.presence;
  return { ids: [...p.ids].sort(), hash: p.hash, count: p.count };
}

function assertMembers(reply, expected, what) {
  const got = presenceOf(reply);
  const want = [...expected].sort();
  const hash = Object.fromEntries(want.map((id) => [id, member(id).user_info]));
  assert.deepEqual(got, { ids: want, hash, count: want.length }, `${what}: ${JSON.stringify(reply)}`);
}

// The member list a Pusher client keeps: the subscription_succeeded list, then every
// member_added / member_removed on the channel. Resolves once it equals `expected` (sorted
// ids); fails with the list and the messages seen after WAIT_MS.
async function memberViewBecomes(ws, channel, reply, expected, what) {
  const view = new Set(presenceOf(reply).ids);
  const want = JSON.stringify([...expected].sort());
  const seen = [];
  const isChange = (m) =>
    m.type === 'text' &&
    m.json &&
    m.json.channel === channel &&
    ['pusher_internal:member_added', 'pusher_internal:member_removed'].includes(m.json.event);
  const deadline = Date.now() + WAIT_MS;
  while (JSON.stringify([...view].sort()) !== want) {
    const left = deadline - Date.now();
    const m = left > 0 ? await ws.inbox.next(isChange, 'a member change', left).catch(() => null) : null;
    assert.ok(m, `${what}: members ${JSON.stringify([...view].sort())}, want ${want}; first reply ${JSON.stringify(reply)}; then ${seen.join(' ')}`);
    const data = typeof m.json.data === 'string' ? JSON.parse(m.json.data) : m.json.data;
    seen.push(`${m.json.event}(${data.user_id})`);
    if (m.json.event === 'pusher_internal:member_added') view.add(data.user_id);
    else view.delete(data.user_id);
  }
}

// A new member joins on node `via`; a refusal with status 503 (no live owner yet) is retried.
// Its member list must come to hold `expected`: at once in subscription_succeeded, or (if the
// join reached the new owner before every node re-announced its members) through the
// member_added events that follow. Resolves with null, or the first list if it was not complete.
async function joinsSeeing(t, channel, via, who, expected) {
  const ws = await client(t, via);
  const refusals = [];
  const deadline = Date.now() + RECOVERY_MS;
  for (;;) {
    const reply = await joinPresence(ws, channel, who);
    if (reply.event === 'pusher_internal:subscription_succeeded') {
      const what = `${who} joining ${channel} via node[${via}] (after ${refusals.length} refusals)`;
      const complete = presenceOf(reply).ids.length === expected.length;
      if (complete) assertMembers(reply, expected, what);
      await memberViewBecomes(ws, channel, reply, expected, what);
      return complete ? null : presenceOf(reply).ids;
    }
    assert.equal(reply.data && reply.data.status, 503, `${who} joining ${channel}: ${JSON.stringify(reply)}`);
    refusals.push(reply.data.status);
    assert.ok(Date.now() < deadline, `${who} could not join ${channel} within ${RECOVERY_MS} ms: ${refusals.length} refusals with 503`);
    await sleep(RETRY_PAUSE_MS);
  }
}

// The existing member `ws` is told that `who` joined `channel`.
async function seesAdded(ws, channel, who) {
  const data = await memberEvent(ws, 'member_added', channel, who, WAIT_MS);
  assert.deepEqual(data, member(who), `${label(ws)} member_added on ${channel}`);
}

test('presence: after a shard is killed (and after it returns), a new member sees the members on both nodes', async (t) => {
  const channels = names('presence-failover', PRESENCE_CHANNELS);
  const alice = await client(t, 0);
  const bob = await client(t, 1);
  alice.label = 'alice@node0';
  bob.label = 'bob@node1';
  for (const ch of channels) {
    const a = await joinPresence(alice, ch, 'alice');
    assertMembers(a, ['alice'], 'alice joining');
    const b = await joinPresence(bob, ch, 'bob');
    assertMembers(b, ['alice', 'bob'], 'bob joining');
    await seesAdded(alice, ch, 'bob');
  }
  const members = [alice, bob];
  const partial = []; // joins answered before every member was re-announced (corrected later)

  await killProcess(mesh(), 'broker', 1, 'SIGKILL');
  for (const [i, ch] of channels.entries()) {
    await recovers(ch, members, i % 2, `presence-killed-${i}`);
    const first = await joinsSeeing(t, ch, i % 2, 'carol', ['alice', 'bob', 'carol']);
    if (first) partial.push(`carol #${i} first saw ${first}`);
    for (const ws of members) await seesAdded(ws, ch, 'carol');
  }

  await restartBroker1();
  for (const [i, ch] of channels.entries()) {
    await recovers(ch, members, 1 - (i % 2), `presence-restarted-${i}`);
    const first = await joinsSeeing(t, ch, 1 - (i % 2), 'dave', ['alice', 'bob', 'carol', 'dave']);
    if (first) partial.push(`dave #${i} first saw ${first}`);
    for (const ws of members) await seesAdded(ws, ch, 'dave');
  }
  t.diagnostic(`joins whose first member list was incomplete: ${partial.length ? partial.join(', ') : 'none'}`);
  await bothReady();
});
