'use strict';
// permessage-deflate (RFC 7692) on the 2-node mesh: what the handshake answers to offers, that a
// broadcast reaches clients that negotiated it compressed and the others plain (the same event,
// one compression per worker), that the `ws` package with and without perMessageDeflate gets
// every event, that compressed client messages are inflated, and what happens to a compression
// bomb and to malformed compressed frames (closed, counted, nobody else disturbed).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const {
  APP, HOST, OP, RSV1, useMesh, startMesh, connectClient, openWebSocket, deflateMessage, publish,
  uniqueChannel, getMetrics, metricSum, errorCount, waitUntil,
} = require('../lib/mesh');

const ACCEPTED = 'permessage-deflate; server_no_context_takeover; client_no_context_takeover';
const PLAIN_APP = { id: 'plain-app', key: 'plain-key', secret: 'plain-secret', compression: false };
const mesh = useMesh({ shards: 2, nodes: 2, workers: 2, apps: [APP, PLAIN_APP] });

// A dashboard update of about 2 KB, repetitive as such JSON is.
function dashboardData() {
  const metrics = [];
  for (let i = 0; metrics.length < 24; i++) {
    metrics.push({ name: `http_requests_${i}`, value: 1000 + i * 37.25, unit: 'req/s', trend: i % 3 ? 'up' : 'down', p95: 20 + i * 3 });
  }
  return JSON.stringify({ ts: 1733500000123, host: 'web-17', metrics });
}

async function raw(t, node, opts = {}) {
  const ws = await connectClient(mesh().nodePort(node), opts);
  t.after(() => ws.destroy());
  return ws;
}

// A `ws` package client subscribed to channel; resolves once subscribed.
async function wsClient(t, node, channel, perMessageDeflate) {
  const url = `ws://${HOST}:${mesh().nodePort(node)}/app/${APP.key}?protocol=7&client=js&version=8.6.0`;
  const ws = new WebSocket(url, { perMessageDeflate });
  t.after(() => ws.terminate());
  const events = [];
  ws.on('message', (data) => events.push(JSON.parse(data.toString('utf8'))));
  const next = async (pred, what) => {
    await waitUntil(() => events.some(pred), what);
    return events.find(pred);
  };
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  await next((m) => m.event === 'pusher:connection_established', 'connection_established');
  ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel } }));
  await next((m) => m.event === 'pusher_internal:subscription_succeeded', `subscribed to ${channel}`);
  return { ws, next };
}

async function nodeCounter(node, name) {
  return metricSum((await getMetrics(mesh().nodePort(node))).samples, name) ?? 0;
}

test('the handshake accepts permessage-deflate offers as RFC 7692 says, and declines the rest', async (t) => {
  const cases = [
    ['permessage-deflate', ACCEPTED], // Firefox, Safari
    ['permessage-deflate; client_max_window_bits', ACCEPTED], // Chromium, ws
    ['permessage-deflate; server_max_window_bits=10, permessage-deflate', ACCEPTED], // fallback
    ['permessage-deflate; server_max_window_bits=10', undefined], // a smaller window: declined
    ['permessage-deflate; mystery=1', undefined], // unknown parameter
    ['permessage-deflate; client_no_context_takeover; client_no_context_takeover', undefined],
    ['x-webkit-deflate-frame', undefined],
  ];
  for (const [offer, want] of cases) {
    const ws = await openWebSocket(mesh().nodePort(0), { headers: { 'Sec-WebSocket-Extensions': offer } });
    t.after(() => ws.destroy());
    assert.equal(ws.status, 101, offer);
    assert.equal(ws.headers['sec-websocket-extensions'], want, offer);
  }
  const plainApp = await openWebSocket(mesh().nodePort(0), { path: `/app/${PLAIN_APP.key}?protocol=7`, deflate: true });
  t.after(() => plainApp.destroy());
  assert.equal(plainApp.headers['sec-websocket-extensions'], undefined, 'an app with "compression": false');
});

test('one broadcast: compressed to clients that negotiated it, plain to the others, the same event to all', async (t) => {
  const channel = uniqueChannel('dash');
  const deflated = [await raw(t, 0, { deflate: true }), await raw(t, 1, { deflate: true })];
  const plain = [await raw(t, 0), await raw(t, 1)];
  for (const ws of [...deflated, ...plain]) assert.equal((await ws.subscribe(channel)).event, 'pusher_internal:subscription_succeeded');
  const viaWs = await wsClient(t, 1, channel, true);
  const viaWsPlain = await wsClient(t, 0, channel, false);
  assert.equal(viaWs.ws.extensions, 'permessage-deflate');
  assert.equal(viaWsPlain.ws.extensions, '');

  const before = await Promise.all([0, 1].map((n) => nodeCounter(n, 'rtmesh_deflated_out_total')));
  const data = dashboardData();
  assert.ok(data.length > 1800, `a dashboard event of ${data.length} bytes`);
  await publish(mesh().nodePort(1), { name: 'update', channels: [channel], data });
  const got = await Promise.all([...deflated, ...plain].map((ws) => ws.waitForFrame((m) => m.json && m.json.event === 'update', 'update')));
  for (const m of got) assert.equal(m.json.data, data);
  assert.deepEqual(got.map((m) => m.compressed), [true, true, false, false]);
  for (const c of [viaWs, viaWsPlain]) assert.equal((await c.next((m) => m.event === 'update', 'update via ws')).data, data);
  for (const ws of [...deflated, ...plain]) assert.deepEqual(ws.violations, []);
  // node 0 wrote one compressed delivery, node 1 two (the raw client and the ws one)
  await waitUntil(async () => (await nodeCounter(0, 'rtmesh_deflated_out_total')) === before[0] + 1, 'node 0 counts 1');
  await waitUntil(async () => (await nodeCounter(1, 'rtmesh_deflated_out_total')) === before[1] + 2, 'node 1 counts 2');
  const { samples } = await getMetrics(mesh().nodePort(0));
  assert.ok(metricSum(samples, 'rtmesh_deflate_out_bytes_total') * 3 < metricSum(samples, 'rtmesh_deflate_in_bytes_total'), 'a third or less');
});

test('a 200 B chat event is compressed; one under the threshold is sent plain', async (t) => {
  const channel = uniqueChannel('chat');
  const ws = await raw(t, 0, { deflate: true });
  await ws.subscribe(channel);
  const chat = JSON.stringify({ user: 'alice', text: 'see you at the standup in five minutes, bring the numbers', ts: 1733500000123 });
  await publish(mesh().nodePort(1), { name: 'message', channels: [channel], data: chat });
  const m = await ws.waitForFrame((f) => f.json && f.json.event === 'message', 'chat message');
  assert.ok(m.text.length >= 128 && m.text.length < 300, `${m.text.length} bytes`);
  assert.equal(m.compressed, true);
  await publish(mesh().nodePort(1), { name: 'tiny', channels: [channel], data: '1' });
  assert.equal((await ws.waitForFrame((f) => f.json && f.json.event === 'tiny', 'tiny')).compressed, false);
});

test('client messages the ws package compresses are inflated (subscribe, ping)', async (t) => {
  const channel = uniqueChannel('client-deflate');
  const c = await wsClient(t, 0, channel, { threshold: 0 }); // compresses every message
  assert.equal(c.ws.extensions, 'permessage-deflate'); // so the subscribe went compressed
  c.ws.send(JSON.stringify({ event: 'pusher:ping', data: {} }));
  await c.next((m) => m.event === 'pusher:pong', 'pong');
  const before = await nodeCounter(0, 'rtmesh_deflated_out_total');
  await publish(mesh().nodePort(1), { name: 'after', channels: [channel], data: dashboardData() });
  await c.next((m) => m.event === 'after', 'the event');
  await waitUntil(async () => (await nodeCounter(0, 'rtmesh_deflated_out_total')) > before, 'compressed delivery');
});

// Sends frames on a fresh connection to node 0 and expects the close code; the error kind counts.
async function expectClose(t, { deflate, frames, code, kind }) {
  const ws = await raw(t, 0, { deflate });
  const before = await errorCount(mesh().nodePort(0), kind);
  for (const f of frames) ws.sendFrame(f);
  const close = await ws.waitForClose();
  assert.equal(close && close.code, code);
  await waitUntil(async () => (await errorCount(mesh().nodePort(0), kind)) === before + 1, `${kind} counted`);
}

test('a compression bomb is closed with 1009 and counted; the node serves the others', async (t) => {
  const bomb = deflateMessage(Buffer.alloc(1 << 20, 0x20)); // 1 MiB of spaces in about 1 KB
  assert.ok(bomb.length < 2048);
  await expectClose(t, { deflate: true, frames: [{ opcode: OP.TEXT, rsv: RSV1, payload: bomb }], code: 1009, kind: 'inflate_limit' });
  // the same bomb in fragments
  const half = bomb.length >> 1;
  await expectClose(t, {
    deflate: true,
    frames: [
      { opcode: OP.TEXT, rsv: RSV1, fin: false, payload: bomb.subarray(0, half) },
      { opcode: OP.CONT, payload: bomb.subarray(half) },
    ],
    code: 1009,
    kind: 'inflate_limit',
  });
  const other = await raw(t, 0, { deflate: true });
  const channel = uniqueChannel('after-bomb');
  assert.equal((await other.subscribe(channel)).event, 'pusher_internal:subscription_succeeded');
});

test('malformed compressed frames are closed with the RFC code and counted', async (t) => {
  const ping = JSON.stringify({ event: 'pusher:ping', data: {} });
  // RSV1 on a connection that did not negotiate permessage-deflate: RFC 6455 5.2, 1002
  await expectClose(t, { deflate: false, frames: [{ opcode: OP.TEXT, rsv: RSV1, payload: deflateMessage(ping) }], code: 1002, kind: 'bad_deflate' });
  // data that does not inflate (a reserved block type): 1007
  await expectClose(t, { deflate: true, frames: [{ opcode: OP.TEXT, rsv: RSV1, payload: Buffer.from([0xff, 0xff, 0xff]) }], code: 1007, kind: 'bad_deflate' });
  // RSV1 on a continuation frame: only a message's first frame may carry it, 1002
  await expectClose(t, {
    deflate: true,
    frames: [
      { opcode: OP.TEXT, fin: false, payload: ping.slice(0, 5) },
      { opcode: OP.CONT, rsv: RSV1, payload: ping.slice(5) },
    ],
    code: 1002,
    kind: 'bad_frame',
  });
  // a well-formed compressed message is answered
  const ok = await raw(t, 0, { deflate: true });
  ok.sendFrame({ opcode: OP.TEXT, rsv: RSV1, payload: deflateMessage(ping) });
  await ok.waitForEvent('pusher:pong');
});

test('a node started with --compression 0 declines every offer', async () => {
  const off = await startMesh({ shards: 1, nodes: 1, workers: 1, nodeEnv: { RTMESH_COMPRESSION: '0' } });
  try {
    const ws = await openWebSocket(off.nodePort(0), { deflate: true });
    assert.equal(ws.status, 101);
    assert.equal(ws.headers['sec-websocket-extensions'], undefined);
    ws.destroy();
  } finally {
    await off.stop();
  }
});
