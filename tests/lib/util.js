'use strict';
// Small pieces every suite shares: the test app's credentials, bounded waiting, and an inbox
// that lets a test wait for "the next message matching X" without racing the network.
//
// Waits are always bounded (default 5 s) and fail with a message naming what was awaited;
// tests never assert that something was quick (at most a lower bound the server enforces, such
// as a back-off, which a slow machine only lengthens).

const crypto = require('node:crypto');

const APP = Object.freeze({ id: 'app-id', key: 'app-key', secret: 'app-secret' });
const HOST = '127.0.0.1';
const WAIT_MS = 5000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Resolves or rejects like `promise`, or rejects after `ms` with "timed out ... waiting for <what>".
function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Polls `check` (sync or async) until it returns a truthy value, which is returned.
async function waitUntil(check, what, ms = WAIT_MS, intervalMs = 50) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

// A channel name no other test uses (valid Pusher characters only).
let channelCounter = 0;
function uniqueChannel(prefix = 'test') {
  channelCounter += 1;
  return `${prefix}-${process.pid}-${channelCounter}-${crypto.randomBytes(3).toString('hex')}`;
}

// Items arrive with push(); next(pred) takes (removes and returns) the oldest item matching
// pred, waiting for one if none is there yet. history keeps everything ever pushed, for
// "this never arrived" checks. end(reason) fails current and future waits that find nothing.
class Inbox {
  constructor(label) {
    this.label = label;
    this.items = [];
    this.history = [];
    this.waiters = [];
    this.endReason = null;
  }

  push(item) {
    this.history.push(item);
    const i = this.waiters.findIndex((w) => w.pred(item));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      w.resolve(item);
    } else {
      this.items.push(item);
    }
  }

  next(pred = () => true, what = 'a message', ms = WAIT_MS) {
    const i = this.items.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.items.splice(i, 1)[0]);
    const description = `${what} on ${this.label}`;
    if (this.endReason) return Promise.reject(new Error(`${description}: ${this.endReason}`));
    let waiter;
    const p = new Promise((resolve, reject) => {
      waiter = { pred, resolve, reject, description };
      this.waiters.push(waiter);
    });
    return withTimeout(p, ms, `${description} (unconsumed: ${this.summary()})`).finally(() => {
      const k = this.waiters.indexOf(waiter);
      if (k >= 0) this.waiters.splice(k, 1);
    });
  }

  seen(pred) {
    return this.history.some(pred);
  }

  clear() {
    this.items = [];
  }

  end(reason) {
    if (this.endReason) return;
    this.endReason = reason;
    for (const w of this.waiters.splice(0)) w.reject(new Error(`${w.description}: ${reason}`));
  }

  summary() {
    const shown = this.items.slice(-5).map((m) => JSON.stringify(m).slice(0, 200));
    return `${this.items.length} [${shown.join(', ')}]`;
  }
}

module.exports = { APP, HOST, WAIT_MS, sleep, withTimeout, waitUntil, uniqueChannel, Inbox };
