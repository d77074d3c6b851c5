'use strict';
// Hostile bytes on a broker's ports (issue "Hardening"): wrong frame counts, random bytes,
// truncated and huge MessagePack, unknown and broker-to-node types, valid messages for an
// unknown app, floods of counts and subscriptions, and raw non-ZMTP TCP. The broker keeps
// serving both nodes, counts what reached it, and stops cleanly.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFile } = require('node:child_process');
const { useMesh, connectClient, publish, uniqueChannel, killProcess, restartProcess, waitUntil, APP } = require('../lib/mesh');

const mesh = useMesh({ shards: 2, nodes: 2, workers: 1 });
const TOOL = path.join(path.dirname(process.env.RTMESH_NODE_BIN), '..', 'tests', 'broker_hostile');

function run(file, args) {
  return new Promise((resolve, reject) =>
    execFile(file, args, { timeout: 60000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );
}

// Every node delivers events of channels on both shards.
async function meshDelivers(t) {
  for (const node of [0, 1]) {
    const ws = await connectClient(mesh().nodePort(node));
    t.after(() => ws.destroy());
    const channels = [0, 1, 2, 3, 4, 5].map((i) => uniqueChannel(`h${i}`));
    for (const c of channels) assert.equal((await ws.subscribe(c)).event, 'pusher_internal:subscription_succeeded');
    await publish(mesh().nodePort(1 - node), { name: 'after', channels, data: 'x' });
    for (const c of channels) await ws.waitForEvent('after', { channel: c });
  }
}

test('hostile input on ingress and egress neither stops a broker nor disturbs the nodes', async (t) => {
  const [ingress] = mesh().brokerList.split(',');
  const port = Number(ingress.split(':').pop());
  const out = await run(TOOL, [ingress, `tcp://127.0.0.1:${port + 1}`, APP.id]);
  console.log(out.trim().replace(/^/gm, '# '));
  await meshDelivers(t);
  // what reached the broker was counted: its last counters line says so
  const exit = await killProcess(mesh(), 'broker', 0, 'SIGTERM');
  assert.equal(exit.code, 0);
  const log = mesh().process('broker', 0).log.text;
  const stop = log.split('\n').find((l) => l.includes('event=stop'));
  assert.ok(stop, 'no counters line at stop');
  const num = (k) => Number((stop.match(new RegExp(`\\b${k}=(\\d+)`)) || [])[1]);
  console.log(`# broker 0 at stop: malformed=${num('malformed')} unknown_app=${num('unknown_app')} refused=${num('refused')} records=${num('records')}`);
  assert.ok(num('malformed') >= 200, stop); // empty, multi-frame, random, truncated, huge, types
  assert.ok(num('unknown_app') >= 50, stop);
  await restartProcess(mesh(), 'broker', 0);
  await waitUntil(async () => {
    try {
      await meshDelivers(t);
      return true;
    } catch {
      return false;
    }
  }, 'the restarted broker to serve again');
});
