'use strict';
// Failover between broker shards (README; node/upstream.c): a shard that misses 3 heartbeats
// (500 ms apart) is dead; every node then computes channel owners over the live shards only,
// re-subscribes its channels there and re-announces its presence members to the new owner.
// Meanwhile a publish that cannot reach a live owner is refused with 503, never acknowledged
// and lost. When the shard comes back, owners move back the same way.
//
// Which shard owns a channel cannot be seen from outside, so the tests use many channels
// (both shards own some of them with near certainty) and check every one: after broker 1 is
// SIGKILLed, a marker is published to each channel until one is accepted; a refusal (503: no
// live owner yet) is retried with a new marker. Every accepted marker (200) must reach every
// subscriber connected throughout, at the first try: an acknowledged publish is never lost,
// so one that a subscriber still connected did not receive fails the test at once. A
// subscriber the node closes with a 4200-4299 code was told to reconnect (a Pusher client then
// knows it may have missed events): it is accounted as such, judged no further, and printed;
// every node must keep a subscriber connected throughout. Once every channel has recovered,
// one more publish per channel through each node must be accepted at the first try. The same
// after broker 1 is started again. Deadlines are generous; durations are never asserted.

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
const RETRY_PAUSE_MS = 100; // after a 503
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

// The subscribers a test judges, each with the node it is on (ws.node). A subscriber stays in
// `connected` while it is connected; one the node told to reconnect moves to `told`.
class Audience {
  constructor(subscribers) {
    this.connected = [...subscribers];
    this.nodes = new Set(subscribers.map((ws) => ws.node));
    this.told = []; // "label: close {code, reason} (by marker)"
  }

  // What became of marker `data` on `channel` at ws: received; told (the node closed ws with a
  // 4200-4299 code before it arrived); or lost, with the reason.
  static async fate(ws, channel, data) {
    const isMarker = (m) => m.type === 'text' && m.json && m.json.event === 'marker' && m.json.channel === channel && m.json.data === data;
    try {
      await ws.inbox.next(isMarker, `marker ${data}`, WAIT_MS);
      return { kind: 'received' };
    } catch (err) {
      const close = ws.closeFrame;
      if (ws.inbox.endReason && close && close.code >= 4200 && close.code <= 4299) return { kind: 'told', close };
      return { kind: 'lost', why: err.message };
    }
  }

  // Marker `data`, acknowledged on `channel`, reached every subscriber connected throughout.
  async delivered(channel, data, what) {
    const fates = await Promise.all(this.connected.map((ws) => Audience.fate(ws, channel, data)));
    const lost = [];
    this.connected = this.connected.filter((ws, i) => {
      const f = fates[i];
      if (f.kind === 'told') this.told.push(`${label(ws)}: close ${JSON.stringify(f.close)} (by ${data})`);
      if (f.kind === 'lost') lost.push(`${label(ws)} (${f.why})`);
      return f.kind === 'received';
    });
    assert.deepEqual(lost, [], `${what} was acknowledged (200) but not delivered to subscribers connected throughout`);
    for (const node of this.nodes) {
      assert.ok(this.connected.some((ws) => ws.node === node), `every subscriber on node[${node}] was told to reconnect: ${this.told.join('; ')}`);
    }
  }
}

// Publishes markers to `channel` through node `via` until one is accepted (200); it must reach
// every subscriber of `audience` connected throughout. 503 is retried (no live owner yet) with
// a new marker; any other status fails at once. Fails after RECOVERY_MS with every refusal.
async function recovers(channel, audience, via, tag) {
  const refusals = [];
  const deadline = Date.now() + RECOVERY_MS;
  for (let attempt = 1; Date.now() < deadline; attempt++) {
    const data = `${tag}-${attempt}`;
    const res = await triggerEvent(mesh().nodePort(via), { name: 'marker', channels: [channel], data });
    if (res.status === 503) {
      refusals.push('503');
      await sleep(RETRY_PAUSE_MS);
      continue;
    }
    assert.equal(res.status, 200, `publish ${data} to ${channel} via node[${via}] → HTTP ${res.status} ${res.text} (after ${refusals.length} refusals)`);
    await audience.delivered(channel, data, `publish ${data} to ${channel} via node[${via}]`);
    return refusals;
  }
  throw new Error(`${channel} did not accept a publish within ${RECOVERY_MS} ms (via node[${via}]): ${refusals.length} refusals with 503`);
}

// One publish through node `via`: must be accepted and reach every subscriber of `audience`.
async function delivers(channel, audience, via, data) {
  await publish(mesh().nodePort(via), { name: 'marker', channels: [channel], data });
  await audience.delivered(channel, data, `publish ${data} to ${channel} via node[${via}]`);
}

async function recoverAll(t, channels, audience, tag) {
  const refused = [];
  for (const [i, ch] of channels.entries()) {
    const refusals = await recovers(ch, audience, i % 2, `${tag}-${i}`);
    if (refusals.length > 0) refused.push(`#${i}: ${refusals.length}`);
  }
  t.diagnostic(`${tag}: ${refused.length} of ${channels.length} channels refused publishes (503) before accepting one ${refused.join(', ')}`);
  // Every channel recovered: now it works at the first try, through either node.
  for (const [i, ch] of channels.entries()) {
    await delivers(ch, audience, i % 2, `${tag}-${i}-settled-a`);
    await delivers(ch, audience, 1 - (i % 2), `${tag}-${i}-settled-b`);
  }
}

// How many times node[i] logged that it hears shard 1 (each worker logs "event=shard_up shard=1"
// when the shard's heartbeats start or resume: liveness is each worker's own view).
function shardUpLines(node) {
  return mesh().process('node', node).log.count('event=shard_up shard=1 ');
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
      ws.node = node;
      for (const ch of channels) {
        const reply = await ws.subscribe(ch);
        assert.equal(reply.event, 'pusher_internal:subscription_succeeded', `${ws.label} ${ch}: ${JSON.stringify(reply)}`);
      }
      await ws.sync();
      subscribers.push(ws);
    }
  }
  const audience = new Audience(subscribers);
  for (const [i, ch] of channels.entries()) await delivers(ch, audience, i % 2, `healthy-${i}`);

  const exit = await killProcess(mesh(), 'broker', 1, 'SIGKILL');
  assert.equal(exit.signal, 'SIGKILL', `broker[1]: ${JSON.stringify(exit)}`);
  await recoverAll(t, channels, audience, 'killed');
  await bothReady();

  await restartBroker1();
  await recoverAll(t, channels, audience, 'restarted');
  await bothReady();
  t.diagnostic(`subscribers told to reconnect: ${audience.told.length ? audience.told.join('; ') : 'none'}`);
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
  alice.node = 0;
  bob.label = 'bob@node1';
  bob.node = 1;
  for (const ch of channels) {
    const a = await joinPresence(alice, ch, 'alice');
    assertMembers(a, ['alice'], 'alice joining');
    const b = await joinPresence(bob, ch, 'bob');
    assertMembers(b, ['alice', 'bob'], 'bob joining');
    await seesAdded(alice, ch, 'bob');
  }
  const members = [alice, bob];
  const audience = new Audience(members); // alone on their nodes: a reconnect notice fails the test
  const partial = []; // joins answered before every member was re-announced (corrected later)

  await killProcess(mesh(), 'broker', 1, 'SIGKILL');
  for (const [i, ch] of channels.entries()) {
    await recovers(ch, audience, i % 2, `presence-killed-${i}`);
    const first = await joinsSeeing(t, ch, i % 2, 'carol', ['alice', 'bob', 'carol']);
    if (first) partial.push(`carol #${i} first saw ${first}`);
    for (const ws of members) await seesAdded(ws, ch, 'carol');
  }

  await restartBroker1();
  for (const [i, ch] of channels.entries()) {
    await recovers(ch, audience, 1 - (i % 2), `presence-restarted-${i}`);
    const first = await joinsSeeing(t, ch, 1 - (i % 2), 'dave', ['alice', 'bob', 'carol', 'dave']);
    if (first) partial.push(`dave #${i} first saw ${first}`);
    for (const ws of members) await seesAdded(ws, ch, 'dave');
  }
  t.diagnostic(`joins whose first member list was incomplete: ${partial.length ? partial.join(', ') : 'none'}`);
  await bothReady();
});
