'use strict';
// The broker's --metrics-port: GET /healthz (the image's HEALTHCHECK and the Kubernetes probes)
// and GET /metrics, whose text carries the counters of the broker's `event=stats` log line as
// rtmesh_broker_*{shard="k"} families beside the webhook families (e2e/webhooks.test.js). The
// counters move with traffic; bad requests get a clear status; a scraper that connects and says
// nothing, or too many of them, blocks neither the endpoint for long nor the broker's own work.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { useMesh, assertRefusesToStart, httpGet, httpRequest, getMetrics, openTcp, publish, uniqueChannel, waitUntil } = require('../lib/mesh');

const mesh = useMesh({ shards: 2, nodes: 1, workers: 1, brokerMetrics: true });
const SHARDS = [0, 1];
const MAX_CONNS = 16; // RTM_METRICS_HTTP_CONNS
const DEADLINE_MS = 15000;
const STATS_FAMILIES = ['rtmesh_broker_events_published_total', 'rtmesh_broker_egress_drops_total', 'rtmesh_broker_reply_drops_total', 'rtmesh_broker_malformed_total', 'rtmesh_broker_nodes', 'rtmesh_broker_live_shards', 'rtmesh_broker_channel_records'];

const port = (shard) => mesh().brokerMetricsPort(shard);

async function brokerMetric(shard, name) {
  const { samples } = await getMetrics(port(shard));
  const s = samples.find((x) => x.name === name);
  assert.ok(s, `broker ${shard}: no ${name}`);
  return s.value;
}

test('GET /healthz answers 200 ok on every broker', async () => {
  for (const shard of SHARDS) {
    const res = await httpGet(port(shard), '/healthz');
    assert.equal(res.status, 200, `broker ${shard}: ${res.text}`);
    assert.equal(res.text, 'ok\n');
  }
});

test('GET /metrics carries the counters of the stats line, labelled by shard, every line parsed', async () => {
  for (const shard of SHARDS) {
    const { text, samples } = await getMetrics(port(shard));
    const lines = text.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    assert.equal(samples.length, lines.length, `unparseable lines in /metrics:\n${text}`);
    const declared = text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]);
    assert.equal(new Set(declared).size, declared.length, 'no family declared twice');
    for (const family of STATS_FAMILIES) {
      assert.match(text, new RegExp(`^# TYPE ${family} (counter|gauge)$`, 'm'), `broker ${shard}: no ${family}`);
      assert.equal(samples.find((x) => x.name === family).labels.shard, String(shard), `${family} labelled with its shard`);
    }
  }
  for (const shard of SHARDS) {
    await waitUntil(async () => (await brokerMetric(shard, 'rtmesh_broker_live_shards')) === 2, `broker ${shard} to see 2 live shards`);
    assert.ok((await brokerMetric(shard, 'rtmesh_broker_nodes')) >= 1, `broker ${shard} counts the node's worker`);
  }
});

test('published events are counted by the shards that own them', async () => {
  const sum = async () => (await Promise.all(SHARDS.map((s) => brokerMetric(s, 'rtmesh_broker_events_published_total')))).reduce((a, b) => a + b, 0);
  const before = await sum();
  const EVENTS = 10;
  for (let i = 0; i < EVENTS; i++) await publish(mesh().nodePort(0), { name: 'counted', channels: [uniqueChannel('metrics')], data: String(i) });
  assert.ok((await sum()) >= before + EVENTS, `published_total moved from ${before} by at least ${EVENTS}`);
});

test('bad requests get 404 / 405 / 400 / 431', async () => {
  assert.equal((await httpGet(port(0), '/nope')).status, 404);
  assert.equal((await httpRequest(port(0), { method: 'DELETE', path: '/healthz' })).status, 405);
  for (const [raw, status] of [['NOT HTTP AT ALL\r\n\r\n', 400], [`GET /metrics HTTP/1.1\r\nX-Big: ${'a'.repeat(8000)}\r\n\r\n`, 431]]) {
    const conn = openTcp(port(0));
    await conn.connected;
    conn.socket.write(raw);
    const reply = (await conn.waitForClose(DEADLINE_MS)).toString();
    assert.equal(Number((/^HTTP\/1\.1 (\d{3})/.exec(reply) || [])[1]), status, `reply to ${raw.slice(0, 20)}...: ${reply.slice(0, 80)}`);
  }
});

test('silent connections block neither the broker nor, past their deadline, the endpoint', async (t) => {
  const idle = [];
  t.after(() => idle.forEach((c) => c.socket.destroy()));
  for (let i = 0; i < MAX_CONNS; i++) {
    const c = openTcp(port(1));
    await c.connected;
    idle.push(c);
  }
  const extra = openTcp(port(1)); // every slot is held: closed at accept, unanswered
  await extra.connected;
  assert.equal((await extra.waitForClose(DEADLINE_MS)).length, 0, 'no answer over the slots');
  await publish(mesh().nodePort(0), { name: 'while-blocked', channels: [uniqueChannel('blocked')], data: 'x' });
  await Promise.all(idle.map((c) => c.waitForClose(DEADLINE_MS)));
  assert.equal((await httpGet(port(1), '/healthz')).status, 200, 'answered again after the deadline');
});

// A port P with P + 1 free too (a broker binds its egress on the next port), held until both are
// known free so that nothing else in this machine's other tests takes them in between.
async function freePair() {
  const listen = (p) =>
    new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(null));
      s.listen(p, '127.0.0.1', () => resolve(s));
    });
  for (;;) {
    const first = await listen(0);
    const p = first.address().port;
    const second = p < 65535 ? await listen(p + 1) : null;
    await new Promise((r) => first.close(r));
    if (second) {
      await new Promise((r) => second.close(r));
      return p;
    }
  }
}

test('a broker whose metrics port is taken refuses to start, naming it', async () => {
  // Run directly (the harness counts an early exit as a failure), with ingress and egress on
  // ports that were just free.
  const free = await freePair();
  const taken = port(0);
  const args = ['--shard', '0', '--brokers', `tcp://127.0.0.1:${free}`, '--metrics-port', String(taken)];
  const stderr = assertRefusesToStart(process.env.RTMESH_BROKER_BIN, args, 1);
  assert.match(stderr, new RegExp(`event=metrics_listen_failed host=127\\.0\\.0\\.1 port=${taken}`));
});
