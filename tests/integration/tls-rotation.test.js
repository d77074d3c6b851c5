'use strict';
// Certificate rotation without a restart: SIGHUP, or a change of the files (as certbot and
// Kubernetes Secret volumes replace them), gives new connections the new certificate while a
// pusher-js client connected over wss:// before keeps receiving; a bad new pair is refused
// with a logged error and the certificate in use kept; tickets issued before still resume.
// The tests run in order: each starts from the certificate the one before left.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const https = require('node:https');
const path = require('node:path');
const { useMesh } = require('../lib/mesh');
const { uniqueChannel, waitUntil } = require('../lib/util');
const { serverSdk } = require('../lib/pusher-clients');
const { makeTestCa, installPair, handshake, pusherJsOverTls } = require('../lib/tls');
const { getMetrics } = require('../lib/rest');

const ca = makeTestCa();
const first = ca.issue('first', 'rtmesh-first');
const live = { cert: path.join(ca.dir, 'live.crt'), key: path.join(ca.dir, 'live.key') };
installPair(first, live);
const mesh = useMesh(
  { shards: 1, nodes: 1, workers: 2, nodeEnv: { RTMESH_TLS_CERT: live.cert, RTMESH_TLS_KEY: live.key } },
  { teardown: () => ca.remove() },
);

const port = () => mesh().nodePort(0);
const node = () => mesh().process('node', 0);
const tlsSdk = () => serverSdk(port(), { useTLS: true, agent: new https.Agent({ ca: fs.readFileSync(ca.caFile) }) });

// Waits for the node's log to hold one more line containing text than it held before.
async function nextLogLine(text, before) {
  await waitUntil(() => node().log.count(text) > before, `the node to log ${text}`);
}
const logCount = (text) => node().log.count(text);

let channel;
let client;
let firstSession;
after(() => client && client.stop());

test('a client connected over wss:// before the rotation', async () => {
  channel = uniqueChannel('rotation');
  // Stays connected through every rotation below; stopped when the file ends.
  client = await pusherJsOverTls(null, port(), ca.caFile, [channel]);
  const hello = await handshake(port(), ca.caFile);
  assert.equal(hello.subjectCn, 'rtmesh-first');
  firstSession = hello.session;
});

test('SIGHUP: new connections get the new certificate, the client connected before keeps receiving', async () => {
  const second = ca.issue('second', 'rtmesh-second');
  installPair(second, live);
  const before = logCount('event=tls_reloaded trigger=sighup subject_cn="rtmesh-second"');
  node().child.kill('SIGHUP');
  await nextLogLine('event=tls_reloaded trigger=sighup subject_cn="rtmesh-second"', before);
  assert.equal((await handshake(port(), ca.caFile)).subjectCn, 'rtmesh-second');
  assert.equal((await handshake(port(), ca.caFile, { session: firstSession })).reused, true, 'a ticket from before the rotation still resumes');
  await tlsSdk().trigger(channel, 'after-sighup', { n: 1 });
  const got = await client.inbox.next((m) => m.type === 'event' && m.event === 'after-sighup', 'the event on the connection opened before');
  assert.deepEqual(got.data, { n: 1 });
});

test('a bad new pair is refused with an error logged, and the certificate in use kept', async () => {
  fs.writeFileSync(`${live.cert}.tmp`, 'not a certificate\n');
  fs.renameSync(`${live.cert}.tmp`, live.cert);
  let before = logCount('event=tls_reload_refused');
  node().child.kill('SIGHUP');
  await nextLogLine('event=tls_reload_refused', before);
  assert.equal((await handshake(port(), ca.caFile)).subjectCn, 'rtmesh-second');

  // A certificate with another pair's key.
  const third = ca.issue('third', 'rtmesh-third');
  fs.copyFileSync(third.cert, live.cert);
  before = logCount('key values mismatch');
  node().child.kill('SIGHUP');
  await nextLogLine('key values mismatch', before);
  assert.equal((await handshake(port(), ca.caFile)).subjectCn, 'rtmesh-second');
  assert.ok(!node().exit, 'the node is still running');
});

test('a change of the files, with no signal, loads the new certificate', async () => {
  const fourth = ca.issue('fourth', 'rtmesh-fourth');
  const before = logCount('event=tls_reloaded trigger=files_changed subject_cn="rtmesh-fourth"');
  installPair(fourth, live);
  await nextLogLine('event=tls_reloaded trigger=files_changed subject_cn="rtmesh-fourth"', before);
  assert.equal((await handshake(port(), ca.caFile)).subjectCn, 'rtmesh-fourth');
  await tlsSdk().trigger(channel, 'after-files', { n: 2 });
  await client.inbox.next((m) => m.type === 'event' && m.event === 'after-files', 'the event on the connection opened first');
});

test('/metrics: the reloads by result and when the certificate in use expires', async () => {
  const { samples } = await getMetrics(port());
  const reloads = (result) => samples.find((s) => s.name === 'rtmesh_tls_reloads_total' && s.labels.result === result).value;
  assert.ok(reloads('loaded') >= 2, `loaded ${reloads('loaded')}: SIGHUP and the files' change`);
  assert.ok(reloads('refused') >= 2, `refused ${reloads('refused')}: the unreadable certificate and the other pair's key`);
  const expiry = samples.find((s) => s.name === 'rtmesh_tls_certificate_expiry_seconds').value;
  const days = (expiry - Date.now() / 1000) / 86400;
  assert.ok(days > 1 && days <= 2, `the fourth certificate's expiry, 2 days from its issue: ${days} days`);
});
