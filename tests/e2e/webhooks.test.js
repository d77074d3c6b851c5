'use strict';
// Webhooks (README "Webhooks"; broker/webhooks.c): the shard that owns a channel sends each
// mesh-wide change once, signed, to every webhook of the app whose event_types and filter take
// it, batched, retried on 5xx, never retried on 4xx. A real HTTP receiver checks every request
// with the `pusher` SDK's webhook verification; clients are on both nodes and channels on both
// shards. "Exactly once" is proven with a later event of the same channel: a URL gets a
// channel's events in order, so whatever duplicate there were would have come before it.

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { useMesh, assertRefusesToStart, uniqueChannel, waitUntil, getMetrics, httpRequest, HOST, APP } = require('../lib/mesh');
const { subscribe } = require('../lib/pusher-clients');
const { connectApp, sdkFor } = require('../lib/features');
const { WebhookReceiver } = require('../lib/webhook-receiver');

const ALL = ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event', 'cache_miss', 'subscription_count'];
const receiver = new WebhookReceiver(APP);
after(() => receiver.stop());

const mesh = useMesh({
  shards: 2,
  nodes: 2,
  workers: 2,
  // Small windows and back-off keep the suite fast; one request per URL at a time.
  env: { RTMESH_WEBHOOK_BATCH_MS: '200', RTMESH_WEBHOOK_BACKOFF_MS: '100', RTMESH_WEBHOOK_CONCURRENCY: '1' },
  brokerMetrics: true,
  apps: async () => {
    await receiver.start();
    receiver.answer('/flaky', 503, 3);
    receiver.answer('/refuse', 400);
    return [
      {
        ...APP,
        enable_client_messages: true,
        subscription_count: true,
        webhooks: [
          { url: receiver.url('/all'), event_types: ALL, headers: { 'X-Extra': 'yes' } },
          { url: receiver.url('/filtered'), event_types: ['channel_occupied'], filter: { channel_name_starts_with: 'filt-', channel_name_ends_with: '-x' } },
          { url: receiver.url('/flaky'), event_types: ['channel_occupied', 'channel_vacated'], filter: { channel_name_starts_with: 'flaky-' } },
          { url: receiver.url('/refuse'), event_types: ['channel_occupied'], filter: { channel_name_starts_with: 'refuse-' } },
        ],
      },
    ];
  },
});
const port = (node) => mesh().nodePort(node);
const of = (channel, name) => (e) => e.channel === channel && e.name === name;

test('occupied and vacated once per channel, with subscribers coming and going on both nodes', async (t) => {
  const a = await connectApp(port(0), t);
  const b = await connectApp(port(1), t);
  const names = Array.from({ length: 6 }, () => uniqueChannel('occ'));
  for (const name of names) {
    await subscribe(a, name);
    await subscribe(b, name);
  }
  for (const name of names) await receiver.waitFor('/all', of(name, 'channel_occupied'), `occupied ${name}`);
  for (const name of names) a.unsubscribe(name);
  for (const name of names) b.unsubscribe(name);
  for (const name of names) await receiver.waitFor('/all', of(name, 'channel_vacated'), `vacated ${name}`);
  for (const name of names) await subscribe(a, name); // the later event of the same channel
  for (const name of names) {
    await receiver.waitFor('/all', of(name, 'channel_occupied'), `occupied again ${name}`, 2);
    const life = receiver.matching('/all', (e) => e.channel === name && e.name.startsWith('channel_')).map((e) => e.name);
    assert.deepEqual(life, ['channel_occupied', 'channel_vacated', 'channel_occupied'], name);
  }
  // Every request was signed with the app secret, and carries our headers.
  assert.ok(receiver.requests.length > 0);
  for (const r of receiver.requests) {
    assert.ok(r.valid, `signature of ${r.path} ${r.rawBody}`);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-pusher-key'], APP.key);
    assert.ok(Number.isInteger(r.data.time_ms), r.rawBody);
    if (r.path === '/all') assert.equal(r.headers['x-extra'], 'yes');
  }
});

test('a user_id the app gave as a number comes back as a number in member_added and member_removed', async (t) => {
  const name = uniqueChannel('presence-wh-int');
  const client = await connectApp(port(1), t, { member: { user_id: 7, user_info: {} } });
  await subscribe(client, name);
  await receiver.waitFor('/all', { channel: name, name: 'member_added', user_id: 7 }, '7 added');
  client.unsubscribe(name);
  await receiver.waitFor('/all', { channel: name, name: 'member_removed', user_id: 7 }, '7 removed');
});

test('member_added and member_removed once per user with connections on two nodes', async (t) => {
  const name = uniqueChannel('presence-wh');
  const u1a = await connectApp(port(0), t, { member: { user_id: 'u1', user_info: {} } });
  const u1b = await connectApp(port(1), t, { member: { user_id: 'u1', user_info: {} } });
  const u2 = await connectApp(port(1), t, { member: { user_id: 'u2', user_info: {} } });
  await subscribe(u1a, name);
  await subscribe(u1b, name);
  await subscribe(u2, name);
  await receiver.waitFor('/all', { channel: name, name: 'member_added', user_id: 'u2' }, 'u2 added');
  u1a.disconnect();
  u1b.unsubscribe(name);
  await receiver.waitFor('/all', { channel: name, name: 'member_removed', user_id: 'u1' }, 'u1 removed');
  u2.disconnect(); // the later event of the same channel
  await receiver.waitFor('/all', { channel: name, name: 'member_removed', user_id: 'u2' }, 'u2 removed');
  const members = receiver.matching('/all', (e) => e.channel === name && e.name.startsWith('member_')).map((e) => `${e.name} ${e.user_id}`);
  assert.deepEqual(members.filter((m) => m.endsWith('u1')), ['member_added u1', 'member_removed u1']);
  assert.deepEqual(members.filter((m) => m.endsWith('u2')), ['member_added u2', 'member_removed u2']);
});

test('client_event carries the socket_id, and the user_id on presence channels', async (t) => {
  const priv = uniqueChannel('private-wh');
  const pres = uniqueChannel('presence-whc');
  const sender = await connectApp(port(0), t, { member: { user_id: 'talker', user_info: {} } });
  const other = await connectApp(port(1), t, { member: { user_id: 'listener', user_info: {} } });
  for (const name of [priv, pres]) {
    await subscribe(sender, name);
    await subscribe(other, name);
    sender.channel(name).trigger('client-said', { text: 'hi' });
  }
  const [p] = await receiver.waitFor('/all', of(priv, 'client_event'), 'private client_event');
  assert.deepEqual(p, { name: 'client_event', channel: priv, event: 'client-said', data: '{"text":"hi"}', socket_id: sender.connection.socket_id });
  const [q] = await receiver.waitFor('/all', of(pres, 'client_event'), 'presence client_event');
  assert.equal(q.user_id, 'talker');
  assert.equal(q.socket_id, sender.connection.socket_id);
});

test('cache_miss and subscription_count', async (t) => {
  const cache = uniqueChannel('cache-wh');
  const a = await connectApp(port(0), t);
  const b = await connectApp(port(1), t);
  await subscribe(a, cache);
  await receiver.waitFor('/all', of(cache, 'cache_miss'), 'cache_miss');
  await subscribe(b, cache);
  await receiver.waitFor('/all', (e) => of(cache, 'subscription_count')(e) && e.subscription_count === 2, 'subscription_count 2');
  await receiver.waitFor('/all', of(cache, 'cache_miss'), 'a second cache_miss', 2);
  await sdkFor(port(0)).trigger(cache, 'cached', {});
  const c = await connectApp(port(1), t);
  await subscribe(c, cache);
  await receiver.waitFor('/all', (e) => of(cache, 'subscription_count')(e) && e.subscription_count === 3, 'subscription_count 3');
  assert.equal(receiver.matching('/all', of(cache, 'cache_miss')).length, 2, 'no cache_miss once something is cached');
});

test('a receiver answering 503 gets every webhook afterwards, in order; 4xx is not retried', async (t) => {
  const flaky = uniqueChannel('flaky-wh');
  const refused = uniqueChannel('refuse-wh');
  const a = await connectApp(port(0), t);
  await subscribe(a, flaky);
  await subscribe(a, refused);
  await receiver.waitFor('/flaky', of(flaky, 'channel_occupied'), 'occupied after retries');
  a.unsubscribe(flaky);
  a.unsubscribe(refused);
  await receiver.waitFor('/flaky', of(flaky, 'channel_vacated'), 'vacated');
  assert.deepEqual(receiver.matching('/flaky', (e) => e.channel === flaky).map((e) => e.name), ['channel_occupied', 'channel_vacated']);
  assert.ok(receiver.requests.filter((r) => r.path === '/flaky' && r.status === 503).length === 3);
  // The refused one: occupy again; the lane is blocked until a request is over, so a retry
  // of the first would have come before the second.
  await subscribe(a, refused);
  await waitUntil(() => receiver.matching('/refuse', of(refused, 'channel_occupied'), { all: true }).length >= 2, 'second refused request');
  assert.equal(receiver.requests.filter((r) => r.path === '/refuse').length, 2);
});

test('events that happen together share a request (batching window)', async (t) => {
  const a = await connectApp(port(0), t);
  const names = Array.from({ length: 12 }, () => uniqueChannel('batch'));
  await Promise.all(names.map((name) => subscribe(a, name)));
  for (const name of names) await receiver.waitFor('/all', of(name, 'channel_occupied'), `occupied ${name}`);
  const sizes = receiver.requests.filter((r) => r.path === '/all' && r.data.events.some((e) => names.includes(e.channel))).map((r) => r.data.events.length);
  assert.ok(sizes.some((n) => n > 1), `request sizes ${JSON.stringify(sizes)}`);
});

test('filters and event_types: a webhook gets only what it asked for', async (t) => {
  const x = uniqueChannel('filt') + '-x';
  const y = uniqueChannel('filt') + '-y';
  const a = await connectApp(port(1), t);
  await subscribe(a, y);
  await subscribe(a, x);
  await receiver.waitFor('/filtered', of(x, 'channel_occupied'), 'filtered occupied');
  a.unsubscribe(x);
  await receiver.waitFor('/all', of(x, 'channel_vacated'), 'vacated on /all');
  // By now every test above has had its events delivered: nothing else may have reached them.
  for (const e of receiver.events('/filtered')) {
    assert.equal(e.name, 'channel_occupied');
    assert.ok(e.channel.startsWith('filt-') && e.channel.endsWith('-x'), e.channel);
  }
  for (const e of receiver.events('/flaky')) assert.ok(e.channel.startsWith('flaky-'), e.channel);
  for (const e of receiver.events('/refuse', { all: true })) assert.ok(e.channel.startsWith('refuse-'), e.channel);
  for (const e of receiver.events('/all')) assert.ok(!e.channel.startsWith('#'), e.channel);
});

// One family's value for the app, summed over both brokers' GET /metrics.
async function brokerSum(family) {
  let sum = 0;
  for (const shard of [0, 1]) {
    const { samples } = await getMetrics(mesh().brokerMetricsPort(shard));
    const s = samples.find((x) => x.name === family && x.labels.app === APP.id);
    assert.ok(s, `${family}{app="${APP.id}"} on broker ${shard}`);
    sum += s.value;
  }
  return sum;
}

test("the brokers' /metrics count webhooks per app: sent, failed, retried, latency", async () => {
  // Runs after the tests above: every event the receiver accepted was counted as sent by the
  // shard that sent it; the 4xx receiver's were given up; the 503 receiver's were retried.
  const accepted = () => ['/all', '/filtered', '/flaky', '/refuse'].reduce((n, p) => n + receiver.events(p).length, 0);
  await waitUntil(async () => (await brokerSum('rtmesh_webhook_sent_total')) === accepted(), 'sent_total equal to what the receiver accepted', 10000, 200);
  assert.equal(await brokerSum('rtmesh_webhook_latency_ms_count'), accepted());
  assert.ok((await brokerSum('rtmesh_webhook_failed_total')) >= 1, 'the 4xx receiver');
  assert.ok((await brokerSum('rtmesh_webhook_retried_total')) >= 3, 'the 503 receiver');
  assert.equal(await brokerSum('rtmesh_webhook_dropped_total'), 0);
  // A client that sends half a request holds a slot, not the loop: others are still answered.
  const port = mesh().brokerMetricsPort(0);
  const slow = net.connect({ host: HOST, port });
  await new Promise((resolve) => slow.once('connect', resolve));
  slow.write('GET /metr');
  const res = await httpRequest(port, { path: '/metrics' });
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  assert.equal((await httpRequest(port, { path: '/other' })).status, 404);
  assert.equal((await httpRequest(port, { method: 'POST', path: '/metrics' })).status, 405);
  slow.destroy();
});

test('a bad webhook configuration is refused at start, naming the app and key', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtmesh-wh-'));
  try {
    const cases = [
      [{ url: 'ftp://x/', event_types: ['channel_occupied'] }, 'webhooks[0].url'],
      [{ url: 'http://127.0.0.1:1/', event_types: ['channel_occupied', 'member_joined'] }, 'webhooks[0].event_types[1]: unknown event type "member_joined"'],
      [{ url: 'http://127.0.0.1:1/', event_types: 'channel_occupied' }, 'webhooks[0].event_types must be'],
      [{ url: 'http://127.0.0.1:1/', event_types: ['cache_miss'], headers: { 'X-Pusher-Signature': 'x' } }, "'X-Pusher-Signature' is set by rtmesh"],
    ];
    for (const [hook, says] of cases) {
      const file = path.join(dir, 'apps.json');
      fs.writeFileSync(file, JSON.stringify([{ id: 'bad-app', key: 'k', secret: 's', webhooks: [hook] }]));
      const stderr = assertRefusesToStart(process.env.RTMESH_BROKER_BIN, ['--shard', '0', '--brokers', 'tcp://127.0.0.1:1', '--apps', file], 2);
      assert.ok(stderr.includes("app #0 'bad-app'") && stderr.includes(says), stderr);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
