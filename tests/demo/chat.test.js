'use strict';
// The demo app in a real browser, with an app from an apps file that allows client events and
// requires user authentication (as `make run` serves it): two people chat on the presence
// channel, see each other come and go and type, watch the dashboard chart move, and one waves
// at the other, who alone is notified. Then the status page shows both nodes and both shards,
// and follows a shard and a node being killed. Screenshots go to the artifacts directory.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { killProcess, HOST } = require('../lib/mesh');
const { openPage, waitFor, screenshot, DESKTOP, PHONE } = require('../lib/browser');
const { useDemo } = require('../lib/demo-server');
const page = require('../lib/demo-page');

const APPS = [{ id: 'demo', key: 'demo-key', secret: 'demo-secret', enable_client_messages: true, enable_user_authentication: true }];

const { mesh, demo, browser } = useDemo({ apps: APPS });

test('two people chat, see who is online and typing, watch the chart, and one is notified', async () => {
  const alice = await page.openChat(browser(), demo().url);
  const bob = await page.openChat(browser(), demo().url, PHONE);
  await page.rename(alice, 'Alice');
  await page.rename(bob, 'Bob');
  await page.waitOnline(alice, ['Alice', 'Bob']);
  await page.waitOnline(bob, ['Alice', 'Bob']);

  await bob.locator('#message').pressSequentially('Hello');
  await waitFor(alice, 'Bob typing on Alice\'s page', () => document.getElementById('typing').textContent === 'Bob is typing…');
  await page.say(bob, 'Hello Alice');
  await page.waitMessage(alice, 'Bob', 'Hello Alice');
  await page.say(alice, 'Hi Bob, the chart is moving');
  await page.waitMessage(bob, 'Alice', 'Hi Bob, the chart is moving');
  await page.waitMessage(alice, 'Alice', 'Hi Bob, the chart is moving');

  const points = await page.waitChartPoints(alice, 3);
  await page.waitChartPoints(alice, points + 1);
  assert.match(await alice.textContent('#orders'), /^\d+$/);

  await page.wave(bob, 'Alice');
  await page.waitNotification(alice, 'Bob waved at you');
  assert.equal(await bob.locator('#notifications li').count(), 0, 'the notification went to Alice only');

  await page.waitFitsWidth(bob);
  await screenshot(alice, 'demo-chat-desktop');
  await screenshot(bob, 'demo-chat-phone');
  assert.deepEqual(bob.problems, []);
  await bob.context().close();
  await page.waitOnline(alice, ['Alice']);
  assert.deepEqual(alice.problems, []);
  await alice.context().close();
});

test('the status page shows both nodes and both shards, and follows a shard and a node dying', async () => {
  const status = await openPage(browser());
  await status.goto(`${demo().url}status`);
  const pids = [0, 1].map((i) => mesh().process('node', i).child.pid);
  const shards = mesh().brokerPorts.map((p) => `tcp://${HOST}:${p}`);
  const nodeUp = (pid, up) => waitFor(status, `node with pid ${pid} shown ${up ? 'up' : 'gone'}`, ([p, u]) => {
    const row = [...document.querySelectorAll('#nodes tr[data-node-id]')].find((r) => r.dataset.nodeId.endsWith(`/${p}`));
    return row && row.dataset.up === String(u);
  }, [pid, up]);
  const shardLive = (endpoint, live) => waitFor(status, `shard ${endpoint} shown ${live ? 'live' : 'down'}`, ([e, l]) => {
    const row = [...document.querySelectorAll('#shards tr[data-shard]')].find((r) => r.dataset.shard === e);
    return row && row.dataset.live === String(l);
  }, [endpoint, live]);

  await waitFor(status, 'the page to connect to the mesh', () => document.body.dataset.connection === 'connected');
  for (const pid of pids) await nodeUp(pid, true);
  for (const s of shards) await shardLive(s, true);
  await screenshot(status, 'demo-status');
  await status.setViewportSize(PHONE);
  await page.waitFitsWidth(status);
  await screenshot(status, 'demo-status-phone');
  await status.setViewportSize(DESKTOP);

  await killProcess(mesh(), 'broker', 1);
  await shardLive(shards[1], false);
  await shardLive(shards[0], true);
  await screenshot(status, 'demo-status-shard-down');

  await killProcess(mesh(), 'node', 1);
  await nodeUp(pids[1], false);
  await nodeUp(pids[0], true);
  assert.deepEqual(status.problems, []);
  await status.context().close();
});
