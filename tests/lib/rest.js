'use strict';
// HTTP helpers: a Pusher REST client that signs exactly as the protocol specifies (so tests can
// also sign wrongly on purpose), plain GETs for /healthz, /readyz and /metrics, and a parser for
// the Prometheus text format. e2e tests use the official `pusher` SDK instead.
//
// Signing (reference §5.2): string to sign = METHOD \n PATH \n PARAMS, where PARAMS are all
// query parameters except auth_signature, keys lower-cased, sorted, joined as k=v with & and
// values not escaped; HMAC-SHA256 with the app secret, lower-case hex. body_md5 is the MD5 of
// the raw body and is present only when the body is not empty.

const crypto = require('node:crypto');
const http = require('node:http');
const { APP, HOST, WAIT_MS } = require('./util');

const md5 = (s) => crypto.createHash('md5').update(s).digest('hex');
const hmac = (secret, s) => crypto.createHmac('sha256', secret).update(s).digest('hex');

// Returns {params, stringToSign} for a request: params holds every query parameter including
// auth_signature. timestamp is Unix seconds (default: now).
function signRequest({ method, path, body = '', query = {}, key = APP.key, secret = APP.secret, timestamp }) {
  const params = {
    auth_key: key,
    auth_timestamp: String(timestamp === undefined ? Math.floor(Date.now() / 1000) : timestamp),
    auth_version: '1.0',
    ...query,
  };
  if (body.length > 0) params.body_md5 = md5(body);
  const ordered = Object.keys(params)
    .map((k) => [k.toLowerCase(), params[k]])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const stringToSign = `${method.toUpperCase()}\n${path}\n${ordered}`;
  return { params: { ...params, auth_signature: hmac(secret, stringToSign) }, stringToSign };
}

function queryString(params) {
  return Object.entries(params)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

// One HTTP request; resolves {status, headers, text, json} (json undefined unless the body
// parses). A fresh connection each time (agent: false) so no socket outlives the test.
function httpRequest(port, { method = 'GET', path, body = '', headers = {}, ms = WAIT_MS }) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port, method, path, agent: false, headers, timeout: ms }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out after ${ms} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

// A signed REST call. body: string (sent as is) or value (JSON-encoded). Overrides for negative
// tests: appId (path), key/secret/timestamp (signing), tamper(params) to edit the signed query,
// sign: false to send no auth parameters at all.
function restRequest(port, { method = 'POST', path, body, query = {}, key, secret, timestamp, tamper, sign = true, signPath }) {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  let params = query;
  if (sign) params = signRequest({ method, path: signPath || path, body: text, query, key, secret, timestamp }).params;
  if (tamper) params = tamper({ ...params });
  const qs = queryString(params);
  const headers = text.length > 0 ? { 'content-type': 'application/json' } : {};
  return httpRequest(port, { method, path: qs ? `${path}?${qs}` : path, body: text, headers });
}

// POST /apps/{app}/events. event: {name, data, channels | channel, socket_id?}. data that is
// not a string is JSON-encoded, as the SDKs do.
function triggerEvent(port, event, opts = {}) {
  const body = { ...event, data: typeof event.data === 'string' ? event.data : JSON.stringify(event.data ?? {}) };
  return restRequest(port, { path: `/apps/${opts.appId || APP.id}/events`, body, ...opts });
}

// Like triggerEvent, but fails unless the node answered 200.
async function publish(port, event, opts = {}) {
  const res = await triggerEvent(port, event, opts);
  if (res.status !== 200) throw new Error(`publish ${JSON.stringify(event).slice(0, 200)} → HTTP ${res.status} ${res.text}`);
  return res;
}

// POST /apps/{app}/batch_events with a list of {channel, name, data}.
function triggerBatch(port, batch, opts = {}) {
  return restRequest(port, { path: `/apps/${opts.appId || APP.id}/batch_events`, body: { batch }, ...opts });
}

function httpGet(port, path) {
  return httpRequest(port, { method: 'GET', path });
}

// Prometheus text format → [{name, labels: {k: v}, value}] (comments and blank lines skipped).
function parseMetrics(text) {
  const samples = [];
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
  for (const raw of text.split('\n')) {
    const m = line.exec(raw.trim());
    if (!m || raw.startsWith('#')) continue;
    const labels = {};
    for (const [, k, v] of (m[2] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

// Sum of every sample of a family (all label sets); undefined if the family is absent.
function metricSum(samples, name) {
  const found = samples.filter((s) => s.name === name);
  if (found.length === 0) return undefined;
  return found.reduce((acc, s) => acc + s.value, 0);
}

async function getMetrics(port) {
  const res = await httpGet(port, '/metrics');
  if (res.status !== 200) throw new Error(`GET /metrics → HTTP ${res.status}`);
  return { text: res.text, headers: res.headers, samples: parseMetrics(res.text) };
}

// The node's rtmesh_errors_total{kind} (fails when the kind is not rendered).
async function errorCount(port, kind) {
  const { samples } = await getMetrics(port);
  const s = samples.find((x) => x.name === 'rtmesh_errors_total' && x.labels.kind === kind);
  if (!s) throw new Error(`rtmesh_errors_total{kind="${kind}"} is missing`);
  return s.value;
}

module.exports = {
  errorCount,
  md5,
  hmac,
  signRequest,
  httpRequest,
  restRequest,
  triggerEvent,
  publish,
  triggerBatch,
  httpGet,
  parseMetrics,
  metricSum,
  getMetrics,
};
