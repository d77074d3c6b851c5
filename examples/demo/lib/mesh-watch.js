'use strict';
// Watches the mesh through its nodes' /metrics and keeps a picture of it: which nodes answer,
// which shards each of them sees live, connections, channels and messages per second.
//
// Each round sends `probes` GETs per metrics URL, every one on a fresh connection (no
// keep-alive): when nodes share a port with SO_REUSEPORT the kernel hands each new connection
// to one of them, so a node is known by what it says it is (rtmesh_node_info), never by the
// URL that reached it. A node that has not answered for goneMs is shown as gone; one silent for
// forgetMs is dropped. Rates come from the difference between a node's last two answers.

const http = require('node:http');
const { parseMetrics, value } = require('./prom');

const TIMEOUT_MS = 2000;
const BODY_LIMIT = 1024 * 1024;

// GET url on its own connection; resolves to the body, or null on any failure (a node that is
// down is the normal case here, not an error).
function fetchText(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: TIMEOUT_MS, headers: { connection: 'close' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        resolve(null);
        return;
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
        if (body.length > BODY_LIMIT) req.destroy();
      });
      res.on('end', () => resolve(body));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

// What one /metrics answer says, or null if it does not name its node.
function readSample(text, at) {
  const samples = parseMetrics(text);
  const info = samples.find((s) => s.name === 'rtmesh_node_info' && s.labels.node);
  if (!info) return null;
  const shards = {};
  for (const s of samples) if (s.name === 'rtmesh_shard_live' && s.labels.shard) shards[s.labels.shard] = s.value === 1;
  return {
    id: info.labels.node,
    at,
    ready: value(samples, 'rtmesh_ready') === 1,
    connections: value(samples, 'rtmesh_connections'),
    channels: value(samples, 'rtmesh_channels'),
    messagesOut: value(samples, 'rtmesh_messages_out_total'),
    messagesIn: value(samples, 'rtmesh_messages_in_total'),
    eventsReceived: value(samples, 'rtmesh_events_received_total'),
    shards,
  };
}

function perSecond(now, before, field) {
  if (!before || now.at <= before.at || now[field] < before[field]) return 0;
  return ((now[field] - before[field]) * 1000) / (now.at - before.at);
}

class MeshWatch {
  // options: urls (metrics URLs), probes (GETs per URL per round), goneMs, forgetMs;
  // fetch (url → Promise<text|null>, default a fresh-connection HTTP GET).
  constructor({ urls, probes, goneMs, forgetMs = Math.max(60000, 10 * goneMs), fetch = fetchText }) {
    this.urls = urls;
    this.probes = probes;
    this.goneMs = goneMs;
    this.forgetMs = forgetMs;
    this.fetch = fetch;
    this.nodes = new Map(); // id → {last, previous, url}
    this.rounds = 0;
  }

  // One scrape round; resolves when every probe answered or failed. `now` is for tests.
  async round(now = Date.now()) {
    const probes = this.urls.flatMap((url) => Array.from({ length: this.probes }, () => url));
    const answers = await Promise.all(probes.map(async (url) => ({ url, text: await this.fetch(url) })));
    for (const { url, text } of answers) {
      const sample = text === null ? null : readSample(text, now);
      if (sample) this.record(sample, url);
    }
    for (const [id, n] of this.nodes) if (now - n.last.at > this.forgetMs) this.nodes.delete(id);
    this.rounds += 1;
  }

  record(sample, url) {
    const known = this.nodes.get(sample.id);
    // Several probes of one round may reach the same node: the rate keeps the older sample.
    if (known && known.last.at === sample.at) {
      known.last = sample;
      return;
    }
    this.nodes.set(sample.id, { last: sample, previous: known ? known.last : null, url });
  }

  // The picture the status page draws: plain JSON, small enough for one Pusher event.
  snapshot(now = Date.now()) {
    const nodes = [...this.nodes.entries()]
      .map(([id, { last, previous, url }]) => ({
        id,
        url,
        up: now - last.at <= this.goneMs,
        lastSeenMs: now - last.at,
        ready: last.ready,
        connections: last.connections,
        channels: last.channels,
        messagesOutPerSec: Math.round(perSecond(last, previous, 'messagesOut') * 10) / 10,
        messagesInPerSec: Math.round(perSecond(last, previous, 'messagesIn') * 10) / 10,
        shards: last.shards,
      }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const up = nodes.filter((n) => n.up);
    // A node lists its shards in shard order (the broker list's): keep that order.
    const endpoints = [...new Set(nodes.flatMap((n) => Object.keys(n.shards)))];
    const shards = endpoints.map((endpoint) => {
      const seeing = up.filter((n) => endpoint in n.shards);
      const liveOn = seeing.filter((n) => n.shards[endpoint]).length;
      return { endpoint, live: liveOn > 0, liveOn, seenBy: seeing.length };
    });
    const sum = (field) => Math.round(up.reduce((acc, n) => acc + n[field], 0) * 10) / 10;
    return {
      at: now,
      nodes,
      shards,
      totals: {
        nodesUp: up.length,
        connections: sum('connections'),
        channels: sum('channels'),
        messagesOutPerSec: sum('messagesOutPerSec'),
        messagesInPerSec: sum('messagesInPerSec'),
      },
    };
  }
}

module.exports = { MeshWatch, readSample, fetchText };
