#!/usr/bin/env node
'use strict';
// rtmesh demo app server: reads the configuration (lib/config.js), connects the `pusher` SDK
// to the mesh, starts the dashboard publisher and the mesh status feed, and serves the pages.
// Prints "demo listening on URL" once it accepts connections; SIGINT/SIGTERM stop it cleanly.

const http = require('node:http');
const Pusher = require('pusher');
const { loadConfig } = require('./lib/config');
const { Sessions } = require('./lib/sessions');
const { MeshWatch } = require('./lib/mesh-watch');
const { StatusFeed } = require('./lib/status-feed');
const { Dashboard } = require('./lib/dashboard');
const { createApp } = require('./lib/app');

const log = (line) => process.stderr.write(`ts=${new Date().toISOString()} ${line}\n`);

function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`rtmesh demo: ${err.message}\n`);
    process.exit(2);
  }
  const pusher = new Pusher({
    appId: config.app.id,
    key: config.app.key,
    secret: config.app.secret,
    host: config.mesh.host,
    port: String(config.mesh.port),
    useTLS: false,
  });
  const watch = new MeshWatch({ urls: config.metrics, probes: config.probes, goneMs: config.goneMs });
  const feed = new StatusFeed({ watch, pusher, periodMs: config.scrapeMs, log });
  const dashboard = new Dashboard({ pusher, tickMs: config.tickMs, log });
  const app = createApp({ config, pusher, sessions: new Sessions(), feed, log });

  const server = http.createServer((req, res) => app.handle(req, res));
  server.on('error', (err) => {
    process.stderr.write(`rtmesh demo: cannot listen on ${config.host}:${config.port}: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(config.port, config.host, () => {
    const { port } = server.address();
    feed.start();
    dashboard.start();
    log(`event=started app=${config.app.id} mesh=${config.mesh.host}:${config.mesh.port} metrics=${config.metrics.join(',')}`);
    process.stdout.write(`demo listening on http://${config.host}:${port}/\n`);
  });

  const stop = (signal) => {
    log(`event=stopping signal=${signal}`);
    feed.stop();
    dashboard.stop();
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main();
