'use strict';
// A real HTTP server that receives webhooks, as an app server would: every request is recorded
// with its headers and exact body, and checked with the `pusher` SDK's own webhook verification
// (pusher.webhook({headers, rawBody}).isValid()). Each path can be told how to answer: a fixed
// status, or a status for the first N requests and 200 after; instead of a status, 'reset'
// (the connection is reset, no answer) or 'hang' (no answer, ever: the sender must time out).
// It listens on 127.0.0.1 unless given another host (e.g. a network namespace's address);
// onRequest, when set, is called with every request's record as it is answered.

const http = require('node:http');
const PusherServer = require('pusher');
const { HOST, waitUntil } = require('./util');

class WebhookReceiver {
  constructor(app, { host = HOST } = {}) {
    this.app = app;
    this.host = host;
    this.sdk = new PusherServer({ appId: app.id, key: app.key, secret: app.secret, host, useTLS: false });
    this.requests = []; // {path, headers, rawBody, data, valid, status, at (ms, when answered)}
    this.behaviour = new Map(); // path -> {status, first, then}
    this.seen = new Map(); // path -> requests so far
    this.onRequest = null;
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  async start() {
    await new Promise((resolve) => this.server.listen({ port: 0, host: this.host }, resolve));
    this.port = this.server.address().port;
    return this;
  }

  stop() {
    const closed = new Promise((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections(); // hung requests too
    return closed;
  }

  url(path) {
    return `http://${this.host}:${this.port}${path}`;
  }

  // Answer `status` (an HTTP status, 'reset' or 'hang') to the first `first` requests on path
  // (all of them if first is undefined).
  answer(path, status, first) {
    this.behaviour.set(path, { status, first });
  }

  handle(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const n = (this.seen.get(req.url) || 0) + 1;
      this.seen.set(req.url, n);
      const b = this.behaviour.get(req.url);
      const status = b && (b.first === undefined || n <= b.first) ? b.status : 200;
      const webhook = this.sdk.webhook({ headers: req.headers, rawBody });
      const valid = webhook.isValid();
      const record = { path: req.url, headers: req.headers, rawBody, data: valid ? webhook.getData() : null, valid, status, at: Date.now() };
      this.requests.push(record);
      if (this.onRequest) this.onRequest(record);
      if (status === 'reset') return req.socket.resetAndDestroy();
      if (status === 'hang') return undefined;
      res.writeHead(status, { 'Content-Type': 'text/plain' });
      return res.end(String(status));
    });
  }

  // Every event received on path (from requests answered 2xx unless all is true), in order.
  events(path, { all = false } = {}) {
    return this.requests
      .filter((r) => r.path === path && r.data && (all || (r.status >= 200 && r.status < 300)))
      .flatMap((r) => r.data.events);
  }

  // Events on path matching pred (an object of fields, or a function).
  matching(path, pred, options) {
    const f = typeof pred === 'function' ? pred : (e) => Object.entries(pred).every(([k, v]) => e[k] === v);
    return this.events(path, options).filter(f);
  }

  // Waits until `count` events matching pred arrived on path; resolves with them.
  async waitFor(path, pred, what, count = 1, ms) {
    return waitUntil(() => {
      const got = this.matching(path, pred);
      return got.length >= count ? got : null;
    }, `${what} on ${path} (have ${JSON.stringify(this.events(path)).slice(0, 600)})`, ms);
  }
}

module.exports = { WebhookReceiver };
