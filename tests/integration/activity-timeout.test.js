'use strict';
// Server-side liveness (reference §1.4): with RTMESH_ACTIVITY_TIMEOUT=1 the node announces
// activity_timeout 1, pings a client idle for that long with pusher:ping, and closes it with
// 4201 when nothing arrives within RTMESH_PONG_TIMEOUT=1 more second. A client that answers
// stays connected. Deadlines are generous; durations are never asserted: what a client that
// is not silent gets is judged against a silent client's ping and close.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, connectClient } = require('../lib/mesh');

const mesh = useMesh({ shards: 1, nodes: 1, workers: 2, env: { RTMESH_ACTIVITY_TIMEOUT: '1', RTMESH_PONG_TIMEOUT: '1' } });
const DEADLINE_MS = 10000;
const PINGS_ANSWERED = 3;
const TALK_EVERY_MS = 100; // a tenth of RTMESH_ACTIVITY_TIMEOUT: 0.9 s of margin before a ping

async function client(t, opts) {
  const ws = await connectClient(mesh().nodePort(0), opts);
  t.after(() => ws.destroy());
  return ws;
}

// Answers PINGS_ANSWERED pusher:pings with pusher:pong; resolves once it has.
async function answerPings(ws) {
  for (let i = 0; i < PINGS_ANSWERED; i++) {
    const ping = await ws.waitForEvent('pusher:ping', { ms: DEADLINE_MS });
    assert.deepEqual(ping, { event: 'pusher:ping', data: {} });
    ws.send({ event: 'pusher:pong', data: {} });
  }
}

test('connection_established announces the configured activity_timeout', async (t) => {
  const ws = await client(t);
  assert.equal(ws.activityTimeout, 1);
});

test('a silent client is pinged, then closed with 4201; a client that answers stays open', async (t) => {
  const silent = await client(t, { respondToPings: false });
  const answering = await client(t);

  const answered = answerPings(answering);

  const ping = await silent.waitForEvent('pusher:ping', { ms: DEADLINE_MS });
  assert.deepEqual(ping, { event: 'pusher:ping', data: {} });
  const close = await silent.waitForClose(DEADLINE_MS);
  assert.equal(close && close.code, 4201, `close frame ${JSON.stringify(close)}`);
  assert.deepEqual(silent.errorBeforeClose(), { event: 'pusher:error', data: { code: 4201, message: close.reason } });

  await answered;
  assert.equal(answering.closeFrame, null, 'the answering client was closed');
  await answering.sync();
});

test('any message from the client counts as activity', async (t) => {
  // A client that keeps talking (its own pusher:ping, every tenth of the activity timeout) but
  // never answers the server's pings is never pinged, so never closed for lack of a pong. It
  // talks until a silent client connected after it has been pinged and closed: were talking
  // not activity, the talker would have been pinged a pong timeout before that close.
  const chatty = await client(t, { respondToPings: false });
  const silent = await client(t, { respondToPings: false });
  let silenced = false;
  const closed = silent.waitForClose(DEADLINE_MS).finally(() => (silenced = true));
  while (!silenced) {
    await chatty.sync();
    await new Promise((resolve) => setTimeout(resolve, TALK_EVERY_MS));
  }
  assert.equal((await closed)?.code, 4201, 'the silent client was closed with 4201');
  assert.equal(chatty.received('pusher:ping'), false, 'the talking client was pinged');
  assert.equal(chatty.closeFrame, null, `closed with ${JSON.stringify(chatty.closeFrame)}`);
  await chatty.sync();
});
