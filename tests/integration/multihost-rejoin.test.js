'use strict';
// A broker coming back that one node cannot hear (issue 22, the soak's failure 4: docs/soak.md).
// Hosts are network namespaces (lib/netns.js): brokers b0 and b1, nodes n0 and n1, a client
// host c, under steady publish load with pusher-js subscribers on both nodes
// (lib/netns-load.js). Phases, in order:
//   leave   b0 gets SIGTERM: its channels move to b1, which confirms them (no reconnect due)
//   rejoin  b0 restarts while n0 hears nothing from it (a one-way cut: b0's packets to n0
//           dropped). n1 and b1 hear it, and after the join delay its channels move back to it;
//           n0 still routes them to b1 and nothing in its own view changed, while b0 publishes
//           what n0 never receives. b1 says on each channel it hands away that it no longer
//           owns it (MOVED): n0 puts those channels in doubt and, since b1 no longer confirms
//           them, tells their subscribers to reconnect. Without that they missed the events
//           silently. The cut then heals.
//   after   n0 routes to b0 again; its clients are subscribed again
// Printed per phase: what subscribers missed: lost (silently, must be 0), noticed (missed by a
// client that was then told to reconnect), unsubscribed (published while not subscribed).
// Needs root and namespaces; skipped with the reason otherwise.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { available } = require('../lib/netns');
const { harness, logTime, waitLog, stop, printReport, assertNothingLost } = require('../lib/multihost');
const { sleep } = require('../lib/util');

const HOSTS = { b0: '10.214.0.10', b1: '10.214.0.11', n0: '10.214.0.20', n1: '10.214.0.21', c: '10.214.0.30' };

const skip = available();
if (skip) console.log(`# multi-host rejoin test skipped: ${skip}`);

test('multi-host: a broker back from a restart that one node cannot hear; nothing acknowledged is lost silently', { skip: skip || false, timeout: 180000 }, async (t) => {
  const h = harness(t, HOSTS);
  const { net, procs, brokerId } = h;
  const nodes = ['n0', 'n1'];
  await h.startMesh(['b0', 'b1'], nodes);
  await h.startLoad('c', nodes, 9); // an odd number of channels: each is published through both nodes
  await sleep(1000);

  // leave: b0 goes; b1 takes over its channels
  let t0 = await h.phase('leave');
  assert.deepEqual(await stop(procs.b0), { code: 0, signal: null }, 'b0 leaves cleanly');
  await h.nodesLog(nodes, ['event=shard_down', `broker=${brokerId('b0')}`], t0, 'b0 down');
  await sleep(2000);

  // rejoin: b0 restarts, heard by everyone but n0
  t0 = await h.phase('rejoin');
  net.partitionFrom('n0', 'b0', true);
  h.fileBroker('b0');
  const handed = await waitLog(procs.b1, ['event=ownership_sweep'], t0, 'b1 to hand b0\'s channels back');
  await sleep(4000); // the cut outlasts the node's doubt period (3 s)
  const healed = Date.now();
  net.partitionFrom('n0', 'b0', false);
  await waitLog(procs.n0, ['event=shard_up', `broker=${brokerId('b0')}`], healed, 'n0 to route to b0 again');
  const noticed = logTime(procs.n0, ['event=owner_unreachable'], t0);
  console.log(`# rejoin: b1 handed b0's channels back after ${handed - t0} ms; n0 told their subscribers to reconnect ${noticed === null ? 'never' : `after ${noticed - t0} ms`}`);

  // after: n0's clients are back on every channel
  await h.phase('after');
  await h.loadSubscribed();
  await sleep(1000);

  const result = await h.endLoad();
  printReport(result, {});
  assertNothingLost(result);
  const leave = result.report.find((r) => r.phase === 'leave');
  assert.equal(leave.noticed + leave.unsubscribed, 0, 'leave: nobody told to reconnect where nothing was missed');
  const rejoin = result.report.find((r) => r.phase === 'rejoin');
  assert.ok(rejoin.noticed + rejoin.unsubscribed > 0, 'rejoin: n0\'s subscribers did miss what b0 published (the test tests something)');
  assert.notEqual(noticed, null, 'n0 gave up on the channels it could not receive');
});
