'use strict';
// Disabled apps, with pusher-js and the `pusher` SDK on 2 nodes and 2 shards: an app whose
// apps-file entry says "enabled": false refuses WebSocket connections with pusher:error 4003
// and close 4003 (pusher-js then gives up) and REST calls with 403, on every node, while the
// other apps are served. SIGHUP makes the nodes take the file's "enabled" flags again without
// a restart: an app enabled now is served, one disabled now has its open connections closed
// with 4003 and its REST calls refused.

const fs = require('node:fs');
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, openWebSocket, waitUntil, uniqueChannel } = require('../lib/mesh');
const { createPusherJs, subscribe, waitForEvent, rejection } = require('../lib/pusher-clients');
const { sdkFor, connectApp, closedByServer } = require('../lib/features');

const ON = Object.freeze({ id: 'app-on', key: 'key-on', secret: 'secret-on' });
const OFF = Object.freeze({ id: 'app-off', key: 'key-off', secret: 'secret-off' });
const mesh = useMesh({ shards: 2, nodes: 2, workers: 2, apps: [{ ...ON }, { ...OFF, enabled: false }] });
const port = (node) => mesh().nodePort(node);
const NODES = [0, 1];

// A disabled app's connection: pusher:error 4003 then close 4003 on a raw client, and
// pusher-js stops trying.
async function assertRefused(app, node, t) {
  const raw = await openWebSocket(port(node), { path: `/app/${app.key}?protocol=7` });
  t.after(() => raw.destroy());
  const close = await raw.waitForClose();
  assert.equal(close && close.code, 4003, `node ${node}: close ${JSON.stringify(close)}`);
  assert.deepEqual(raw.errorBeforeClose(), { event: 'pusher:error', data: { code: 4003, message: close.reason } });
  const client = createPusherJs(port(node), t, { appKey: app.key });
  assert.ok((await closedByServer(client)).includes(4003), `node ${node}: pusher-js was not told 4003`);
}

// Serves an app's event end to end: a subscriber on one node, the trigger through the other.
async function assertServed(app, t) {
  const channel = await subscribe(await connectApp(port(0), t, { app }), uniqueChannel('on'));
  const got = waitForEvent(channel, 'served');
  await sdkFor(port(1), app).trigger(channel.name, 'served', { app: app.id });
  assert.deepEqual(await got, { app: app.id });
}

async function assertRestRefused(app) {
  for (const node of NODES) {
    const err = await rejection(sdkFor(port(node), app).trigger('any', 'e', {}), `trigger for ${app.id}`);
    assert.equal(err.status, 403, `node ${node}: ${err.status} ${err.body}`);
    assert.deepEqual(JSON.parse(err.body), { error: 'Application is disabled' });
  }
}

// Rewrites the apps file and sends SIGHUP to every node; resolves once each logged the reload.
async function reloadApps(apps) {
  fs.writeFileSync(mesh().appsFile, JSON.stringify(apps));
  for (const node of NODES) {
    const proc = mesh().process('node', node);
    const before = (proc.log.text.match(/event=apps_reload /g) || []).length;
    proc.child.kill('SIGHUP');
    await waitUntil(() => (proc.log.text.match(/event=apps_reload /g) || []).length > before, `node ${node} to reload`);
  }
}

test('a disabled app is refused (4003, REST 403) on every node; the other app is served', async (t) => {
  for (const node of NODES) await assertRefused(OFF, node, t);
  await assertRestRefused(OFF);
  await assertServed(ON, t);
});

test('SIGHUP takes "enabled" from the apps file: enabled apps are served, disabled ones closed', async (t) => {
  const open = [];
  for (const node of NODES) {
    const client = await connectApp(port(node), t, { app: ON });
    await subscribe(client, uniqueChannel('open'));
    open.push(client);
  }
  await reloadApps([{ ...ON, enabled: false }, { ...OFF }]);
  for (const client of open) assert.ok((await closedByServer(client)).includes(4003), 'an open connection of the disabled app');
  for (const node of NODES) await assertRefused(ON, node, t);
  await assertRestRefused(ON);
  await assertServed(OFF, t);

  await reloadApps([{ ...ON }, { ...OFF, enabled: false }]); // as it was
  await assertServed(ON, t);
});
