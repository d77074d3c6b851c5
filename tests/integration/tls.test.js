'use strict';
// TLS in the node (--tls-cert/--tls-key, here RTMESH_TLS_*): the official clients over wss://
// and https:// on a 2-node, 2-shard mesh, with a CA the test makes; clear text on the same
// port; the protocol settings (TLS 1.2 and 1.3 only, ALPN http/1.1, resumption); TLS 1.3
// connections offloaded from OpenSSL after their handshake; and hostile handshakes and records,
// each closed and counted.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const https = require('node:https');
const net = require('node:net');
const tls = require('node:tls');
const { spawnSync } = require('node:child_process');
const { useMesh, assertRefusesToStart } = require('../lib/mesh');
const { HOST, uniqueChannel, withTimeout, waitUntil, WAIT_MS } = require('../lib/util');
const { connectPusherJs, subscribe, waitForEvent, serverSdk } = require('../lib/pusher-clients');
const { errorCount, getMetrics, metricSum } = require('../lib/rest');
const { makeTestCa, handshake, pusherJsOverTls } = require('../lib/tls');

const HANDSHAKE_TIMEOUT_S = 2;
const ca = makeTestCa();
const pair = ca.issue('node', 'rtmesh-node');
const mesh = useMesh(
  {
    shards: 2,
    nodes: 2,
    workers: 2,
    nodeEnv: { RTMESH_TLS_CERT: pair.cert, RTMESH_TLS_KEY: pair.key, RTMESH_HANDSHAKE_TIMEOUT: String(HANDSHAKE_TIMEOUT_S) },
  },
  { teardown: () => ca.remove() },
);

// The pusher SDK over https://, trusting the test CA (its agent option: no global change).
const tlsSdk = (port) => serverSdk(port, { useTLS: true, agent: new https.Agent({ ca: fs.readFileSync(ca.caFile) }) });

async function metric(port, name) {
  return metricSum((await getMetrics(port)).samples, name);
}

// Sends bytes on a raw TCP connection and resolves once the node closed it (never ending
// it from our side when keepOpen). Rejects if it stays open past ms.
function sendUntilClosed(port, bytes, { keepOpen = true, ms = WAIT_MS } = {}) {
  const closed = new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port }, () => {
      socket.write(bytes);
      if (!keepOpen) socket.end();
    });
    socket.on('data', () => {}); // an alert, if the node sends one
    socket.on('error', () => {}); // a reset is a close too
    socket.on('close', resolve);
    setTimeout(() => { socket.destroy(); reject(new Error('the node kept the connection open')); }, ms).unref();
  });
  return withTimeout(closed, ms + 1000, 'the node to close the connection');
}

// The bytes of a real ClientHello: what node's TLS client sends first.
function captureClientHello() {
  return new Promise((resolve) => {
    const server = net.createServer((s) => s.once('data', (chunk) => { s.destroy(); server.close(); resolve(chunk); }));
    server.listen(0, HOST, () => {
      const c = tls.connect({ host: HOST, port: server.address().port, servername: 'localhost' });
      c.on('error', () => {});
    });
  });
}

test('a node refuses to start with half a pair or a certificate it cannot load, naming it', () => {
  const node = process.env.RTMESH_NODE_BIN;
  assert.match(assertRefusesToStart(node, ['--tls-cert', pair.cert], 2), /--tls-cert\/RTMESH_TLS_CERT and --tls-key/);
  assert.match(assertRefusesToStart(node, [], 2, { RTMESH_TLS_KEY: pair.key }), /go together/);
  const missing = `${pair.cert}.missing`;
  assert.match(assertRefusesToStart(node, ['--tls-cert', missing, '--tls-key', pair.key], 2), new RegExp(`certificate chain ${missing}`));
  assert.match(assertRefusesToStart(node, ['--tls-cert', ca.caFile, '--tls-key', pair.key], 2), /private key/);
});

test('pusher-js with forceTLS gets what the pusher SDK with useTLS publishes on another node', async (t) => {
  const channel = uniqueChannel('tls');
  const client = await pusherJsOverTls(t, mesh().nodePort(1), ca.caFile, [channel]);
  const res = await tlsSdk(mesh().nodePort(0)).trigger(channel, 'over-tls', { secure: true });
  assert.equal(res.status, 200);
  const got = await client.inbox.next((m) => m.type === 'event' && m.event === 'over-tls', 'the event over wss://');
  assert.deepEqual(got.data, { secure: true });
});

test('the same port still serves clear-text clients', async (t) => {
  const channel = uniqueChannel('plain');
  const plain = await connectPusherJs(mesh().nodePort(0), t);
  const ch = await subscribe(plain, channel);
  const tlsClient = await pusherJsOverTls(t, mesh().nodePort(0), ca.caFile, [channel]);
  const event = waitForEvent(ch, 'both');
  await serverSdk(mesh().nodePort(1)).trigger(channel, 'both', { n: 1 });
  assert.deepEqual(await event, { n: 1 });
  await tlsClient.inbox.next((m) => m.type === 'event' && m.event === 'both', 'the event over wss://');
});

test('TLS 1.3 and 1.2 with ALPN http/1.1, sessions resumed with a ticket', async () => {
  const port = mesh().nodePort(0);
  const resumedBefore = await metric(port, 'rtmesh_tls_resumed_total');
  const handshakesBefore = await metric(port, 'rtmesh_tls_handshakes_total');
  const offloadedBefore = await metric(port, 'rtmesh_tls_offloaded_total');
  const first = await handshake(port, ca.caFile, { ALPNProtocols: ['h2', 'http/1.1'] });
  assert.equal(first.protocol, 'TLSv1.3');
  assert.equal(first.alpn, 'http/1.1');
  assert.equal(first.subjectCn, 'rtmesh-node');
  const again = await handshake(port, ca.caFile, { session: first.session });
  assert.equal(again.reused, true, 'the TLS 1.3 ticket resumes the session');
  const tls12 = await handshake(port, ca.caFile, { maxVersion: 'TLSv1.2' });
  assert.equal(tls12.protocol, 'TLSv1.2');
  const tls12Again = await handshake(port, ca.caFile, { maxVersion: 'TLSv1.2', session: tls12.session });
  assert.equal(tls12Again.reused, true, 'the TLS 1.2 ticket resumes the session');
  // the node counts a handshake once it has read the client's Finished, which can come after
  // the client is done: wait for the count, as for the errors below
  await waitUntil(async () => (await metric(port, 'rtmesh_tls_resumed_total')) >= resumedBefore + 2, 'the two resumptions to be counted');
  await waitUntil(async () => (await metric(port, 'rtmesh_tls_handshakes_total')) >= handshakesBefore + 4, 'the four handshakes to be counted');
  // the two TLS 1.3 connections left OpenSSL after their handshake; the TLS 1.2 ones kept it
  assert.equal(await metric(port, 'rtmesh_tls_offloaded_total'), offloadedBefore + 2);
});

test('a forged record after a TLS 1.3 handshake ends the connection with bad_record_mac, counted', async () => {
  const port = mesh().nodePort(1);
  const before = await errorCount(port, 'tls');
  const raw = net.connect({ host: HOST, port });
  const closed = new Promise((resolve) => raw.once('close', resolve));
  const client = tls.connect({ socket: raw, servername: 'localhost', ca: fs.readFileSync(ca.caFile) });
  await withTimeout(new Promise((resolve, reject) => {
    client.once('secureConnect', resolve);
    client.once('error', reject);
  }), WAIT_MS, 'the TLS handshake');
  assert.equal(client.getProtocol(), 'TLSv1.3');
  const failed = new Promise((resolve) => client.once('error', resolve));
  // an application_data record of the right shape whose tag cannot be right
  raw.write(Buffer.concat([Buffer.from([0x17, 0x03, 0x03, 0x00, 0x20]), Buffer.alloc(32, 0x5a)]));
  const err = await withTimeout(failed, WAIT_MS, "the node's alert");
  assert.equal(err.code, 'ERR_SSL_SSLV3_ALERT_BAD_RECORD_MAC');
  await withTimeout(closed, WAIT_MS, 'the node to close the connection');
  await waitUntil(async () => (await errorCount(port, 'tls')) >= before + 1, 'the forged record to be counted');
});

test('TLS 1.1 is refused and counted', async () => {
  const port = mesh().nodePort(0);
  const before = await errorCount(port, 'tls');
  // openssl's own client, which still offers TLS 1.1 at security level 0.
  const run = spawnSync('openssl', ['s_client', '-connect', `${HOST}:${port}`, '-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0'], { input: '', encoding: 'utf8', timeout: WAIT_MS });
  assert.notEqual(run.status, 0, `the TLS 1.1 handshake failed:\n${run.stdout}`);
  await waitUntil(async () => (await errorCount(port, 'tls')) > before, 'the refused TLS 1.1 handshake to be counted');
});

test('garbage, an oversized record and a truncated ClientHello are closed and counted', async () => {
  const port = mesh().nodePort(0);
  const before = await errorCount(port, 'tls');
  await sendUntilClosed(port, Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40]), Buffer.alloc(64, 0xab)]));
  await sendUntilClosed(port, Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0xff, 0xff]), Buffer.alloc(1024, 0x01)]));
  const hello = await captureClientHello();
  await sendUntilClosed(port, hello.subarray(0, hello.length >> 1), { keepOpen: false });
  await waitUntil(async () => (await errorCount(port, 'tls')) >= before + 3, 'three refused handshakes counted');
  const ok = await handshake(port, ca.caFile);
  assert.equal(ok.subjectCn, 'rtmesh-node', 'the node still serves TLS');
});

test('a client that starts TLS and stops is closed by the handshake timeout', async () => {
  const port = mesh().nodePort(1);
  const before = await errorCount(port, 'handshake_timeout');
  const hello = await captureClientHello();
  const started = Date.now();
  // Closed after the handshake timeout, within a sweep period and a margin (a second each).
  await sendUntilClosed(port, hello.subarray(0, 10), { ms: (HANDSHAKE_TIMEOUT_S + 3) * 1000 });
  assert.ok(Date.now() - started >= HANDSHAKE_TIMEOUT_S * 1000 - 100, 'not closed before the handshake timeout');
  assert.equal(await errorCount(port, 'handshake_timeout'), before + 1);
});

test('churn: TLS connections cut at every stage of the handshake and after it leave the node serving', async () => {
  const port = mesh().nodePort(0);
  const hello = await captureClientHello();
  const resetAfterHandshake = () => new Promise((resolve) => {
    const s = tls.connect({ host: HOST, port, servername: 'localhost', ca: fs.readFileSync(ca.caFile) }, () => s.destroy());
    s.on('error', () => {});
    s.on('close', resolve);
  });
  const cuts = [];
  for (let i = 0; i < 60; i++) {
    cuts.push(sendUntilClosed(port, hello.subarray(0, 1 + ((i * 37) % (hello.length - 1))), { keepOpen: false }));
    cuts.push(resetAfterHandshake());
    cuts.push(handshake(port, ca.caFile));
  }
  await Promise.all(cuts);
  // Every cut is closed and freed: the node still serves, and stops clean (no sanitizer
  // report, checked when the mesh stops).
  assert.equal((await handshake(port, ca.caFile)).subjectCn, 'rtmesh-node');
});
