'use strict';
// The demo app with the mesh's default app (RTMESH_APP_ID/_KEY/_SECRET, no apps file): client
// events are off there, so the page says typing indicators are unavailable instead of sending
// events the mesh would refuse; chat, the chart and notifications to a signed-in user work as
// with any app, and nothing is logged as an error in the browser.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { useMesh } = require('../lib/mesh');
const { launchBrowser, waitFor, PHONE } = require('../lib/browser');
const { startDemo } = require('../lib/demo-server');
const page = require('../lib/demo-page');

let demo = null;
let browser = null;
useMesh(
  {},
  {
    setup: async (m) => {
      demo = await startDemo(m);
      browser = await launchBrowser();
    },
    teardown: async () => {
      if (browser) await browser.close();
      if (demo) await demo.stop();
    },
  },
);

test('with the default app: chat, chart and notifications work, typing is explained', async () => {
  const carol = await page.openChat(browser, demo.url, PHONE);
  const dave = await page.openChat(browser, demo.url);
  await page.rename(carol, 'Carol');
  await page.rename(dave, 'Dave');
  await page.waitOnline(carol, ['Carol', 'Dave']);
  await page.waitOnline(dave, ['Carol', 'Dave']);
  assert.match(await carol.textContent('#typing'), /enable_client_messages/);

  await page.say(dave, 'Works with the default app too');
  await page.waitMessage(carol, 'Dave', 'Works with the default app too');
  await page.waitChartPoints(carol, 2);
  await page.wave(carol, 'Dave');
  await page.waitNotification(dave, 'Carol waved at you');
  await waitFor(dave, 'Dave still connected', () => document.body.dataset.connection === 'connected');

  assert.equal(await page.overflowsHorizontally(carol), false, 'the phone-width page fits its screen');
  assert.deepEqual(carol.problems, []);
  assert.deepEqual(dave.problems, []);
  await carol.context().close();
  await dave.context().close();
});
