'use strict';
// A broker cut off from everything must not tell the webhook consumer that members left
// (issue 22, docs/soak.md failure 2). Hosts are network namespaces (lib/netns.js): brokers b0
// and b1, a node n0, a client host c with the webhook consumer and presence members on n0
// (lib/netns-hooks.js). Every packet of b1 is dropped long enough for it to judge b0 and n0
// dead, take b0's channels over in its own view and settle them, then the partition heals.
// Meanwhile nobody leaves. Before the fix b1 queued member_removed for the members of its own
// channels (its node lost) and of b0's (settling, no node re-announced to it), and its retries
// delivered them after the heal: the consumer's online list lost every member. It must equal
// the REST users list, with no member_removed at all, once b1's webhook queue is empty.
// Needs root and namespaces; skipped with the reason otherwise.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { available } = require('../lib/netns');
const { harness, waitLog, jsonLines, WAIT_MS } = require('../lib/multihost');
const { APP, sleep, waitUntil } = require('../lib/util');

const HOSTS = { b0: '10.214.0.10', b1: '10.214.0.11', n0: '10.214.0.20', c: '10.214.0.30' };
// With these hosts' identities b0 owns some of them and b1 the others: both ways b1 inferred
// departures (its own channels' node lost; b0's channels settled) are exercised.
const CHANNELS = ['presence-iso-0', 'presence-iso-1', 'presence-iso-2', 'presence-iso-3'];
const MEMBERS = 2;
const SETTLE_MS = 3000; // brokers' --webhook-settle-ms (the default)

const skip = available();
if (skip) console.log(`# multi-host isolated broker test skipped: ${skip}`);

// The online list per channel a consumer keeps from member_added / member_removed alone.
function online(hooks) {
  const on = Object.fromEntries(CHANNELS.map((ch) => [ch, new Set()]));
  for (const h of hooks) {
    if (h.name === 'member_added') on[h.channel].add(h.user);
    if (h.name === 'member_removed') on[h.channel].delete(h.user);
  }
  return Object.fromEntries(CHANNELS.map((ch) => [ch, [...on[ch]].sort()]));
}

test('multi-host: a broker cut off from everything reports no departures after the heal', { skip: skip || false, timeout: 180000 }, async (t) => {
  const h = harness(t, HOSTS);
  const { net, procs, brokerId } = h;
  const consumer = h.script('c', 'netns-hooks.js', [JSON.stringify({ hookHost: HOSTS.c, node: h.endpoint('n0'), channels: CHANNELS, members: MEMBERS })], 'consumer');
  const lines = jsonLines(consumer);
  const next = async (key, what) => {
    const from = lines.length;
    await waitUntil(() => lines.slice(from).some((l) => key in l), what, WAIT_MS);
    return lines.slice(from).find((l) => key in l)[key];
  };
  const ask = (cmd, key) => {
    const answer = next(key, `the consumer to answer ${cmd}`);
    consumer.child.stdin.write(`${cmd}\n`);
    return answer;
  };
  await waitUntil(() => lines.some((l) => l.url), 'the webhook receiver to listen', WAIT_MS);
  const apps = path.join(h.dir, 'apps.json');
  fs.writeFileSync(apps, JSON.stringify([{ ...APP, webhooks: [{ url: lines.find((l) => l.url).url, event_types: ['member_added', 'member_removed'] }] }]));
  const args = ['--apps', apps];
  const brokerArgs = [...args, '--webhook-settle-ms', String(SETTLE_MS), '--webhook-backoff-ms', '100', '--webhook-timeout-ms', '1000'];
  h.writeBrokers(['b0', 'b1']);
  h.fileBroker('b0', brokerArgs);
  h.fileBroker('b1', brokerArgs);
  h.fileNode('n0', args);
  for (const b of ['b0', 'b1']) await h.nodesLog(['n0'], ['event=shard_up', `broker=${brokerId(b)}`], 0, `${b} up`);

  const join = ask('join', 'joined');
  await join;
  const everyone = Object.fromEntries(CHANNELS.map((ch) => [ch, Array.from({ length: MEMBERS }, (_, i) => `m${i}`)]));
  await waitUntil(async () => JSON.stringify(online(await ask('hooks', 'hooks'))) === JSON.stringify(everyone), 'member_added for everyone', WAIT_MS);

  // b1 believes what b0 announced of b0's channels (REPLICA, in a stats line every 10 s), and
  // delivered its own member_added: so settling b0's channels has members to report gone.
  await waitUntil(() => / event=replica_stats .* believed_users=[1-9]/.test(procs.b1.log.text), "b1 to believe b0's members", 30000);
  await waitLog(procs.b1, ['event=webhook_stats', 'held=0'], 0, "b1's webhook queue to empty", 30000);

  // b1 cut off from everything: it judges b0 and n0 dead and takes b0's channels over; the cut
  // lasts until it would have settled them (SETTLE_MS after it lost b0), with a margin.
  const cut = Date.now();
  net.partition('b1', true);
  await waitLog(procs.b1, ['event=shard_down', `broker=${brokerId('b0')}`], cut, 'b1 to lose b0');
  await waitLog(procs.n0, ['event=shard_down', `broker=${brokerId('b1')}`], cut, 'n0 to lose b1');
  await sleep(SETTLE_MS + 2000);
  const healed = Date.now();
  net.partition('b1', false);
  const b0Back = await waitLog(procs.b1, ['event=shard_up', `broker=${brokerId('b0')}`], healed, 'b1 to count b0 again');
  await waitLog(procs.n0, ['event=shard_up', `broker=${brokerId('b1')}`], healed, 'n0 to route to b1 again');
  // Whatever b1 queued while cut off is delivered (or was never queued) once its queue is empty
  // in a stats line (every 10 s) after it counted b0 again; likewise b0's.
  for (const b of ['b1', 'b0']) await waitLog(procs[b], ['event=webhook_stats', 'held=0'], b0Back, `${b}'s webhook queue to empty`, 30000);

  const b1Log = procs.b1.log.text;
  const hooks = await ask('hooks', 'hooks');
  const truth = await ask('truth', 'truth');
  const removed = hooks.filter((x) => x.name === 'member_removed');
  console.log(`# webhooks: ${hooks.length} (${removed.length} member_removed); consumer ${JSON.stringify(online(hooks))} vs REST ${JSON.stringify(truth)}`);
  // Both ways b1 infers departures were taken: its own channels' node lost, b0's settled.
  assert.match(b1Log, /event=node_lost/, 'b1 judged n0 lost');
  assert.match(b1Log, / takeovers=[1-9]/, "b1 took b0's channels over");
  assert.deepEqual(truth, everyone, 'nobody left: REST lists every member');
  assert.deepEqual(removed, [], 'no member_removed: nobody left');
  assert.deepEqual(online(hooks), truth, "the webhook consumer's online list equals the REST users list");
  consumer.child.stdin.write('end\n');
  await consumer.exited;
});
