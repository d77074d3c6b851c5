'use strict';
// Channel queries through the server SDK's pusher.get({path, params}), answered mesh-wide
// (every shard, subscribers on every node):
//   GET /channels[?filter_by_prefix][&info=user_count,subscription_count]
//   GET /channels/{name}[?info=user_count,subscription_count,cache]
//   GET /channels/{name}/users
// and the 400 answers for attributes that do not apply. Also POST /events and /batch_events
// with "info": each channel's counts as its owner holds them when it publishes.
//
// Occupancy changes reach the shards asynchronously, so a query that must see a change polls
// until it does (bounded).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, uniqueChannel, waitUntil, APP } = require('../lib/mesh');
const { subscribe } = require('../lib/pusher-clients');
const { OTHER_APP, sdkFor, spreadNames, connectApp, query, queryOk } = require('../lib/features');

// APP has subscription_count on; OTHER_APP does not.
const mesh = useMesh({
  shards: 2,
  nodes: 2,
  workers: 2,
  apps: [{ ...APP, subscription_count: true }, { ...OTHER_APP }],
});
const port = (node) => mesh().nodePort(node);
const sdk = (node, app) => sdkFor(port(node), app);
const member = (id) => ({ user_id: id, user_info: { id } });
const sorted = (obj) => Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : 1)));

// Polls GET path on both nodes until both answer 200 with a body satisfying `ok`; returns
// the bodies.
async function eventually(path, params, ok, what) {
  let last;
  await waitUntil(async () => {
    last = [await query(sdk(0), path, params), await query(sdk(1), path, params)];
    return last.every((r) => r.status === 200 && ok(r.body));
  }, `GET ${path} ${JSON.stringify(params || {})}: ${what}`).catch((err) => {
    throw new Error(`${err.message}; last answers: ${JSON.stringify(last)}`);
  });
  return last.map((r) => r.body);
}

test('GET /channels lists the occupied channels of every shard and node, filtered by prefix', async (t) => {
  const prefix = `${uniqueChannel('q')}-`;
  const names = Array.from({ length: 16 }, (_, i) => `${prefix}${i}`);
  const clients = [await connectApp(port(0), t), await connectApp(port(1), t)];
  for (const [i, name] of names.entries()) await subscribe(clients[i % 2], name);
  const all = Object.fromEntries(names.map((n) => [n, {}]));
  const [body] = await eventually(
    '/channels',
    { filter_by_prefix: prefix },
    (b) => b.channels && Object.keys(b.channels).length === names.length,
    'all 16 channels listed',
  );
  assert.deepEqual(sorted(body.channels), sorted(all));

  // The unfiltered list holds them too (and possibly other tests' channels).
  const everything = await queryOk(sdk(1), '/channels');
  for (const name of names) assert.deepEqual(everything.channels[name], {}, name);

  // Channels nobody subscribes to any more disappear.
  for (const [i, name] of names.entries()) if (i % 4 === 0) clients[i % 2].unsubscribe(name);
  const left = Object.fromEntries(names.filter((_, i) => i % 4 !== 0).map((n) => [n, {}]));
  const [after] = await eventually(
    '/channels',
    { filter_by_prefix: prefix },
    (b) => b.channels && Object.keys(b.channels).length === Object.keys(left).length,
    'vacated channels to disappear',
  );
  assert.deepEqual(sorted(after.channels), sorted(left));
});

test('GET /channels?filter_by_prefix=presence-…&info=user_count counts users, not connections', async (t) => {
  const prefix = `presence-${uniqueChannel('q')}-`;
  const [p1, p2] = [`${prefix}one`, `${prefix}two`];
  // alice twice (both nodes) and bob on p1; carol on p2.
  for (const [node, id, channel] of [
    [0, 'alice', p1],
    [1, 'alice', p1],
    [1, 'bob', p1],
    [0, 'carol', p2],
  ]) {
    await subscribe(await connectApp(port(node), t, { member: member(id) }), channel);
  }
  const expected = { [p1]: { user_count: 2 }, [p2]: { user_count: 1 } };
  const [body] = await eventually(
    '/channels',
    { filter_by_prefix: prefix, info: 'user_count' },
    (b) => b.channels && JSON.stringify(sorted(b.channels)) === JSON.stringify(sorted(expected)),
    'user counts',
  );
  assert.deepEqual(sorted(body.channels), sorted(expected));
});

test('info=user_count on /channels without a presence- prefix is 400', async () => {
  for (const params of [{ info: 'user_count' }, { info: 'user_count', filter_by_prefix: 'private-' }, { info: 'user_count', filter_by_prefix: 'pres' }]) {
    const res = await query(sdk(0), '/channels', params);
    assert.equal(res.status, 400, `${JSON.stringify(params)} → ${res.status} ${JSON.stringify(res.body)}`);
  }
});

test('info=subscription_count counts connections mesh-wide; 400 for apps without the option', async (t) => {
  const prefix = `${uniqueChannel('q')}-`;
  const [busy, quiet] = [`${prefix}busy`, `private-${prefix}quiet`];
  for (const [node, channel] of [
    [0, busy],
    [1, busy],
    [1, busy],
    [0, quiet],
  ]) {
    await subscribe(await connectApp(port(node), t), channel);
  }
  const [list] = await eventually(
    '/channels',
    { filter_by_prefix: prefix, info: 'subscription_count' },
    (b) => b.channels && b.channels[busy] && b.channels[busy].subscription_count === 3,
    'subscription counts in the list',
  );
  assert.deepEqual(sorted(list.channels), sorted({ [busy]: { subscription_count: 3 } }));
  const [privateList] = await eventually(
    '/channels',
    { filter_by_prefix: 'private-' + prefix, info: 'subscription_count' },
    (b) => b.channels && b.channels[quiet],
    'the private channel listed',
  );
  assert.deepEqual(privateList.channels, { [quiet]: { subscription_count: 1 } });

  const [single] = await eventually(
    `/channels/${busy}`,
    { info: 'subscription_count' },
    (b) => b.subscription_count === 3,
    'subscription_count of one channel',
  );
  assert.deepEqual(single, { occupied: true, subscription_count: 3 });

  const name = uniqueChannel('other-app');
  await subscribe(await connectApp(port(0), t, { app: OTHER_APP }), name);
  for (const [path, params] of [
    ['/channels', { info: 'subscription_count' }],
    [`/channels/${name}`, { info: 'subscription_count' }],
  ]) {
    const res = await query(sdk(1, OTHER_APP), path, params);
    assert.equal(res.status, 400, `${path} ${JSON.stringify(params)} → ${res.status} ${JSON.stringify(res.body)}`);
  }
});

test('GET /channels/{name}: occupied, user_count for presence, 400 for attributes that do not apply', async (t) => {
  const empty = uniqueChannel('q-empty');
  assert.deepEqual(await queryOk(sdk(0), `/channels/${empty}`), { occupied: false });

  const publicName = uniqueChannel('q-public');
  await subscribe(await connectApp(port(1), t), publicName);
  const [occupied] = await eventually(`/channels/${publicName}`, undefined, (b) => b.occupied === true, 'occupied');
  assert.deepEqual(occupied, { occupied: true });

  const presence = uniqueChannel('presence-q');
  await subscribe(await connectApp(port(0), t, { member: member('ann') }), presence);
  await subscribe(await connectApp(port(1), t, { member: member('ann') }), presence);
  await subscribe(await connectApp(port(1), t, { member: member('bo') }), presence);
  const [info] = await eventually(`/channels/${presence}`, { info: 'user_count' }, (b) => b.user_count === 2, 'user_count 2');
  assert.deepEqual(info, { occupied: true, user_count: 2 });

  for (const [name, params] of [
    [publicName, { info: 'user_count' }],
    [publicName, { info: 'cache' }],
    [presence, { info: 'cache' }],
  ]) {
    const res = await query(sdk(0), `/channels/${name}`, params);
    assert.equal(res.status, 400, `${name} ${JSON.stringify(params)} → ${res.status} ${JSON.stringify(res.body)}`);
  }
});

test('GET /channels/{name}?info=cache: null while empty, then the last event with its ttl', async (t) => {
  for (const prefix of ['cache-', 'private-cache-', 'presence-cache-']) {
    const name = uniqueChannel(`${prefix}q`);
    const empty = await queryOk(sdk(0), `/channels/${name}`, { info: 'cache' });
    assert.deepEqual(empty, { occupied: false, cache: null });

    await sdk(1).trigger(name, 'first', { n: 1 });
    await sdk(0).trigger(name, 'second', { n: 2 });
    for (const node of [0, 1]) {
      const body = await queryOk(sdk(node), `/channels/${name}`, { info: 'cache' });
      assert.equal(body.occupied, false);
      assert.equal(body.cache.event, 'second');
      assert.equal(body.cache.data, JSON.stringify({ n: 2 }));
      assert.ok(Number.isInteger(body.cache.ttl) && body.cache.ttl > 0 && body.cache.ttl <= 1800, JSON.stringify(body));
    }
  }
  // Attributes combine.
  const name = uniqueChannel('presence-cache-q');
  await subscribe(await connectApp(port(1), t, { member: member('cy') }), name);
  await sdk(0).trigger(name, 'only', 'x');
  const [both] = await eventually(`/channels/${name}`, { info: 'user_count,cache' }, (b) => b.user_count === 1, 'user_count and cache');
  assert.equal(both.occupied, true);
  assert.equal(both.cache.event, 'only');
  assert.equal(both.cache.data, 'x');
});

test('GET /channels/{name}/users lists each user once; 400 for non-presence channels', async (t) => {
  const name = uniqueChannel('presence-users');
  for (const [node, user] of [
    [0, 'ann'],
    [1, 'ann'],
    [1, 'bo'],
    [0, 10],
  ]) {
    await subscribe(await connectApp(port(node), t, { member: { user_id: user, user_info: { n: 1 } } }), name);
  }
  const expected = [{ id: 10 }, { id: 'ann' }, { id: 'bo' }]; // 10 as the app gave it
  const byId = (list) => [...list].sort((a, b) => (String(a.id) < String(b.id) ? -1 : 1));
  const [body] = await eventually(`/channels/${name}/users`, undefined, (b) => b.users && b.users.length === 3, 'three users');
  assert.deepEqual(Object.keys(body), ['users']);
  assert.deepEqual(byId(body.users), expected);

  for (const other of [uniqueChannel('public-users'), uniqueChannel('private-users')]) {
    const res = await query(sdk(1), `/channels/${other}/users`);
    assert.equal(res.status, 400, `${other} → ${res.status} ${JSON.stringify(res.body)}`);
  }
});

test('POST /events and /batch_events with info answer the mesh-wide counts of each channel', async (t) => {
  const pubs = spreadNames('q-info'); // owned by both shards
  const pub = pubs[0];
  const pres = uniqueChannel('presence-q-info');
  for (const node of [0, 1]) {
    const client = await connectApp(port(node), t);
    for (const name of pubs) await subscribe(client, name);
  }
  for (const [node, user] of [
    [0, 'ann'],
    [1, 'ann'],
    [1, 'bo'],
  ])
    await subscribe(await connectApp(port(node), t, { member: member(user) }), pres);
  // Counts reach the owners asynchronously: trigger until they show (each trigger is answered
  // with the counts as of that publish).
  const want = { channels: { ...Object.fromEntries(pubs.map((name) => [name, { subscription_count: 2 }])), [pres]: { user_count: 2 } } };
  let last;
  await waitUntil(async () => {
    const res = await sdk(1).trigger([...pubs, pres], 'with-info', { x: 1 }, { info: 'subscription_count,user_count' });
    last = await res.json();
    return JSON.stringify(last) === JSON.stringify(want);
  }, 'the trigger answer').catch((err) => {
    throw new Error(`${err.message}; last answer: ${JSON.stringify(last)}`);
  });

  const batch = await sdk(0).triggerBatch([
    { channel: pub, name: 'b', data: '{}', info: 'subscription_count,user_count' },
    { channel: pres, name: 'b', data: '{}' },
    { channel: pres, name: 'b', data: '{}', info: 'user_count,subscription_count' },
  ]);
  assert.deepEqual(await batch.json(), { batch: [{ subscription_count: 2 }, {}, { user_count: 2 }] });

  // Without info the answer stays {}; an app without subscription_count gets no such attribute.
  assert.deepEqual(await (await sdk(0).trigger(pub, 'plain', {})).json(), {});
  const other = await sdk(1, OTHER_APP).trigger(pub, 'other', {}, { info: 'subscription_count' });
  assert.deepEqual(await other.json(), { channels: { [pub]: {} } });
});
