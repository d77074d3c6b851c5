'use strict';
// /healthz, /readyz and /metrics on the node's port. Metrics are checked for movement, not
// exact values: other connections (the harness's readiness polls, other tests) may count too.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { useMesh, connectClient, httpGet, HOST, getMetrics, metricSum, publish, triggerEvent, uniqueChannel, waitUntil, OP } = require('../lib/mesh');

const mesh = useMesh({ shards: 2, nodes: 2, workers: 2 });
const FAMILIES = ['rtmesh_connections', 'rtmesh_messages_in_total', 'rtmesh_messages_out_total', 'rtmesh_errors_total'];

async function metric(node, name) {
  const { samples } = await getMetrics(mesh().nodePort(node));
  const value = metricSum(samples, name);
  assert.notEqual(value, undefined, `metric family ${name} is missing`);
  return value;
}

// Waits until the metric satisfies `pred` (metrics may be aggregated from workers lazily).
function metricBecomes(node, name, pred, what) {
  return waitUntil(async () => pred(await metric(node, name)), `${name} ${what}`);
}

test('GET /healthz and GET /readyz answer 200 on every node', async () => {
  for (const node of [0, 1]) {
    for (const path of ['/healthz', '/readyz']) {
      const res = await httpGet(mesh().nodePort(node), path);
      assert.equal(res.status, 200, `node ${node} ${path}: ${res.text}`);
    }
  }
});

// Writes `requests` (raw HTTP/1.1 text) on one connection and resolves with all the node
// answered until it closed the connection.
function rawHttp(port, requests) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const sock = net.connect(port, HOST, () => sock.write(requests));
    sock.on('data', (c) => chunks.push(c));
    sock.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    sock.on('error', reject);
  });
}

test('GET / and HEAD / answer 200 naming the server, as load balancers probe them', async () => {
  for (const node of [0, 1]) {
    const res = await httpGet(mesh().nodePort(node), '/');
    assert.equal(res.status, 200, `node ${node}: ${res.text}`);
    assert.match(res.text, /rtmesh-node/);
    // HEAD: the same head without the body. The keep-alive connection then serves the next
    // request, which would be garbled if a body had been written.
    const answer = await rawHttp(
      mesh().nodePort(node),
      'HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    const [headOnly, healthz] = answer.split(/(?=HTTP\/1\.1 )/);
    assert.match(headOnly, /^HTTP\/1\.1 200 /);
    assert.match(headOnly, new RegExp(`\r\ncontent-length: ${Buffer.byteLength(res.text)}\r\n`, 'i'));
    assert.ok(headOnly.endsWith('\r\n\r\n'), `HEAD answered with a body: ${JSON.stringify(headOnly)}`);
    assert.match(healthz, /^HTTP\/1\.1 200 [^]*\r\n\r\nok\n$/);
  }
});

test('GET /metrics is Prometheus text with the rtmesh families', async () => {
  for (const node of [0, 1]) {
    const { text, headers, samples } = await getMetrics(mesh().nodePort(node));
    assert.match(headers['content-type'] || '', /^text\/plain/);
    for (const family of FAMILIES) {
      // A labelled counter may have no samples before its first increment, only its TYPE line.
      const declared = new RegExp(`^# TYPE ${family} (counter|gauge)$`, 'm').test(text);
      assert.ok(declared || samples.some((s) => s.name === family), `node ${node}: no ${family}\n${text}`);
    }
    for (const s of samples) assert.ok(Number.isFinite(s.value), `${s.name} has a non-numeric value`);
    // Every sample line parsed: nothing but comments, blanks and samples.
    const lines = text.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    assert.equal(samples.length, lines.length, 'unparseable lines in /metrics');
  }
});

test('rtmesh_connections goes up when clients connect and down when they leave', async (t) => {
  const before = await metric(0, 'rtmesh_connections');
  const clients = [];
  t.after(() => clients.forEach((ws) => ws.destroy()));
  for (let i = 0; i < 3; i++) clients.push(await connectClient(mesh().nodePort(0)));
  await metricBecomes(0, 'rtmesh_connections', (v) => v >= before + 3, `to reach ${before + 3}`);
  await Promise.all(clients.map((ws) => ws.close()));
  await metricBecomes(0, 'rtmesh_connections', (v) => v <= before, `to return to ${before}`);
});

test('message counters move with traffic', async (t) => {
  const ws = await connectClient(mesh().nodePort(1));
  t.after(() => ws.destroy());
  const inBefore = await metric(1, 'rtmesh_messages_in_total');
  const outBefore = await metric(1, 'rtmesh_messages_out_total');
  const channel = uniqueChannel('metrics');
  await ws.subscribe(channel);
  await ws.sync();
  await publish(mesh().nodePort(0), { name: 'counted', channels: [channel], data: 'x' });
  await ws.waitForEvent('counted', { channel });
  await metricBecomes(1, 'rtmesh_messages_in_total', (v) => v > inBefore, 'to increase');
  await metricBecomes(1, 'rtmesh_messages_out_total', (v) => v > outBefore, 'to increase');
});

test('rtmesh_errors_total{kind} increases after a malformed frame', async (t) => {
  const { samples } = await getMetrics(mesh().nodePort(0));
  const before = metricSum(samples, 'rtmesh_errors_total') ?? 0;
  for (const s of samples.filter((x) => x.name === 'rtmesh_errors_total')) {
    assert.equal(typeof s.labels.kind, 'string', 'every rtmesh_errors_total sample has a kind label');
  }
  const ws = await connectClient(mesh().nodePort(0));
  t.after(() => ws.destroy());
  ws.sendFrame({ opcode: OP.BINARY, payload: Buffer.from('nope') });
  await ws.waitForClose();
  await metricBecomes(0, 'rtmesh_errors_total', (v) => v > before, `to exceed ${before}`);
  const after = (await getMetrics(mesh().nodePort(0))).samples.filter((x) => x.name === 'rtmesh_errors_total');
  assert.ok(after.every((s) => typeof s.labels.kind === 'string'), 'kind label present');
});

test('rtmesh_broker_channels{shard} splits the node\'s channels among the brokers that own them', async (t) => {
  const ws = await connectClient(mesh().nodePort(0));
  t.after(() => ws.destroy());
  for (let i = 0; i < 16; i++) await ws.subscribe(uniqueChannel('share'));
  await ws.sync();
  let shares;
  await waitUntil(async () => {
    const { samples } = await getMetrics(mesh().nodePort(0));
    shares = samples.filter((s) => s.name === 'rtmesh_broker_channels');
    const channels = metricSum(samples, 'rtmesh_channels');
    return channels >= 16 && metricSum(samples, 'rtmesh_broker_channels') === channels;
  }, 'the shares to add up to the node\'s channels');
  assert.equal(shares.length, 2, 'one sample per broker');
  // rendezvous hashing spreads 16 channels over both (all on one: 2 in 65536)
  assert.ok(shares.every((s) => s.value > 0), `each broker owns some: ${JSON.stringify(shares)}`);
});

test('rtmesh_rest_publish_seconds counts acknowledged publishes in a histogram', async () => {
  const count = async () => (await getMetrics(mesh().nodePort(0))).samples;
  const before = await count();
  const n = (samples, name, le) => samples.find((x) => x.name === name && x.labels.le === le)?.value;
  const countBefore = metricSum(before, 'rtmesh_rest_publish_seconds_count');
  for (let i = 0; i < 3; i++) await publish(mesh().nodePort(0), { name: 'timed', channels: [uniqueChannel('timed')], data: 'x' });
  const after = await count();
  assert.equal(metricSum(after, 'rtmesh_rest_publish_seconds_count'), countBefore + 3);
  assert.equal(n(after, 'rtmesh_rest_publish_seconds_bucket', '+Inf'), countBefore + 3, 'the +Inf bucket holds every one');
  const buckets = after.filter((x) => x.name === 'rtmesh_rest_publish_seconds_bucket').map((x) => x.value);
  assert.deepEqual(buckets, [...buckets].sort((x, y) => x - y), 'buckets are cumulative');
  assert.ok(metricSum(after, 'rtmesh_rest_publish_seconds_sum') > metricSum(before, 'rtmesh_rest_publish_seconds_sum'));
});

test('rtmesh_shard_pending{shard} counts the requests a broker has not acknowledged yet', async () => {
  const port = mesh().nodePort(0);
  const broker = mesh().process('broker', 0).child;
  const ofStopped = (samples) => samples.find((s) => s.name === 'rtmesh_shard_pending' && s.labels.shard.endsWith(`:${mesh().brokerPorts[0]}`));
  const ready = () => waitUntil(async () => (await Promise.all([0, 1].map((n) => httpGet(mesh().nodePort(n), '/readyz')))).every((r) => r.status === 200), 'both nodes ready');
  // One event on 100 channels: broker 0 owns some of them (none: 2^-100).
  const channels = Array.from({ length: 100 }, () => uniqueChannel('pending'));
  let seen;
  // With broker 0 stopped the publish waits for its ACK until its deadline or until the node finds
  // the broker silent; a busy machine may answer it before /metrics shows it: then try again.
  for (let attempt = 0; !seen; attempt++) {
    assert.ok(attempt < 10, 'a publish waiting for broker 0 never showed in rtmesh_shard_pending');
    broker.kill('SIGSTOP');
    let answered = false;
    const held = triggerEvent(port, { name: 'held', channels, data: 'x' }).finally(() => { answered = true; });
    try {
      while (!answered && !seen) {
        const sample = ofStopped((await getMetrics(port)).samples);
        assert.ok(sample, 'a sample for broker 0');
        if (sample.value >= 1) seen = sample;
      }
    } finally {
      broker.kill('SIGCONT');
    }
    await held;
    await ready();
  }
  // Answered (acknowledged after all, or refused): nothing waits any more.
  await waitUntil(async () => metricSum((await getMetrics(port)).samples, 'rtmesh_shard_pending') === 0, 'no request to wait');
});
