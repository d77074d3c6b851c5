'use strict';
// The broker tier across machines (issue 9), proven with "hosts" that are network namespaces
// joined by a bridge (lib/netns.js): brokers b0..b2, nodes n0 and n1, and a client host c,
// each with its own address that exists only inside the namespaces this test creates. The
// client host runs steady publish load with pusher-js subscribers on both nodes
// (lib/netns-load.js). Every process reads the same brokers file and re-reads it on SIGHUP.
//
// Scenarios, in order, each a phase of the load:
//   add       b2 starts listed in the file; nodes, then b0 and b1, get SIGHUP: b2 takes its share
//   partition b1's host drops every packet (iptables DROP) for 4 s, then heals
//   remove    b1 leaves the file; b0 and b2, then the nodes, get SIGHUP; then b1 is stopped
//   rolling   b0 then b2 are SIGTERMed (each says it is leaving first) and restarted
//   kill      b0 is SIGKILLed: b2 is the only broker left
//   alone     b2 alone serves every channel
//   back      b0 starts again and takes its share back from b2
//   kill2     b2 is SIGKILLed: b0, the one brought back, serves alone
// Printed per phase: detection time (fault → a node logs shard_down), re-route time (fault →
// the first publish acknowledged after the phase's last refusal), publishes refused (503),
// acknowledged publishes lost (must be 0). Needs root and namespaces; skipped with the reason
// otherwise. Namespaces and /etc/netns entries are removed whatever happens.
//
// A second test follows the broker set through DNS (dns://brokers.mesh:7000), the way a
// Kubernetes headless Service does: every host's /etc/hosts names each broker address
// broker-N.brokers.mesh (the reverse name, as a StatefulSet pod's PTR record) and gives all
// of them the alias brokers.mesh (the Service name); adding and removing a line is scaling.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { available } = require('../lib/netns');
const { harness, logTime, waitLog, stop, kill, printReport, assertNothingLost } = require('../lib/multihost');
const { sleep } = require('../lib/util');

const HOSTS = { b0: '10.213.0.10', b1: '10.213.0.11', b2: '10.213.0.12', n0: '10.213.0.20', n1: '10.213.0.21', c: '10.213.0.30' };
const NODES = ['n0', 'n1'];

const skip = available();
if (skip) console.log(`# multi-host test skipped: ${skip}`);

// Prints the load report with the fault timings and checks what must hold in every phase.
function checkReport(result, timings) {
  printReport(result, timings);
  assertNothingLost(result);
  for (const r of result.report) assert.notEqual(r.reroute_ms, null, `${r.phase}: publishing recovered`);
  assert.equal(result.disconnects, 0, 'client connections stay up while channels move');
}

test('multi-host: brokers join, vanish behind a partition, leave and die under load; nothing acknowledged is lost', { skip: skip || false, timeout: 180000 }, async (t) => {
  const h = harness(t, HOSTS);
  const { net, procs } = h;
  const { writeBrokers, fileBroker: broker, fileNode: node, brokerId } = h;
  writeBrokers(['b0', 'b1']);
  broker('b0');
  broker('b1');
  node('n0');
  node('n1');
  const nodes = [procs.n0, procs.n1];
  const allNodesLog = (needles, since, what) => h.nodesLog(NODES, needles, since, what);
  await h.startLoadWhenRouted('c', NODES, [brokerId('b0'), brokerId('b1')]);
  const phase = h.phase;
  const timings = {};

  // add: b2 starts listed; the nodes take the new list, then the old brokers
  let t0 = await phase('add');
  writeBrokers(['b0', 'b1', 'b2']);
  broker('b2');
  await waitLog(procs.b2, ['event=shard_up', `broker=${brokerId('b0')}`], t0, 'b2 to hear b0');
  for (const n of nodes) n.child.kill('SIGHUP');
  await allNodesLog(['event=shard_up', `broker=${brokerId('b2')}`], t0, 'b2 up');
  procs.b0.child.kill('SIGHUP');
  procs.b1.child.kill('SIGHUP');
  await waitLog(procs.b0, ['event=broker_listed', `broker=${brokerId('b2')}`], t0, 'b0 to list b2');
  timings.add = { detect_ms: Math.max(...nodes.map((n) => logTime(n, ['event=shard_up', `broker=${brokerId('b2')}`], t0))) - t0 };
  await sleep(2000);

  // partition: b1's host vanishes without a FIN, then returns
  t0 = await phase('partition');
  net.partition('b1', true);
  const down = await allNodesLog(['event=shard_down', `broker=${brokerId('b1')}`], t0, 'b1 down');
  timings.partition = { detect_ms: Math.max(...down) - t0 };
  await sleep(Math.max(0, 4000 - (Date.now() - t0)));
  const healed = Date.now();
  net.partition('b1', false);
  const up = await allNodesLog(['event=shard_up', `broker=${brokerId('b1')}`], healed, 'b1 up after the partition');
  timings.partition.rejoin_ms = Math.max(...up) - healed;
  await sleep(1500);

  // remove: the brokers that stay take the list first, then the nodes; then b1 stops
  t0 = await phase('remove');
  writeBrokers(['b0', 'b2']);
  procs.b0.child.kill('SIGHUP');
  procs.b2.child.kill('SIGHUP');
  await waitLog(procs.b2, ['event=broker_unlisted', `broker=${brokerId('b1')}`], t0, 'b2 to unlist b1');
  for (const n of nodes) n.child.kill('SIGHUP');
  await allNodesLog(['event=broker_unlisted', `broker=${brokerId('b1')}`], t0, 'b1 unlisted');
  timings.remove = { detect_ms: 0 };
  await sleep(500);
  const b1exit = await stop(procs.b1);
  assert.deepEqual(b1exit, { code: 0, signal: null }, 'b1 stops cleanly');
  await sleep(1000);

  // rolling: SIGTERM and restart each broker in turn; a leaving broker says so first
  t0 = await phase('rolling');
  for (const b of ['b0', 'b2']) {
    const since = Date.now();
    assert.deepEqual(await stop(procs[b]), { code: 0, signal: null }, `${b} stops cleanly`);
    broker(b);
    await allNodesLog(['event=shard_up', `broker=${brokerId(b)}`], since, `${b} up after its restart`);
    await sleep(1000);
  }
  timings.rolling = { detect_ms: 0 };

  // kill: b0 dies; b2 is left alone
  t0 = await phase('kill');
  kill(procs.b0);
  const dead = await allNodesLog(['event=shard_down', `broker=${brokerId('b0')}`], t0, 'b0 down');
  timings.kill = { detect_ms: Math.max(...dead) - t0 };
  await sleep(3000);
  await phase('alone');
  await sleep(2000);

  // back: the killed broker returns; then the other one dies, and it serves alone
  t0 = await phase('back');
  broker('b0');
  const back = await allNodesLog(['event=shard_up', `broker=${brokerId('b0')}`], t0, 'b0 up after its restart');
  timings.back = { detect_ms: Math.max(...back) - t0 };
  await sleep(1500);
  t0 = await phase('kill2');
  kill(procs.b2);
  const dead2 = await allNodesLog(['event=shard_down', `broker=${brokerId('b2')}`], t0, 'b2 down');
  timings.kill2 = { detect_ms: Math.max(...dead2) - t0 };
  await sleep(3000);

  const result = await h.endLoad();
  if (timings.partition) console.log(`# partition healed: b1 heard again by every node after ${timings.partition.rejoin_ms} ms`);
  checkReport(result, timings);
  const rolling = result.report.find((r) => r.phase === 'rolling');
  assert.deepEqual(rolling.refused, {}, 'a rolling SIGTERM restart refuses nothing');
  const alone = result.report.find((r) => r.phase === 'alone');
  assert.ok(alone.published > 50, 'b2 alone: publishing went on');
  assert.equal(alone.acked, alone.published, 'b2 alone serves every channel');
  const returned = result.report.find((r) => r.phase === 'back');
  assert.deepEqual(returned.refused, {}, 'a returning broker takes its share back without a refusal');
});

test('multi-host: the broker set follows DNS (a StatefulSet behind a headless Service) under load', { skip: skip || false, timeout: 120000 }, async (t) => {
  const name = (b) => `broker-${b.slice(1)}.brokers.mesh`;
  const names = (bs) => Object.fromEntries(bs.map((b) => [HOSTS[b], [name(b), 'brokers.mesh']]));
  const h = harness(t, HOSTS, names(['b0', 'b1']));
  const id = (b) => `tcp://${name(b)}:7000`;
  const dns = 'dns://brokers.mesh:7000';
  const broker = (b) => h.start(b, process.env.RTMESH_BROKER_BIN, ['--self', id(b), '--brokers', dns, '--bind', HOSTS[b]]);
  const node = (n) => h.node(n, ['--brokers', dns]);
  broker('b0');
  broker('b1');
  node('n0');
  node('n1');
  await h.startLoadWhenRouted('c', NODES, [id('b0'), id('b1')]); // identities: the reverse names
  const timings = {};

  // scale up: broker-2 starts, then its address joins the Service name
  let t0 = await h.phase('scale-up');
  broker('b2');
  await waitLog(h.procs.b2, ['event=start'], t0, 'b2 to start'); // unlisted: owns nothing yet
  h.net.writeHosts(names(['b0', 'b1', 'b2']));
  await waitLog(h.procs.b2, ['event=broker_listed', `broker=${id('b2')}`], t0, 'b2 to find itself listed');
  const seen = await h.nodesLog(NODES, ['event=shard_up', `broker=${id('b2')}`], t0, 'broker-2 up');
  timings['scale-up'] = { detect_ms: Math.max(...seen) - t0 };
  await sleep(1500);

  // scale down: as Kubernetes does it, broker-1 leaves the Service's answer and gets SIGTERM
  // together; it says it is leaving, so nodes move its channels before their DNS tells them
  t0 = await h.phase('scale-down');
  h.net.writeHosts(names(['b0', 'b2']));
  const stopped = stop(h.procs.b1);
  h.procs.n0.child.kill('SIGHUP'); // with dns://, SIGHUP resolves at once (n1 waits for its period)
  const gone = await h.nodesLog(NODES, ['event=broker_unlisted', `broker=${id('b1')}`], t0, 'broker-1 unlisted');
  timings['scale-down'] = { detect_ms: Math.max(...gone) - t0 };
  assert.deepEqual(await stopped, { code: 0, signal: null }, 'broker-1 stops cleanly');
  await sleep(1500);
  checkReport(await h.endLoad(), timings);
});
