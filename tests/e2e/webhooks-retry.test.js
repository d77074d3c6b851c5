'use strict';
// Webhook requests that fail on the network (README "Webhooks"; broker/webhook_queue.c): a
// receiver that resets the connection, and one that never answers (the broker gives up on the
// request after RTMESH_WEBHOOK_TIMEOUT_MS). Both are retried after a back-off that starts at
// RTMESH_WEBHOOK_BACKOFF_MS and doubles per attempt (each delay is jittered between half the
// step and the whole step), and the event is delivered exactly once in the end: a receiver
// gets a channel's events in order, so a duplicate would come before the channel's next event.
// The receiver is a real HTTP server (lib/webhook-receiver.js). The only durations asserted
// are lower bounds the broker enforces (back-off, timeout): a slow machine only adds to them.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, uniqueChannel, APP } = require('../lib/mesh');
const { subscribe } = require('../lib/pusher-clients');
const { connectApp } = require('../lib/features');
const { WebhookReceiver } = require('../lib/webhook-receiver');

const BACKOFF_MS = 400;
const TIMEOUT_MS = 1000;
const RESETS = 2;
const receiver = new WebhookReceiver(APP);
after(() => receiver.stop());

const hook = (path, prefix) => ({ url: receiver.url(path), event_types: ['channel_occupied', 'channel_vacated'], filter: { channel_name_starts_with: prefix } });
const mesh = useMesh({
  shards: 1,
  nodes: 1,
  workers: 1,
  env: { RTMESH_WEBHOOK_BATCH_MS: '50', RTMESH_WEBHOOK_BACKOFF_MS: String(BACKOFF_MS), RTMESH_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS) },
  apps: async () => {
    await receiver.start();
    receiver.answer('/reset', 'reset', RESETS);
    receiver.answer('/hang', 'hang', 1);
    return [{ ...APP, webhooks: [hook('/reset', 'reset-'), hook('/hang', 'hang-')] }];
  },
});

// A channel occupied, then (once that was delivered) vacated: resolves with every request the
// receiver got on path, and checks that each event was delivered exactly once, in order.
async function occupyAndVacate(t, path, prefix) {
  const channel = uniqueChannel(prefix);
  const client = await connectApp(mesh().nodePort(0), t);
  await subscribe(client, channel);
  await receiver.waitFor(path, { channel, name: 'channel_occupied' }, 'channel_occupied, after the failed attempts', 1, 30000);
  client.unsubscribe(channel);
  await receiver.waitFor(path, { channel, name: 'channel_vacated' }, 'channel_vacated');
  const delivered = receiver.matching(path, (e) => e.channel === channel).map((e) => e.name);
  assert.deepEqual(delivered, ['channel_occupied', 'channel_vacated'], 'each event delivered exactly once');
  return receiver.requests.filter((r) => r.path === path);
}

test('a receiver that resets the connection gets the event after retries with growing back-off, once', async (t) => {
  const requests = await occupyAndVacate(t, '/reset', 'reset-wh');
  assert.deepEqual(requests.map((r) => r.status), [...Array(RESETS).fill('reset'), 200, 200], 'attempts: reset, reset, then accepted');
  const first = requests[0].rawBody.replace(/"time_ms":\d+/, '');
  for (const r of requests.slice(1, RESETS + 1)) assert.equal(r.rawBody.replace(/"time_ms":\d+/, ''), first, 'a retry sends the same events');
  // The k-th retry waits at least half of BACKOFF_MS * 2^(k-1) after the failure it follows.
  for (let k = 1; k <= RESETS; k++) {
    const waited = requests[k].at - requests[k - 1].at;
    const least = (BACKOFF_MS << (k - 1)) / 2;
    assert.ok(waited >= least, `retry ${k} came ${waited} ms after the reset, before the back-off of at least ${least} ms`);
  }
});

test('a receiver that never answers is given up on after the timeout and retried, and gets the event once', async (t) => {
  const requests = await occupyAndVacate(t, '/hang', 'hang-wh');
  assert.deepEqual(requests.map((r) => r.status), ['hang', 200, 200], 'attempts: unanswered, then accepted');
  assert.equal(requests[1].rawBody.replace(/"time_ms":\d+/, ''), requests[0].rawBody.replace(/"time_ms":\d+/, ''), 'the retry sends the same events');
  const waited = requests[1].at - requests[0].at;
  const least = TIMEOUT_MS + BACKOFF_MS / 2;
  assert.ok(waited >= least, `the retry came ${waited} ms after the unanswered request, before timeout + back-off (${least} ms)`);
});
