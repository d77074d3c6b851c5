'use strict';
// Starts the demo app server (examples/demo/server.js) against a test mesh, as `make run` does
// but on an ephemeral port, scraping each node's own /metrics and ticking fast so tests do not
// wait long for the next reading. stop() fails unless it exits 0 on SIGTERM. useDemo gives a
// test file its mesh, the demo server on it and a Chromium.

const { spawn } = require('node:child_process');
const path = require('node:path');
const { APP, HOST, withTimeout } = require('./util');
const { useMesh } = require('./mesh');
const { launchBrowser } = require('./browser');

const SERVER = path.join(__dirname, '..', '..', 'examples', 'demo', 'server.js');
const START_MS = 10000;

// mesh: a started Mesh; env: extra environment (e.g. RTMESH_DEMO_APP). With an apps file the
// demo takes its app from it, like the nodes; otherwise the test app of tests/lib/util.js.
async function startDemo(mesh, env = {}) {
  const appEnv = mesh.appsFile ? { RTMESH_APPS_FILE: mesh.appsFile } : { RTMESH_APP_ID: APP.id, RTMESH_APP_KEY: APP.key, RTMESH_APP_SECRET: APP.secret };
  const nodes = mesh.nodePorts.map((p) => `http://${HOST}:${p}/metrics`);
  const child = spawn(process.execPath, [SERVER], {
    env: {
      ...process.env,
      ...appEnv,
      RTMESH_DEMO_HOST: HOST,
      RTMESH_DEMO_PORT: '0',
      RTMESH_DEMO_MESH: `http://${HOST}:${mesh.nodePort(0)}`,
      RTMESH_DEMO_METRICS: nodes.join(','),
      RTMESH_DEMO_SCRAPE_MS: '200',
      RTMESH_DEMO_GONE_MS: '1500',
      RTMESH_DEMO_TICK_MS: '200',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (c) => {
    output += c;
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = await withTimeout(
    new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c) => {
        out += c;
        const m = /demo listening on (\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      exited.then(({ code, signal }) => reject(new Error(`demo server exited (${signal || code}) before listening:\n${output}`)));
    }),
    START_MS,
    'the demo server to listen',
  ).catch((err) => {
    child.kill('SIGKILL');
    throw err;
  });
  return {
    url,
    log: () => output,
    async stop() {
      child.kill('SIGTERM');
      const { code, signal } = await withTimeout(exited, START_MS, 'the demo server to exit');
      if (code !== 0) throw new Error(`demo server exited with ${signal || code} on SIGTERM:\n${output}`);
    },
  };
}

// One mesh (meshOptions, as useMesh), the demo server on it and one browser for a test file,
// started before its first test and stopped after its last. Returns getters.
function useDemo(meshOptions) {
  let demo = null;
  let browser = null;
  const mesh = useMesh(meshOptions, {
    setup: async (m) => {
      demo = await startDemo(m);
      browser = await launchBrowser();
    },
    teardown: async () => {
      if (browser) await browser.close();
      if (demo) await demo.stop();
    },
  });
  return { mesh, demo: () => demo, browser: () => browser };
}

module.exports = { useDemo };
