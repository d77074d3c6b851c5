'use strict';
// Out of file descriptors (issue "Hardening"): a node started with a low open-file limit
// (prlimit) is flooded with connections past it. It stops accepting for a moment instead of
// spinning or failing, keeps serving the clients it has, counts the pauses, accepts again once
// descriptors are free, and exits cleanly.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const net = require('node:net');
const { useMesh, connectClient, openTcp, publish, errorCount, waitUntil, uniqueChannel, httpGet } = require('../lib/mesh');

const NOFILE = 64;
const mesh = useMesh({ shards: 1, nodes: 1, workers: 1 });

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

test('at EMFILE the node pauses accepting, serves its clients, and resumes', async (t) => {
  const port = await freePort();
  const args = ['--nofile=' + NOFILE + ':' + NOFILE, process.env.RTMESH_NODE_BIN, '--port', String(port), '--brokers', mesh().brokerList, '--workers', '1'];
  const node = spawn('prlimit', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  node.stderr.on('data', (d) => (log += d));
  const exited = new Promise((resolve) => node.on('exit', (code, signal) => resolve({ code, signal })));
  t.after(() => node.kill('SIGKILL'));
  await waitUntil(async () => (await httpGet(port, '/readyz').catch(() => ({ status: 0 }))).status === 200, 'the limited node to be ready');

  const channel = uniqueChannel('emfile');
  const clients = [];
  for (let i = 0; i < 10; i++) {
    const ws = await connectClient(port);
    assert.equal((await ws.subscribe(channel)).event, 'pusher_internal:subscription_succeeded');
    clients.push(ws);
  }
  t.after(() => clients.forEach((ws) => ws.destroy()));
  // flood past the limit: these wait in the backlog once descriptors run out
  const flood = [];
  for (let i = 0; i < NOFILE; i++) {
    const c = openTcp(port);
    await c.connected;
    flood.push(c);
  }
  t.after(() => flood.forEach((c) => c.socket.destroy()));
  await waitUntil(() => /event=accept_paused/.test(log), 'the node to pause accepting');
  // the clients it has are still served (the event comes through the mesh's other node)
  await publish(mesh().nodePort(0), { name: 'during', channels: [channel], data: 'x' });
  for (const ws of clients) await ws.waitForEvent('during', { channel });
  // free descriptors: it accepts again
  for (const c of flood) c.socket.destroy();
  const late = await waitUntil(async () => connectClient(port).catch(() => null), 'a new connection after the flood');
  late.destroy();
  const paused = await errorCount(port, 'accept_paused');
  console.log(`# accept paused ${paused} times at ${NOFILE} open files; ${clients.length} clients served throughout`);
  assert.ok(paused >= 1);
  assert.match(log, /event=nofile binary=rtmesh-node soft_was=64 soft=64 hard=64/);
  node.kill('SIGTERM');
  const exit = await exited;
  assert.deepEqual(exit, { code: 0, signal: null }, log.slice(-2000));
  assert.doesNotMatch(log, /ERROR: (Address|Leak)Sanitizer|runtime error:/);
});
