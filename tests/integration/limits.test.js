'use strict';
// Limits on what one stranger can make a node hold (issue "Hardening"): the handshake timeout
// (silent and slow-loris peers), the request head's size and header count, channels per
// connection (a subscribe flood), and the Pusher protocol version. After each, another client
// is still served end to end, and the harness checks that every process is alive and clean.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, connectClient, openTcp, openWebSocket, publish, errorCount, waitUntil, uniqueChannel, httpRequest, sleep } = require('../lib/mesh');

const HANDSHAKE_S = 1;
const IDLE_S = 1;
const MAX_CHANNELS = 5;
const mesh = useMesh({
  shards: 1,
  nodes: 1,
  workers: 2,
  env: {
    RTMESH_HANDSHAKE_TIMEOUT: String(HANDSHAKE_S),
    RTMESH_HTTP_IDLE_TIMEOUT: String(IDLE_S),
    RTMESH_MAX_CHANNELS_PER_CONNECTION: String(MAX_CHANNELS),
  },
});
const port = () => mesh().nodePort(0);

const errorsOf = (kind) => errorCount(port(), kind);

// A fresh client subscribes and receives a publish: the node still serves others.
async function stillServes(t) {
  const ws = await connectClient(port());
  t.after(() => ws.destroy());
  const channel = uniqueChannel('alive');
  const reply = await ws.subscribe(channel);
  assert.equal(reply.event, 'pusher_internal:subscription_succeeded');
  await publish(port(), { name: 'ping', channels: [channel], data: 'x' });
  await ws.waitForEvent('ping', { channel });
}

test('connections that never finish their request are closed after the handshake timeout', async (t) => {
  const before = await errorsOf('handshake_timeout');
  const silent = [];
  for (let i = 0; i < 50; i++) {
    const c = openTcp(port());
    await c.connected;
    c.socket.write('GET /app/'); // and nothing more
    silent.push(c);
  }
  // a slow loris: one byte of header every 200 ms keeps the socket busy but never ends the head
  const loris = openTcp(port());
  await loris.connected;
  loris.socket.write('GET /app/app-key HTTP/1.1\r\nHost: x\r\n');
  const drip = setInterval(() => loris.socket.writable && loris.socket.write('X'), 200);
  t.after(() => clearInterval(drip));
  const started = Date.now();
  await Promise.all([...silent, loris].map((c) => c.waitForClose((HANDSHAKE_S + 5) * 1000)));
  console.log(`# 51 unfinished handshakes closed after ${Date.now() - started} ms (timeout ${HANDSHAKE_S} s)`);
  assert.ok((await errorsOf('handshake_timeout')) >= before + 51);
  await stillServes(t);
});

test('an idle HTTP keep-alive connection is closed after the idle timeout, a busy one is not', async (t) => {
  const before = await errorsOf('http_idle_timeout');
  const c = openTcp(port());
  await c.connected;
  const ask = () => c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
  // busy: a request every 400 ms for 2.5 s keeps it open past the idle timeout
  for (let i = 0; i < 6; i++) {
    const had = c.received.length;
    ask();
    await waitUntil(() => c.received.length > had, 'an answer on the kept-alive connection');
    await sleep(400);
  }
  assert.equal(c.socket.destroyed, false, 'a busy keep-alive connection was closed');
  const started = Date.now();
  await c.waitForClose((IDLE_S + 5) * 1000);
  console.log(`# idle keep-alive connection closed ${Date.now() - started} ms after its last request (timeout ${IDLE_S} s)`);
  assert.equal(await errorsOf('http_idle_timeout'), before + 1);
  await stillServes(t);
});

test('a request head over the size or header-count limit is refused with 431', async (t) => {
  const before = await errorsOf('header_limit');
  const many = {};
  for (let i = 0; i < 70; i++) many[`X-H${i}`] = 'v';
  const res = await httpRequest(port(), { path: '/healthz', headers: many });
  assert.equal(res.status, 431);
  assert.match(res.text, /Too many request header fields/);
  const big = await httpRequest(port(), { path: '/healthz', headers: { 'X-Big': 'b'.repeat(9000) } });
  assert.equal(big.status, 431);
  const fits = await httpRequest(port(), { path: '/healthz', headers: { 'X-Big': 'b'.repeat(7000) } });
  assert.equal(fits.status, 200);
  assert.equal(await errorsOf('header_limit'), before + 2);
  await stillServes(t);
});

test('channels per connection: the subscribe over the limit is refused, the connection stays usable', async (t) => {
  const before = await errorsOf('channel_limit');
  const ws = await connectClient(port());
  t.after(() => ws.destroy());
  const channels = [];
  for (let i = 0; i < MAX_CHANNELS; i++) {
    channels.push(uniqueChannel(`lim${i}`));
    assert.equal((await ws.subscribe(channels[i])).event, 'pusher_internal:subscription_succeeded');
  }
  const over = uniqueChannel('over');
  const refusal = ws.inbox.next((m) => m.json && m.json.event === 'pusher:subscription_error' && m.json.channel === over, 'subscription_error');
  const reply = await ws.subscribe(over);
  assert.equal(reply.event, 'pusher:error');
  const err = (await refusal).json;
  assert.equal(err.data.type, 'LimitReached');
  // a flood of subscribes holds nothing more
  for (let i = 0; i < 2000; i++) ws.send({ event: 'pusher:subscribe', data: { channel: `flood-${i}` } });
  await ws.sync();
  assert.ok((await errorsOf('channel_limit')) >= before + 2001);
  await publish(port(), { name: 'still', channels: [channels[0]], data: 'y' });
  await ws.waitForEvent('still', { channel: channels[0] });
  await stillServes(t);
});

test('the protocol version: malformed is 4006, unsupported is 4007, 7 and none are accepted', async (t) => {
  for (const [query, code] of [['?protocol=abc', 4006], ['?protocol=7x', 4006], ['?protocol=3', 4007], ['?protocol=99', 4007]]) {
    const ws = await openWebSocket(port(), { path: `/app/app-key${query}` });
    t.after(() => ws.destroy());
    assert.equal(ws.status, 101);
    const msg = await ws.nextMessage();
    assert.equal(msg.event, 'pusher:error', query);
    assert.equal(JSON.parse(typeof msg.data === 'string' ? msg.data : JSON.stringify(msg.data)).code, code, query);
    const close = await ws.waitForClose();
    assert.equal(close.code, code, query);
  }
  for (const query of ['?protocol=7&client=js', '', '?client=js']) {
    const ws = await connectClient(port(), { path: `/app/app-key${query}` });
    ws.destroy();
  }
  assert.ok((await errorsOf('bad_protocol_version')) >= 4);
  await sleep(0);
});
