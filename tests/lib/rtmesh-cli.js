'use strict';
// The `rtmesh` command and the librtmesh example, as a test runs them: real binaries from the
// build (RTMESH_CLI_BIN, RTMESH_FEED_BIN; run-node-suite.sh's ctest sets them, else they are
// found beside the broker in the build tree). run() resolves to {code, stdout, stderr} and
// fails the test on a sanitizer report in either stream, like the mesh's processes.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const SANITIZER = /ERROR: (Address|Leak)Sanitizer|runtime error:/;

function built(envName, rel) {
  const file = process.env[envName] || path.join(path.dirname(process.env.RTMESH_BROKER_BIN || '.'), '..', rel);
  if (!fs.existsSync(file)) throw new Error(`${envName}: ${file} does not exist (build the client/ targets)`);
  return file;
}

const cliBin = () => built('RTMESH_CLI_BIN', 'client/rtmesh');
const feedBin = () => built('RTMESH_FEED_BIN', 'client/examples/rtmesh-feed');

// Runs file with args (env added to the test's environment; input written to stdin) and
// resolves once it exited, within timeoutMs (then it is SIGKILLed and the promise rejects).
function run(file, args, { env = {}, input = null, timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(file)} ${args.join(' ')}: no exit within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (SANITIZER.test(stdout + stderr)) reject(new Error(`sanitizer report from ${path.basename(file)}:\n${stderr}`));
      else resolve({ code: signal ? `signal ${signal}` : code, stdout, stderr });
    });
    child.stdin.end(input === null ? '' : input);
  });
}

// `rtmesh ARGS`.
function rtmesh(args, options) {
  return run(cliBin(), args, options);
}

module.exports = { rtmesh, run, cliBin, feedBin };
