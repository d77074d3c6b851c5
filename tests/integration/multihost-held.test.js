'use strict';
// A publish its node gave up on is never published later (issue 22, found by the soak:
// docs/soak.md failure 1b). Hosts are network namespaces (lib/netns.js): brokers b0 and b1,
// nodes n0 and n1, a client host c. Four sequential REST publishers send through n0, round-robin
// over 8 channels (both brokers own some); a pusher-js client on each node subscribes them all.
// Eight times: n0 stops hearing b1's egress (its heartbeats), and a second later the packets
// from n0 to b1 are dropped too (iptables in b1's namespace), until n0 declares b1 down, half a
// second later; then both are let through again. The PUBLISHes n0 sent b1 in that half second
// wait in TCP's retransmission queue and reach b1 after n0 declared it down (TCP retransmits
// them 0.2, 0.6 and 1.4 s after the first send), while b1 still has the connection. A node that
// answered them 503 then (the code before the fix) had them published after the 503, and its
// publisher's later events before them. Now n0 answers no stamped PUBLISH before
// RTM_WIRE_HOLD_MS after its stamp, and b1 refuses any it reads RTM_WIRE_STALE_MS after the
// stamped heartbeat. No client may receive an event whose publish was refused, and each
// publisher's events arrive in order.
// Needs root and namespaces; skipped with the reason otherwise.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { available } = require('../lib/netns');
const { harness, waitLog, jsonLines, WAIT_MS } = require('../lib/multihost');
const { sleep, waitUntil } = require('../lib/util');

const HOSTS = { b0: '10.216.0.10', b1: '10.216.0.11', n0: '10.216.0.20', n1: '10.216.0.21', c: '10.216.0.30' };
const ROUNDS = 8;
const EGRESS_PORT = 7001; // the brokers' egress: the ingress port (7000, lib/multihost) + 1

const skip = available();
if (skip) console.log(`# multi-host held-publish test skipped: ${skip}`);

test('multi-host: a publish held on the wire past its node\'s 503 is never delivered, and order holds', { skip: skip || false, timeout: 180000 }, async (t) => {
  const h = harness(t, HOSTS);
  const { net, procs, brokerId } = h;
  await h.startMesh(['b0', 'b1'], ['n0', 'n1']);
  const load = h.script('c', 'netns-ordered.js', [h.endpoint('n0'), `${h.endpoint('n0')},${h.endpoint('n1')}`, '4', '8'], 'ordered');
  const lines = jsonLines(load);
  await waitUntil(() => lines.some((l) => l.ready), 'the clients to subscribe', WAIT_MS);
  await sleep(1000);

  for (let round = 0; round < ROUNDS; round++) {
    const t0 = Date.now();
    net.partitionFrom('n0', 'b1', true, EGRESS_PORT);
    await sleep(1000); // n0 declares b1 down 1.5 s after its last heartbeat: 0.5 s after the next cut
    net.partitionFrom('b1', 'n0', true);
    const down = await waitLog(procs.n0, ['event=shard_down', `broker=${brokerId('b1')}`], t0, 'n0 to lose b1', WAIT_MS);
    net.partitionFrom('b1', 'n0', false);
    net.partitionFrom('n0', 'b1', false, EGRESS_PORT);
    const healed = Date.now();
    const up = await waitLog(procs.n0, ['event=shard_up', `broker=${brokerId('b1')}`], healed, 'n0 to route to b1 again');
    console.log(`# round ${round}: n0 lost b1 ${down - t0} ms after its egress was cut, healed after ${healed - t0} ms, b1 routed again ${up - healed} ms later`);
    await sleep(2000);
  }
  load.child.stdin.write('end\n');
  await waitUntil(() => lines.some((l) => l.report), 'the report', WAIT_MS + 10000);
  const { statuses, received } = lines.find((l) => l.report).report;

  const all = statuses.flat();
  const refused = all.filter((s) => s !== 200).length;
  const zombies = received.flatMap((byChannel) => Object.values(byChannel).flat().filter(([p, n]) => statuses[p][n] !== 200));
  console.log(`# published ${all.length}, acknowledged ${all.length - refused}, refused ${refused}, refused yet delivered ${zombies.length}`);
  assert.ok(refused > 0, 'some publishes were refused during the cuts (the test tests something)');
  assert.deepEqual(zombies, [], 'events whose publish was refused were delivered');
  received.forEach((byChannel, c) => {
    for (const [name, events] of Object.entries(byChannel))
      for (let p = 0; p < statuses.length; p++) {
        const seq = events.filter(([q]) => q === p).map(([, n]) => n);
        assert.ok(seq.every((n, i) => i === 0 || n > seq[i - 1]), `client ${c}, ${name}, publisher ${p}: events out of order: ${seq.join(' ')}`);
      }
  });
  assert.deepEqual(await load.exited, { code: 0, signal: null });
});
