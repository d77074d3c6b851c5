'use strict';
// The demo app with the mesh's default app (RTMESH_APP_ID/_KEY/_SECRET, no apps file): client
// events are off there, so the page says typing indicators are unavailable instead of sending
// events the mesh would refuse; chat, the chart and notifications to a signed-in user work as
// with any app, and nothing is logged as an error in the browser. The app server's endpoints
// refuse bad requests with a clear, counted error, and the secret never reaches the page.

const assert = require('node:assert/strict');
const { test } = require('node:test');
const { APP } = require('../lib/mesh');
const { waitFor, PHONE } = require('../lib/browser');
const { useDemo } = require('../lib/demo-server');
const page = require('../lib/demo-page');

const { demo, browser } = useDemo({});

test('with the default app: chat, chart and notifications work, typing is explained', async () => {
  const carol = await page.openChat(browser(), demo().url, PHONE);
  const dave = await page.openChat(browser(), demo().url);
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

  await page.waitFitsWidth(carol);
  assert.deepEqual(carol.problems, []);
  assert.deepEqual(dave.problems, []);
  await carol.context().close();
  await dave.context().close();
});

test('the app server refuses bad requests with a clear error and counts them; the page never has the secret', async () => {
  const base = demo().url;
  const first = await fetch(base);
  const cookie = first.headers.get('set-cookie').split(';')[0];
  const html = await first.text();
  const form = (body, withCookie = true) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(withCookie ? { cookie } : {}) },
    body: new URLSearchParams(body).toString(),
  });
  const json = (body) => ({ method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify(body) });
  const refusals = [
    ['/pusher/auth', form({ socket_id: '1.2', channel_name: 'presence-chat' }, false), 401, /no session/],
    ['/pusher/auth', form({ socket_id: '1.2', channel_name: 'private-secrets' }), 403, /only presence-chat/],
    ['/pusher/auth', form({ socket_id: 'x', channel_name: 'presence-chat' }), 400, /socket_id/],
    ['/pusher/user-auth', form({}), 400, /socket_id/],
    ['/api/me', json({ name: ' ' }), 400, /name/],
    ['/api/me', json({ name: 'x'.repeat(33) }), 400, /name/],
    ['/api/messages', { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: '[' }, 400, /JSON/],
    ['/api/notify', json({ to: '../../x' }), 400, /user id/],
    ['/static/..%2Fserver.js', {}, 404, /no GET/],
  ];
  for (const [path, init, status, message] of refusals) {
    const res = await fetch(base + path.slice(1), init);
    assert.equal(res.status, status, `${path} ${init.body || ''}`);
    assert.match((await res.json()).error, message);
  }
  const stats = await (await fetch(`${base}api/stats`)).json();
  assert.ok(stats.refused >= refusals.length, `refusals counted: ${JSON.stringify(stats)}`);

  const signed = await (await fetch(`${base}pusher/auth`, form({ socket_id: '123.456', channel_name: 'presence-chat' }))).json();
  assert.match(signed.auth, /^app-key:[0-9a-f]{64}$/);
  const me = await (await fetch(`${base}api/me`, { headers: { cookie } })).text();
  for (const text of [html, me, await (await fetch(`${base}static/app.js`)).text(), await (await fetch(`${base}static/common.js`)).text()]) {
    assert.equal(text.includes(APP.secret), false, 'the app secret is not in what the page gets');
  }
});
