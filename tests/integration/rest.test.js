'use strict';
// The Pusher HTTP API on the node's port (reference §5): publishing, request signing, limits,
// and error replies. Requests are signed by tests/lib/rest.js, which is first checked against
// the docs' worked example so a signing bug in the helper cannot pass for a server bug.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { useMesh, restRequest, triggerEvent, triggerBatch, signRequest, connectClient, uniqueChannel, APP } = require('../lib/mesh');

const mesh = useMesh({ shards: 2, nodes: 2, workers: 2 });
const port = () => mesh().nodePort(0);

function event(overrides = {}) {
  return { name: 'rest-test', channels: [uniqueChannel('rest')], data: '{"hello":"world"}', ...overrides };
}

// A refusal: the expected status and a JSON body with an "error" string.
function assertError(res, status, what) {
  assert.equal(res.status, status, `${what}: HTTP ${res.status} ${res.text}`);
  const error = res.json && res.json.error;
  assert.ok(typeof error === 'string' && error.length > 0, `${what}: body ${JSON.stringify(res.text)} needs an "error" string`);
}

test('the signing helper reproduces the Pusher docs example (reference §5.3)', () => {
  const { params, stringToSign } = signRequest({
    method: 'POST',
    path: '/apps/3/events',
    body: '{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}',
    key: '278d425bdf160c739803',
    secret: '7ad3773142a6692b25b8',
    timestamp: 1353088179,
  });
  assert.equal(params.body_md5, 'ec365a775a4cd0599faeb73354201b6f');
  assert.equal(stringToSign, 'POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f');
  assert.equal(params.auth_signature, 'da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c');
});

test('POST /events with a correct signature is answered 200 {}', async () => {
  for (const node of [0, 1]) {
    const res = await triggerEvent(mesh().nodePort(node), event());
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, {});
  }
  // "channel" (single) is accepted as well as "channels".
  const single = event();
  const res = await triggerEvent(port(), { name: single.name, channel: single.channels[0], data: single.data });
  assert.equal(res.status, 200, res.text);
});

test('POST /batch_events with a correct signature is answered 200 {}', async () => {
  const batch = [1, 2, 3].map((i) => ({ channel: uniqueChannel('batch'), name: `b${i}`, data: String(i) }));
  const res = await triggerBatch(port(), batch);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, {});
});

test('published events are delivered, including every event of a batch', async (t) => {
  const ws = await connectClient(mesh().nodePort(1));
  t.after(() => ws.destroy());
  const channels = [uniqueChannel('deliver'), uniqueChannel('deliver')];
  for (const c of channels) await ws.subscribe(c);
  const res = await triggerBatch(port(), [
    { channel: channels[0], name: 'first', data: 'one' },
    { channel: channels[1], name: 'second', data: '{"two":2}' },
    { channel: channels[0], name: 'third', data: 'three' },
  ]);
  assert.equal(res.status, 200, res.text);
  assert.equal((await ws.waitForEvent('first', { channel: channels[0] })).data, 'one');
  assert.equal((await ws.waitForEvent('second', { channel: channels[1] })).data, '{"two":2}');
  assert.equal((await ws.waitForEvent('third', { channel: channels[0] })).data, 'three');
});

// Raw signed POST /events requests, keep-alive, for writing several at once.
function rawPublish(channel, name, data) {
  const path = `/apps/${APP.id}/events`;
  const body = JSON.stringify({ name, channels: [channel], data });
  const qs = new URLSearchParams(signRequest({ method: 'POST', path, body }).params).toString();
  return `POST ${path}?${qs} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

// A node reads on while a REST request waits for its shards, and stops reading only once
// 64 KiB of pipelined requests wait behind it: both a small and a large pipelined burst on one
// connection must be answered whole, in order, and their events delivered in order.
test('pipelined publishes on one connection are all answered and delivered in order', async (t) => {
  const ws = await connectClient(mesh().nodePort(1));
  t.after(() => ws.destroy());
  const channel = uniqueChannel('pipelined');
  await ws.subscribe(channel);
  const sock = net.connect(port(), '127.0.0.1');
  t.after(() => sock.destroy());
  await new Promise((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  let received = '';
  sock.on('data', (d) => { received += d.toString('latin1'); });
  const answers = () => (received.match(/HTTP\/1\.1 \d{3}/g) || []);
  const pad = 'x'.repeat(1500);
  let sent = 0;
  for (const burst of [10, 120]) { // 120 requests of ~1.8 KB: over 200 KiB in one write
    const first = sent;
    sock.write(Array.from({ length: burst }, (_, i) => rawPublish(channel, 'seq', `${first + i} ${pad}`)).join(''));
    sent += burst;
    const deadline = Date.now() + 15000;
    while (answers().length < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(answers().length, sent, `answers to ${sent} pipelined publishes`);
  }
  assert.deepEqual([...new Set(answers())], ['HTTP/1.1 200']);
  for (let i = 0; i < sent; i++) {
    const ev = await ws.waitForEvent('seq', { channel });
    assert.equal(ev.data, `${i} ${pad}`, `event ${i} in order`);
  }
});

test('a wrong signature is refused with 401', async () => {
  const cases = {
    'wrong secret': { secret: 'not-the-secret' },
    'wrong key': { key: 'not-the-key' },
    'signature altered': { tamper: (p) => ({ ...p, auth_signature: p.auth_signature.replace(/^./, (c) => (c === '0' ? '1' : '0')) }) },
    'signature missing': { tamper: ({ auth_signature: _, ...p }) => p },
    'no auth parameters': { sign: false },
    'body_md5 of another body': { tamper: (p) => ({ ...p, body_md5: '0'.repeat(32) }) },
    'auth_version not 1.0': { tamper: (p) => ({ ...p, auth_version: '2.0' }) },
    'signed for another path': { signPath: `/apps/${APP.id}/batch_events` },
  };
  for (const [what, opts] of Object.entries(cases)) {
    assertError(await triggerEvent(port(), event(), opts), 401, what);
  }
  // A body changed after signing (same query string, different bytes) is refused too.
  const body = JSON.stringify(event());
  const path = `/apps/${APP.id}/events`;
  const signed = signRequest({ method: 'POST', path, body });
  const tampered = body.replace('world', 'w0rld');
  const res = await restRequest(port(), { path, body: tampered, sign: false, query: signed.params });
  assertError(res, 401, 'body altered after signing');
});

test('a refusal quoting a hostile request stays well-formed JSON', async () => {
  // The "Invalid signature" message quotes the string to sign, which holds the client's own
  // query values; control characters there grow sixfold when escaped into the JSON body.
  const hostile = '\u0001'.repeat(900);
  const res = await triggerEvent(port(), event(), { secret: 'not-the-secret', query: { hostile } });
  assertError(res, 401, 'wrong secret with a hostile query value');
  assert.ok(res.json.error.startsWith('Invalid signature'), res.json.error.slice(0, 80));
});

test('an expired or future timestamp is refused with 401', async () => {
  const now = Math.floor(Date.now() / 1000);
  for (const timestamp of [now - 1200, now + 1200, 0]) {
    assertError(await triggerEvent(port(), event(), { timestamp }), 401, `timestamp ${timestamp}`);
  }
  // Within the 600 s window is fine.
  assert.equal((await triggerEvent(port(), event(), { timestamp: now - 300 })).status, 200);
});

test('an unknown app id is answered 404', async () => {
  const unknown = { appId: 'no-such-app' };
  assertError(await triggerEvent(port(), event(), unknown), 404, 'unknown app on /events');
  assertError(await triggerBatch(port(), [{ channel: 'c', name: 'n', data: 'd' }], unknown), 404, 'unknown app on /batch_events');
});

test('an unknown path is answered 404', async () => {
  const res = await restRequest(port(), { path: `/apps/${APP.id}/no-such-endpoint`, body: {} });
  assert.equal(res.status, 404, res.text);
});

test('event data over 10 KB is refused with 413', async () => {
  assertError(await triggerEvent(port(), event({ data: 'x'.repeat(20 * 1024) })), 413, '20 KB event');
  assertError(
    await triggerBatch(port(), [
      { channel: 'ok-channel', name: 'small', data: 'x' },
      { channel: 'ok-channel', name: 'big', data: 'y'.repeat(20 * 1024) },
    ]),
    413,
    'batch with one 20 KB event',
  );
  // Well under the limit is accepted.
  assert.equal((await triggerEvent(port(), event({ data: 'z'.repeat(8 * 1024) }))).status, 200);
});

test('more than 100 channels in one event is refused with 400', async () => {
  const channels = (n) => Array.from({ length: n }, (_, i) => `many-${i}`);
  assertError(await triggerEvent(port(), event({ channels: channels(101) })), 400, '101 channels');
  assert.equal((await triggerEvent(port(), event({ channels: channels(100) }))).status, 200, '100 channels is the limit');
});

test('more than 10 events in one batch is refused with 400', async () => {
  const batch = (n) => Array.from({ length: n }, (_, i) => ({ channel: `batch-${i}`, name: 'e', data: String(i) }));
  assertError(await triggerBatch(port(), batch(11)), 400, '11 events');
  assert.equal((await triggerBatch(port(), batch(10))).status, 200, '10 events is the limit');
});

test('a malformed body is refused with 400', async () => {
  const path = `/apps/${APP.id}/events`;
  const bodies = {
    'not JSON': '{"name":"e","channels":["c"],',
    'JSON array': '[]',
    'no name': JSON.stringify({ channels: ['c'], data: 'd' }),
    'no channels': JSON.stringify({ name: 'e', data: 'd' }),
    'channels not an array': JSON.stringify({ name: 'e', channels: 'c', data: 'd' }),
    'invalid channel name': JSON.stringify({ name: 'e', channels: ['bad channel'], data: 'd' }),
  };
  for (const [what, body] of Object.entries(bodies)) {
    assertError(await restRequest(port(), { path, body }), 400, what);
  }
  assertError(await restRequest(port(), { path: `/apps/${APP.id}/batch_events`, body: '{"batch":' }), 400, 'batch not JSON');
  assertError(await restRequest(port(), { path: `/apps/${APP.id}/batch_events`, body: { batch: 'nope' } }), 400, 'batch not an array');
});
