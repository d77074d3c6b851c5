'use strict';
// A stalled owner must not publish late what its senders refused (issue 22, found by the soak:
// docs/soak.md failure 1). Broker 1 is SIGSTOPped for twice the dead time (RTM_WIRE_DEAD_MS,
// 1500 ms) while one REST publisher sends to 20 channels (both shards own some of them with
// near certainty), one event at a time with a rising number. The node declares broker 1 dead
// and refuses (503) what it had sent there, which waits in broker 1's socket. On SIGCONT,
// broker 1 finds that it stalled and refuses every PUBLISH stamped with a heartbeat from
// before the stall: the subscriber receives no event that was refused, and every channel's
// events in order. What broker 1 still sends in its first DEAD_MS after the stall is dropped
// by the node, which tells that channel's subscribers to reconnect (docs/soak.md failure 8):
// publishing goes on until the node routes to broker 1 again and every channel, subscribed
// again if it was told to, has received an event published after that.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, uniqueChannel, waitUntil, sleep } = require('../lib/mesh');
const { createPusherJs, subscribe, serverSdk } = require('../lib/pusher-clients');

const mesh = useMesh({ shards: 2, nodes: 1, workers: 1 });
const CHANNELS = 20;
const DEAD_MS = 1500; // RTM_WIRE_DEAD_MS: silence after which a node declares a broker dead
const RECOVERY_MS = 15000;

// How many times the node logged that it routes to shard 1 (its one worker logs it).
function shardUpLines() {
  return mesh().process('node', 0).log.count('event=shard_up shard=1 ');
}

test('a broker stalled past the dead time publishes none of the events its node refused meanwhile', async (t) => {
  const port = mesh().nodePort(0);
  const names = Array.from({ length: CHANNELS }, () => uniqueChannel('stall'));
  const client = createPusherJs(port, t);
  const got = new Map(names.map((n) => [n, []])); // channel -> numbers received, in order
  for (const name of names) {
    const channel = await subscribe(client, name);
    channel.bind('ev', (d) => got.get(name).push(d.n));
  }
  const sdk = serverSdk(port);
  const status = new Map(); // n -> HTTP status (200 acknowledged)
  let n = 0;
  let publishing = true;
  const publisher = (async () => {
    while (publishing) {
      const mine = n++;
      const name = names[mine % CHANNELS];
      status.set(mine, await sdk.trigger(name, 'ev', { n: mine }).then(() => 200, (err) => err.status || -1));
    }
  })();

  await waitUntil(() => n > 2 * CHANNELS, 'publishing to every channel');
  const broker = mesh().process('broker', 1);
  broker.child.kill('SIGSTOP');
  await sleep(2 * DEAD_MS);
  broker.child.kill('SIGCONT');
  const resumed = n;
  // every channel takes publishes again (broker 1's on broker 0 until the node routes to it again)
  await waitUntil(() => names.every((name, i) => [...status].some(([k, s]) => k >= resumed && k % CHANNELS === i && s === 200)), 'every channel to accept publishes after the stall', RECOVERY_MS);
  // the node routes to broker 1 again RTM_WIRE_JOIN_MS after hearing it, past the window in
  // which it drops what broker 1 sends as held on the wire
  await waitUntil(() => shardUpLines() >= 2, 'the node to route to broker 1 again', RECOVERY_MS);
  const routed = n;
  await waitUntil(() => names.every((name) => got.get(name).some((k) => k >= routed)), 'every channel to receive events again', RECOVERY_MS);
  publishing = false;
  await publisher;
  const last = n - 1;
  await waitUntil(() => names.every((name) => got.get(name).length && got.get(name).at(-1) >= last - CHANNELS), 'the last events to arrive', RECOVERY_MS);

  const refused = [...status].filter(([, s]) => s !== 200).map(([k]) => k);
  assert.ok(refused.length > 0, 'some publishes were refused during the stall (the test tests something)');
  const zombies = names.flatMap((name) => got.get(name).filter((k) => status.get(k) !== 200));
  assert.deepEqual(zombies, [], 'events whose publish was refused were delivered');
  for (const name of names) {
    const seq = got.get(name);
    assert.deepEqual(seq, [...seq].sort((a, b) => a - b), `${name}: events in the order published`);
  }
  await waitUntil(() => broker.log.text.includes('event=stalled'), 'broker 1 to log its stall');
  const held = mesh().process('node', 0).log.count('event=held_dropped');
  t.diagnostic(`${refused.length} publishes refused; the node dropped what broker 1 sent held on the wire ${held} time(s)`);
});
