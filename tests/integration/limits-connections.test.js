'use strict';
// Connections a node holds: in all, and from one client address. Over either limit a new
// connection is closed at accept and counted; a freed slot is usable again; clients from other
// addresses are not disturbed. Sources are other loopback addresses (127.0.x.y).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, connectClient, errorCount, waitUntil } = require('../lib/mesh');

const PER_IP = 3;
const MAX = 40;
const mesh = useMesh({
  shards: 1,
  nodes: 1,
  workers: 2,
  env: { RTMESH_MAX_CONNECTIONS_PER_IP: String(PER_IP), RTMESH_MAX_CONNECTIONS: String(MAX) },
});
const port = () => mesh().nodePort(0);

const errorsOf = (kind) => errorCount(port(), kind);

// Opens a Pusher connection from addr; resolves whether the node kept it (the handshake
// completed: connection_established) or closed it at accept (closed before any answer).
async function holds(addr) {
  try {
    const ws = await connectClient(port(), { localAddress: addr });
    return { close: () => ws.destroy(), kept: true };
  } catch (err) {
    if (!/connection closed before the upgrade response/.test(err.message)) throw err;
    return { close: () => {}, kept: false };
  }
}

test('connections from one address beyond the limit are closed at accept; others are not disturbed', async (t) => {
  const before = await errorsOf('address_connection_limit');
  const held = [];
  t.after(() => held.forEach((h) => h.close()));
  for (let i = 0; i < PER_IP; i++) {
    const h = await holds('127.0.5.1');
    held.push(h);
    assert.ok(h.kept, `connection ${i + 1} of ${PER_IP} from 127.0.5.1 was closed`);
  }
  const over = await holds('127.0.5.1');
  held.push(over);
  assert.equal(over.kept, false, 'the connection over the per-address limit stayed open');
  const other = await holds('127.0.5.2');
  held.push(other);
  assert.ok(other.kept, 'a connection from another address was refused');
  assert.equal(await errorsOf('address_connection_limit'), before + 1);
  // freeing a slot makes room again
  held[0].close();
  await waitUntil(async () => (await holds('127.0.5.1').then((h) => (held.push(h), h.kept))), 'a freed per-address slot to be usable');
  const ws = await connectClient(port());
  ws.destroy();
});

test('connections beyond the node limit are closed at accept until some leave', async (t) => {
  const held = [];
  t.after(() => held.forEach((h) => h.close()));
  const before = await errorsOf('node_connection_limit');
  // fill the node from many addresses (each under its own limit)
  for (let i = 0; held.filter((h) => h.kept).length < MAX && i < MAX * 2; i++) {
    const h = await holds(`127.0.6.${1 + Math.floor(i / PER_IP)}`);
    held.push(h);
  }
  const kept = held.filter((h) => h.kept);
  assert.equal(kept.length, MAX, `held ${kept.length} connections, want ${MAX}`);
  const over = await holds('127.0.7.1');
  held.push(over);
  assert.equal(over.kept, false, 'a connection over the node limit stayed open');
  for (const h of kept.slice(0, 5)) h.close();
  await waitUntil(async () => {
    const h = await holds('127.0.7.2');
    held.push(h);
    return h.kept;
  }, 'a freed node slot to be usable');
  for (const h of held) h.close();
  held.length = 0;
  await waitUntil(async () => (await errorsOf('node_connection_limit').catch(() => -1)) >= before + 1, 'the refusal to be counted');
  const ws = await connectClient(port());
  ws.destroy();
});
