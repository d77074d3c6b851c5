'use strict';
// Feeds the status page over rtmesh itself: every scrape round of the MeshWatch becomes one
// event on a public system channel, published through the REST API like any other event. The
// latest snapshot is also kept for GET /api/status, so a page that opens draws at once.
// While a shard fails over the mesh may refuse the publish (503): the round is counted and the
// next one publishes again, so the page shows the failover as it happens.

const { every } = require('./every');

const CHANNEL = 'mesh-status';
const EVENT = 'status';

class StatusFeed {
  // watch: a MeshWatch; pusher: a `pusher` SDK client; periodMs; log: (line) → void.
  constructor({ watch, pusher, periodMs, log }) {
    this.watch = watch;
    this.pusher = pusher;
    this.periodMs = periodMs;
    this.log = log;
    this.latest = watch.snapshot();
    this.failures = 0;
    this.stopLoop = null;
  }

  async tick() {
    await this.watch.round();
    this.latest = this.watch.snapshot();
    try {
      await this.pusher.trigger(CHANNEL, EVENT, this.latest);
    } catch (err) {
      this.failures += 1;
      this.log(`event=status_publish_failed status=${err.status || 'none'} failures=${this.failures}`);
    }
  }

  start() {
    this.stopLoop = every(this.periodMs, () => this.tick());
  }

  stop() {
    if (this.stopLoop) this.stopLoop();
  }
}

module.exports = { StatusFeed, CHANNEL, EVENT };
