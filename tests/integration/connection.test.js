'use strict';
// The WebSocket handshake and connection-level Pusher protocol of rtmesh-node (reference §1):
// connection_established, app lookup, ping/pong at both levels, fragmented messages.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, connectClient, openWebSocket, OP } = require('../lib/mesh');

const mesh = useMesh({ shards: 2, nodes: 2, workers: 2 });

async function withClient(t, port, opts) {
  const ws = await connectClient(port, opts);
  t.after(() => ws.destroy());
  return ws;
}

test('connection_established comes first with a socket id and an activity timeout', async (t) => {
  const ws = await withClient(t, mesh().nodePort(0));
  assert.match(ws.socketId, /^\d+\.\d+$/);
  assert.equal(typeof ws.activityTimeout, 'number');
  assert.ok(ws.activityTimeout > 0, `activity_timeout ${ws.activityTimeout} must be > 0`);
  assert.deepEqual(ws.violations, []);
});

test('socket ids are unique across connections and nodes', async (t) => {
  const ids = [];
  for (let i = 0; i < 12; i++) {
    const ws = await withClient(t, mesh().nodePort(i % 2));
    ids.push(ws.socketId);
  }
  for (const id of ids) assert.match(id, /^\d+\.\d+$/);
  assert.equal(new Set(ids).size, ids.length, `duplicate socket ids: ${ids.join(' ')}`);
});

test('the query string is optional and unknown parameters are ignored', async (t) => {
  const port = mesh().nodePort(1);
  await withClient(t, port, { path: '/app/app-key' });
  await withClient(t, port, { path: '/app/app-key?protocol=7&client=node&version=1.0&flash=false&whatever=1' });
});

test('an unknown app key gets pusher:error 4001 and close code 4001', async (t) => {
  const ws = await openWebSocket(mesh().nodePort(0), { path: '/app/no-such-key?protocol=7' });
  t.after(() => ws.destroy());
  assert.equal(ws.status, 101, 'the upgrade succeeds; the refusal is in-protocol');
  const err = await ws.waitForEvent('pusher:error');
  assert.equal(err.data.code, 4001);
  assert.equal(typeof err.data.message, 'string');
  const close = await ws.waitForClose();
  assert.equal(close && close.code, 4001);
});

test('a path that is not /app/{key} is answered 404 without an upgrade', async (t) => {
  for (const path of ['/', '/ws/app-key', '/application/app-key', '/app/app-key/extra']) {
    const ws = await openWebSocket(mesh().nodePort(0), { path });
    t.after(() => ws.destroy());
    assert.equal(ws.status, 404, `GET ${path} upgrade`);
  }
});

test('pusher:ping is answered with pusher:pong', async (t) => {
  const ws = await withClient(t, mesh().nodePort(0));
  ws.send({ event: 'pusher:ping', data: {} });
  const pong = await ws.nextMessage();
  assert.deepEqual(pong, { event: 'pusher:pong', data: {} });
});

test('a WebSocket ping frame is answered with a pong frame carrying the same payload', async (t) => {
  const ws = await withClient(t, mesh().nodePort(1));
  for (const payload of [Buffer.alloc(0), Buffer.from('hello'), Buffer.alloc(125, 0xab)]) {
    ws.sendFrame({ opcode: OP.PING, payload });
    const pong = await ws.waitForFrame((f) => f.type === 'pong', 'a pong frame');
    assert.deepEqual(pong.data, payload);
  }
  // The connection is still fully usable afterwards.
  await ws.sync();
});

test('a message split into continuation frames is reassembled', async (t) => {
  const ws = await withClient(t, mesh().nodePort(0));
  const text = JSON.stringify({ event: 'pusher:subscribe', data: { auth: '', channel: 'fragmented-channel' } });
  const cut = [0, 5, 17, text.length];
  for (let i = 0; i + 1 < cut.length; i++) {
    const opcode = i === 0 ? OP.TEXT : OP.CONT;
    ws.sendFrame({ opcode, payload: text.slice(cut[i], cut[i + 1]), fin: i + 2 === cut.length });
    // A control frame may sit between fragments.
    if (i === 0) ws.sendFrame({ opcode: OP.PING, payload: 'mid' });
  }
  const ok = await ws.waitForEvent('pusher_internal:subscription_succeeded', { channel: 'fragmented-channel' });
  assert.equal(ok.data, '{}');
});

test('a client close frame is answered with a close frame', async (t) => {
  const ws = await withClient(t, mesh().nodePort(1));
  await ws.close(1000);
  assert.ok(ws.closeFrame, 'server sent a close frame');
  assert.equal(ws.closeFrame.code, 1000);
});
