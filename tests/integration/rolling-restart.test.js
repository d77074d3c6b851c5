'use strict';
// A rolling restart of the edge nodes, then of the brokers, under steady publishing, as an
// orchestrator does it. Nodes: each node in turn gets SIGTERM, drains (README, --drain-seconds)
// and is started again. pusher-js
// clients and the `pusher` SDK reach the nodes only through a TCP balancer that follows
// /readyz (tests/lib/tcp-balancer.js), so a draining node's clients reconnect (4200) to another
// node. Judged: the publisher is never refused by a draining node, so no publish is lost at the
// edge (every one answered 200); a witness held on a node that is not restarting receives
// every event published meanwhile; at the end every pusher-js client is connected, subscribed
// and receives again; every node exited 0. Brokers: each broker in turn gets SIGTERM (it
// leaves: docs/operations.md), exits 0 and is started again; the next one goes once every node
// routes to it again. Judged: no publish refused, every acknowledged one received by a witness
// on each node, and afterwards presence members who leave or whose node is SIGKILLed are
// announced as removed; printed: publishes, refused, lost, how long each broker was out of
// routing, and how long the member_removed announcements took.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, killProcess, restartProcess, connectClient, triggerEvent, uniqueChannel, waitUntil, withTimeout, sleep } = require('../lib/mesh');
const { waitLog } = require('../lib/multihost');
const { startBalancer } = require('../lib/tcp-balancer');
const { connectPusherJs, subscribe, waitForEvent } = require('../lib/pusher-clients');
const { joinPresence, memberEvent } = require('../lib/presence');
const { getMetrics, metricSum } = require('../lib/rest');

const DRAIN_SECONDS = 1;
const NODES = 2;
const mesh = useMesh({ shards: 2, nodes: NODES, workers: 1, env: { RTMESH_DRAIN_SECONDS: String(DRAIN_SECONDS) } });
const CLIENTS = 6;
const PUBLISH_EVERY_MS = 20;
const DEADLINE_MS = 20000;
const PRESENCE_CHANNELS = 6; // on one broker only with probability 2^-5

// Publishes through `port` until stop(); every answer's status is kept, in order.
function steadyPublisher(port, channel) {
  const statuses = [];
  let running = true;
  const done = (async () => {
    for (let n = 0; running; n++) {
      const res = await triggerEvent(port, { name: 'tick', channels: [channel], data: String(n) });
      statuses.push({ n, status: res.status, text: res.text });
      await sleep(PUBLISH_EVERY_MS);
    }
  })();
  return { statuses, stop: async () => { running = false; await done; } };
}

test('restarting every node in turn under publish load loses no publish and leaves every client subscribed', async (t) => {
  const lb = await startBalancer([...Array(NODES).keys()].map((i) => mesh().nodePort(i)));
  t.after(() => lb.close());
  const channel = uniqueChannel('rolling');
  const clients = [];
  t.after(() => clients.forEach((c) => c.disconnect()));
  for (let i = 0; i < CLIENTS; i++) {
    const c = await connectPusherJs(lb.port);
    clients.push(c);
    await subscribe(c, channel);
  }

  const publisher = steadyPublisher(lb.port, channel);
  for (let node = 0; node < NODES; node++) {
    // A witness on the next node, which stays up during this node's restart.
    const witness = await connectClient(mesh().nodePort((node + 1) % NODES));
    t.after(() => witness.destroy());
    assert.equal((await witness.subscribe(channel)).event, 'pusher_internal:subscription_succeeded');
    await witness.sync();
    const from = publisher.statuses.length;

    const proc = mesh().process('node', node);
    proc.killed = true; // judged here
    proc.child.kill('SIGTERM');
    const exit = await withTimeout(proc.exited, DEADLINE_MS, `node[${node}] to exit after SIGTERM`);
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, `node[${node}] exit`);
    await restartProcess(mesh(), 'node', node);

    // Everything published meanwhile reached the witness. The publish in flight when `from`
    // was taken may have been sent before the witness subscribed: it is not counted.
    const upTo = publisher.statuses.length;
    const published = publisher.statuses.slice(from + 1, upTo);
    assert.ok(published.length > 0, 'publishing went on during the restart');
    for (const p of published) {
      assert.equal(p.status, 200, `publish ${p.n} during node[${node}]'s restart: HTTP ${p.status} ${p.text}`);
      const tick = (m) => m.type === 'text' && m.json?.event === 'tick' && m.json.channel === channel && m.json.data === String(p.n);
      await witness.waitForFrame(tick, `tick ${p.n} at the witness`, DEADLINE_MS);
    }
    witness.destroy();
  }
  await publisher.stop();
  for (const p of publisher.statuses) assert.equal(p.status, 200, `publish ${p.n}: HTTP ${p.status} ${p.text}`);

  // Every pusher-js client came back: connected, subscribed, and receiving.
  for (const [i, c] of clients.entries()) {
    await waitUntil(() => c.connection.state === 'connected' && c.channel(channel)?.subscribed, `client ${i} connected and subscribed`, DEADLINE_MS);
  }
  const waits = clients.map((c) => waitForEvent(c.channel(channel), 'after', DEADLINE_MS));
  assert.equal((await triggerEvent(lb.port, { name: 'after', channels: [channel], data: 'done' })).status, 200);
  await Promise.all(waits);
});

test('restarting every broker in turn under publish load refuses nothing, loses nothing and leaves presence working', async (t) => {
  const channel = uniqueChannel('rolling-brokers');
  // Presence members across the roll: alice and carol on node 0, bob on node 1, on channels
  // spread over both brokers. After the roll, alice leaving and node 0 dying (carol) must
  // still reach bob as member_removed: once, this was lost after a SIGTERM roll.
  const presence = Array.from({ length: PRESENCE_CHANNELS }, () => `presence-${uniqueChannel('rolling')}`);
  const members = {};
  for (const [who, node] of [['alice', 0], ['bob', 1], ['carol', 0]]) {
    members[who] = await connectClient(mesh().nodePort(node));
    t.after(() => members[who].destroy());
    for (const ch of presence) assert.equal((await joinPresence(members[who], ch, who)).event, 'pusher_internal:subscription_succeeded', `${who} joins ${ch}`);
  }
  const witnesses = [];
  for (let node = 0; node < NODES; node++) {
    const w = await connectClient(mesh().nodePort(node));
    t.after(() => w.destroy());
    assert.equal((await w.subscribe(channel)).event, 'pusher_internal:subscription_succeeded');
    await w.sync();
    witnesses.push(w);
  }
  const publisher = steadyPublisher(mesh().nodePort(0), channel);
  const brokers = mesh().brokerList.split(',');
  const outOfRouting = [];
  for (let b = 0; b < brokers.length; b++) {
    const since = Date.now();
    const proc = mesh().process('broker', b);
    proc.killed = true; // judged here
    proc.child.kill('SIGTERM');
    const exit = await withTimeout(proc.exited, DEADLINE_MS, `broker[${b}] to exit after SIGTERM`);
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, `broker[${b}] exit`);
    await restartProcess(mesh(), 'broker', b);
    const back = [];
    for (let node = 0; node < NODES; node++)
      back.push(await waitLog(mesh().process('node', node), ['event=shard_up', `broker=${brokers[b]}`], since, `node[${node}] to route to broker[${b}] again`, DEADLINE_MS));
    outOfRouting.push(Math.max(...back) - since);
  }
  await sleep(500);
  await publisher.stop();
  const acked = publisher.statuses.filter((p) => p.status === 200);
  const refused = publisher.statuses.filter((p) => p.status !== 200);
  const tick = (n) => (m) => m.type === 'text' && m.json?.event === 'tick' && m.json.channel === channel && m.json.data === String(n);
  const missing = () => witnesses.map((w) => acked.filter((p) => !w.inbox.seen(tick(p.n))).map((p) => p.n));
  await waitUntil(() => missing().every((m) => m.length === 0), 'every acknowledged publish at both witnesses', DEADLINE_MS).catch(() => {});
  const lost = missing();
  const rerouted = metricSum((await getMetrics(mesh().nodePort(0))).samples, 'rtmesh_rest_publishes_rerouted_total');
  console.log(`# broker rolling restart: ${publisher.statuses.length} published, ${refused.length} refused, ${rerouted} sent again (a broker said another owns), lost at the witnesses: ${lost.map((l) => l.length).join(', ')}; each broker out of routing for ${outOfRouting.join(', ')} ms (SIGTERM to every node routing to it again)`);
  assert.deepEqual(refused.map((p) => `${p.n}: HTTP ${p.status} ${p.text}`), [], 'no publish refused');
  // The witnesses were connected throughout (a node told to reconnect would show in the message).
  assert.deepEqual(lost, witnesses.map(() => []), `no acknowledged publish lost (witness close frames: ${JSON.stringify(witnesses.map((w) => w.closeFrame))})`);

  let since = Date.now();
  members.alice.destroy();
  for (const ch of presence) await memberEvent(members.bob, 'member_removed', ch, 'alice', DEADLINE_MS);
  const leftMs = Date.now() - since;
  since = Date.now();
  await killProcess(mesh(), 'node', 0, 'SIGKILL');
  for (const ch of presence) await memberEvent(members.bob, 'member_removed', ch, 'carol', DEADLINE_MS);
  const killedMs = Date.now() - since;
  console.log(`# after the broker roll: bob told alice left on ${presence.length} channels in ${leftMs} ms, that carol's node died in ${killedMs} ms`);
  await restartProcess(mesh(), 'node', 0);
});
