'use strict';
// The publishing service behind the dashboard chart: every tick it publishes one reading of a
// simulated shop (orders per minute and checkout latency, random walks) through the REST API
// with the `pusher` SDK, as any backend job would. It publishes on a cache channel, so a page
// that opens mid-stream gets the latest reading at once instead of an empty chart.

const { every } = require('./every');

const CHANNEL = 'cache-dashboard';
const EVENT = 'reading';

const clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x));

class Dashboard {
  // pusher: a `pusher` SDK client; tickMs: publish period; log: (line) → void.
  constructor({ pusher, tickMs, log }) {
    this.pusher = pusher;
    this.tickMs = tickMs;
    this.log = log;
    this.seq = 0;
    this.orders = 120;
    this.latencyMs = 80;
    this.failures = 0;
    this.stopLoop = null;
  }

  next() {
    this.orders = clamp(this.orders + (Math.random() - 0.5) * 30, 20, 400);
    this.latencyMs = clamp(this.latencyMs + (Math.random() - 0.5) * 20, 20, 400);
    this.seq += 1;
    return { seq: this.seq, at: Date.now(), ordersPerMinute: Math.round(this.orders), checkoutMs: Math.round(this.latencyMs) };
  }

  async publish() {
    try {
      await this.pusher.trigger(CHANNEL, EVENT, this.next());
    } catch (err) {
      // The mesh refuses a publish while a shard fails over (503); the next tick tries again.
      this.failures += 1;
      this.log(`event=dashboard_publish_failed status=${err.status || 'none'} failures=${this.failures}`);
    }
  }

  start() {
    this.stopLoop = every(this.tickMs, () => this.publish());
  }

  stop() {
    if (this.stopLoop) this.stopLoop();
  }
}

module.exports = { Dashboard, CHANNEL, EVENT };
