'use strict';
// The demo's configuration, read once from the environment into a frozen object. Every value
// has a default that matches `make run`; a bad value is refused with an error naming the
// variable, so a typo never turns into a demo that silently talks to the wrong place.
//
// The app comes from the same place the nodes take it: RTMESH_APPS_FILE (the app whose id is
// RTMESH_DEMO_APP, else the first one) or the single app of RTMESH_APP_ID/_KEY/_SECRET. The
// app's feature flags decide what the page offers: typing indicators need client events,
// which only an apps file can enable.

const fs = require('node:fs');

const DEFAULT_APP = { id: 'app-id', key: 'app-key', secret: 'app-secret' };

function int(env, name, fallback, min, max) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}=${raw}: expected an integer from ${min} to ${max}`);
  return n;
}

function url(env, name, fallback) {
  const raw = env[name] || fallback;
  let u;
  try {
    u = new URL(raw);
  } catch {
    throw new Error(`${name}=${raw}: not a URL`);
  }
  if (u.protocol !== 'http:') throw new Error(`${name}=${raw}: only http:// is supported (put TLS in front)`);
  return u;
}

function appFromFile(file, wantedId) {
  let apps;
  try {
    apps = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`RTMESH_APPS_FILE=${file}: ${err.message}`);
  }
  if (!Array.isArray(apps) || apps.length === 0) throw new Error(`RTMESH_APPS_FILE=${file}: expected a non-empty array of apps`);
  const app = wantedId ? apps.find((a) => a && a.id === wantedId) : apps[0];
  if (!app) throw new Error(`RTMESH_DEMO_APP=${wantedId}: no such app in ${file}`);
  for (const k of ['id', 'key', 'secret']) {
    if (typeof app[k] !== 'string' || app[k] === '') throw new Error(`RTMESH_APPS_FILE=${file}: app "${app.id}" has no ${k}`);
  }
  return app;
}

function loadApp(env) {
  const app = env.RTMESH_APPS_FILE
    ? appFromFile(env.RTMESH_APPS_FILE, env.RTMESH_DEMO_APP)
    : { id: env.RTMESH_APP_ID || DEFAULT_APP.id, key: env.RTMESH_APP_KEY || DEFAULT_APP.key, secret: env.RTMESH_APP_SECRET || DEFAULT_APP.secret };
  return {
    id: app.id,
    key: app.key,
    secret: app.secret,
    clientEvents: app.enable_client_messages === true,
    userAuthRequired: app.enable_user_authentication === true,
  };
}

// The metrics endpoints to scrape: RTMESH_DEMO_METRICS (comma-separated URLs, one per node when
// each node has its own address) or the mesh URL's /metrics, which nodes sharing a port with
// SO_REUSEPORT answer in turn.
function metricsUrls(env, mesh) {
  const list = (env.RTMESH_DEMO_METRICS || '').split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) return [new URL('/metrics', mesh).href];
  return list.map((s) => url({ RTMESH_DEMO_METRICS: s }, 'RTMESH_DEMO_METRICS').href);
}

function loadConfig(env = process.env) {
  const mesh = url(env, 'RTMESH_DEMO_MESH', `http://127.0.0.1:${env.RTMESH_PORT || 6001}`);
  // Where browsers reach the mesh's WebSocket port; differs from RTMESH_DEMO_MESH only when the
  // app server reaches the nodes by another address than the people do.
  const ws = url(env, 'RTMESH_DEMO_WS', mesh.href);
  const scrapeMs = int(env, 'RTMESH_DEMO_SCRAPE_MS', 1000, 50, 60000);
  const config = {
    host: env.RTMESH_DEMO_HOST || '127.0.0.1',
    port: int(env, 'RTMESH_DEMO_PORT', 8080, 0, 65535),
    app: loadApp(env),
    mesh: { host: mesh.hostname, port: Number(mesh.port || 80) },
    ws: { host: ws.hostname, port: Number(ws.port || 80) },
    metrics: metricsUrls(env, mesh),
    // Fresh connections per metrics URL each round: with one shared port each reaches a node
    // the kernel picks, so several per round find every node.
    probes: int(env, 'RTMESH_DEMO_PROBES', env.RTMESH_DEMO_METRICS ? 1 : 4, 1, 32),
    scrapeMs,
    goneMs: int(env, 'RTMESH_DEMO_GONE_MS', Math.max(5000, 4 * scrapeMs), 100, 600000),
    tickMs: int(env, 'RTMESH_DEMO_TICK_MS', 1000, 50, 60000),
  };
  return Object.freeze(config);
}

module.exports = { loadConfig };
