'use strict';
// The soak's invariant checks (history.js) on made-up histories: each one must catch what it
// is there to catch, and accept what the Pusher semantics allow.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { accountPublishes, orderViolations, webhookConsumer, percentile } = require('./history');

const NOTICE = 1000;
const pub = (s, sent, ok = true, ch = 'a') => ({ t: 'pub', p: 'rest', ch, s, sent, done: sent + 5, ok, status: ok ? 200 : 503 });
const recv = (c, s, at, ch = 'a') => ({ t: 'recv', c, ch, p: 'rest', s, at });
const sub = (c, at, ch = 'a') => ({ t: 'sub', c, ch, at });
const down = (c, at) => ({ t: 'down', c, at });

test('an acknowledged publish a subscribed client missed with no reconnect after it is lost', () => {
  const h = [sub('x', 0), sub('y', 0), pub(1, 10), recv('x', 1, 12), recv('y', 1, 12), pub(2, 20), recv('x', 2, 22)];
  const r = accountPublishes(h, NOTICE);
  assert.equal(r.acked, 2);
  assert.equal(r.received, 1);
  assert.equal(r.lost, 1);
  assert.deepEqual(r.lostPublishes.map((l) => [l.client, l.s]), [['y', 2]]);
});

test('missed then told to reconnect within the notice window: told; after it: lost', () => {
  const told = accountPublishes([sub('x', 0), pub(1, 10), down('x', 10 + NOTICE)], NOTICE);
  assert.deepEqual([told.told, told.lost], [1, 0]);
  const late = accountPublishes([sub('x', 0), pub(1, 10), down('x', 11 + NOTICE)], NOTICE);
  assert.deepEqual([late.told, late.lost], [0, 1]);
});

test('a publish sent while the client was down, or before it ever subscribed, is not owed to it', () => {
  const h = [sub('x', 0), down('x', 5), pub(1, 10), sub('x', 20), pub(2, 30), recv('x', 2, 31), sub('y', 40)];
  const r = accountPublishes(h, NOTICE);
  assert.deepEqual([r.unsubscribed, r.received, r.lost], [1, 1, 0]);
});

test('refused publishes are owed to nobody', () => {
  const r = accountPublishes([sub('x', 0), pub(1, 10, false)], NOTICE);
  assert.deepEqual([r.acked, r.lost], [0, 0]);
});

test('order: a repeat or a step back per client, channel and publisher is a violation; a gap is not', () => {
  const never = () => false;
  assert.deepEqual(orderViolations([recv('x', 1, 1), recv('x', 3, 2), recv('y', 2, 3)], never), []);
  assert.equal(orderViolations([recv('x', 2, 1), recv('x', 1, 2)], never).length, 1);
  assert.equal(orderViolations([recv('x', 2, 1), recv('x', 2, 2)], never).length, 1);
});

test('order: on a cache channel the cached event right after a resubscription is not a repeat', () => {
  const isCache = (ch) => ch.startsWith('cache-');
  const h = [sub('x', 0, 'cache-a'), recv('x', 1, 1, 'cache-a'), recv('x', 2, 2, 'cache-a'), sub('x', 3, 'cache-a'), recv('x', 2, 4, 'cache-a'), recv('x', 3, 5, 'cache-a')];
  assert.deepEqual(orderViolations(h, isCache), []);
  assert.equal(orderViolations(h, () => false).length, 1, 'on another channel it is');
});

test('the webhook consumer keeps who is online and counts what makes no sense to it', () => {
  const hook = (name, user) => ({ t: 'hook', name, ch: 'presence-a', user, at: 0 });
  const r = webhookConsumer([hook('channel_occupied'), hook('member_added', 'u1'), hook('member_added', 'u2'), hook('member_added', 'u1'), hook('member_removed', 'u2'), hook('member_removed', 'u3')]);
  assert.deepEqual([...r.online.get('presence-a')], ['u1']);
  assert.equal(r.delivered, 6);
  assert.equal(r.duplicated, 2);
});

test('percentile by nearest rank', () => {
  assert.equal(percentile([], 50), null);
  assert.equal(percentile([5, 1, 3], 50), 3);
  assert.equal(percentile([5, 1, 3], 99), 5);
  assert.equal(percentile([5, 1, 3], 0), 1);
});
