'use strict';
// Test harness: starts a real mesh (rtmesh-broker shards + rtmesh-node edges) on loopback.
//
// Every process gets its own ports, picked by binding port 0. A broker shard needs two ports,
// ingress P (ROUTER) and egress P+1 (XPUB); the broker list names only the ingress ports. Nodes
// get distinct ports so a test chooses which node a client lands on. stdout and stderr of every
// process are captured; a test that fails prints them (see useMesh). stop() terminates the mesh
// with SIGTERM and fails unless every process exited 0 and printed no sanitizer report: a crash,
// a leak or undefined behaviour anywhere in a suite fails that suite.
//
// The binaries come from RTMESH_BROKER_BIN and RTMESH_NODE_BIN (run-node-suite.sh sets them).

const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { before, after, afterEach } = require('node:test');
const { APP, HOST, sleep } = require('./util');

const READY_TIMEOUT_MS = 10000;
const STOP_TIMEOUT_MS = 5000;
const LOG_LIMIT = 4 * 1024 * 1024; // bytes of output kept per process (the tail)
const SANITIZER_MARKERS = ['ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:'];

// Every process any mesh started, so none outlives the test process even if a test aborts.
const liveChildren = new Set();
process.on('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

function binary(envName) {
  const file = process.env[envName];
  if (!file) throw new Error(`${envName} is not set (run the suites through tests/run-node-suite.sh)`);
  if (!fs.existsSync(file)) throw new Error(`${envName}=${file} does not exist`);
  return file;
}

// Output of one process (stdout and stderr interleaved as they arrive): the tail is kept for
// dumps; sanitizer markers are looked for across chunk boundaries of each stream, so a report
// is noticed even after its text has scrolled out of the tail.
class ProcessLog {
  constructor() {
    this.text = '';
    this.streamTail = { stdout: '', stderr: '' };
    this.sanitizerReport = false;
  }

  append(stream, chunk) {
    const s = chunk.toString('utf8');
    const window = this.streamTail[stream] + s;
    if (SANITIZER_MARKERS.some((m) => window.includes(m))) this.sanitizerReport = true;
    this.streamTail[stream] = window.slice(-64);
    this.text += s;
    if (this.text.length > LOG_LIMIT) this.text = this.text.slice(-LOG_LIMIT);
  }

  tail(lines = 200) {
    return this.text.split('\n').slice(-lines).join('\n');
  }

  // How many lines of the kept text contain text.
  count(text) {
    return this.text.split('\n').filter((l) => l.includes(text)).length;
  }
}

// Runs `file` with `args`, which must refuse to start: fails unless it exits with exactly
// `status` (2: a configuration error; 1: a start that failed) within READY_TIMEOUT_MS, killed
// by no signal, having printed no sanitizer report. Returns its stderr, for the message.
function assertRefusesToStart(file, args, status, env = {}) {
  const run = spawnSync(file, args, { encoding: 'utf8', timeout: READY_TIMEOUT_MS, env: { ...process.env, ...env } });
  const what = `${path.basename(file)} ${args.join(' ')}`;
  assert.deepEqual({ status: run.status, signal: run.signal }, { status, signal: null }, `${what} exit; stderr:\n${run.stderr}`);
  const report = SANITIZER_MARKERS.find((m) => run.stderr.includes(m) || run.stdout.includes(m));
  assert.equal(report, undefined, `${what} printed a sanitizer report:\n${run.stderr}`);
  return run.stderr;
}

// ---- ports ---------------------------------------------------------------------------------

function listen(port) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port, host: HOST, exclusive: true }, () => resolve(server));
  });
}

function closeServer(server) {
  return new Promise((resolve) => server.close(() => resolve()));
}

// Reserves `singles` free ports and `pairs` free port pairs (P, P+1). All reservations are held
// until every port is chosen, so no two requests get the same port; then they are released for
// the processes to bind.
async function reservePorts({ singles, pairs }) {
  const held = [];
  const pairPorts = [];
  const singlePorts = [];
  try {
    while (pairPorts.length < pairs) {
      const first = await listen(0);
      held.push(first);
      const p = first.address().port;
      if (p >= 65535) continue;
      try {
        held.push(await listen(p + 1));
        pairPorts.push(p);
      } catch {
        // P+1 is taken: keep P reserved (so it is not offered again) and try another.
      }
    }
    while (singlePorts.length < singles) {
      const s = await listen(0);
      held.push(s);
      singlePorts.push(s.address().port);
    }
  } finally {
    await Promise.all(held.map(closeServer));
  }
  return { pairPorts, singlePorts };
}

// ---- processes -----------------------------------------------------------------------------

function spawnProcess(mesh, kind, index, file, args, env) {
  const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = {
    kind,
    index,
    file,
    args,
    env,
    child,
    log: new ProcessLog(),
    killed: false, // set by killProcess: an intentional death is not a failure
    exit: null, // {code, signal} once exited
  };
  liveChildren.add(child);
  child.stdout.on('data', (c) => proc.log.append('stdout', c));
  child.stderr.on('data', (c) => proc.log.append('stderr', c));
  proc.exited = new Promise((resolve) => {
    child.once('error', (err) => {
      proc.log.append('stderr', `harness: spawn failed: ${err.message}\n`);
      proc.exit = { code: null, signal: null, error: err };
      liveChildren.delete(child);
      resolve(proc.exit);
    });
    child.once('exit', (code, signal) => {
      proc.exit = { code, signal };
      liveChildren.delete(child);
      resolve(proc.exit);
    });
  });
  mesh.processes.push(proc);
  return proc;
}

function describeProcess(p) {
  return `${p.kind}[${p.index}]`;
}

function describeExit(exit) {
  if (!exit) return 'still running';
  if (exit.error) return `spawn error: ${exit.error.message}`;
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

function processArgs(mesh, kind, index) {
  const list = mesh.options.brokersFor ? mesh.options.brokersFor(kind, index, mesh.brokerList) : mesh.brokerList;
  if (kind === 'broker') {
    const args = ['--shard', String(index), '--brokers', list];
    if (mesh.appsFile) args.push('--apps', mesh.appsFile); // webhooks are per app
    if (mesh.brokerMetricsPorts) args.push('--metrics-port', String(mesh.brokerMetricsPorts[index]));
    return args;
  }
  const args = ['--port', String(mesh.nodePorts[index]), '--brokers', list];
  args.push('--workers', String(mesh.options.workers));
  if (mesh.appsFile) args.push('--apps', mesh.appsFile);
  return args;
}

function processEnv(mesh, kind) {
  const env = { ...process.env };
  if (!mesh.appsFile) {
    env.RTMESH_APP_ID = APP.id;
    env.RTMESH_APP_KEY = APP.key;
    env.RTMESH_APP_SECRET = APP.secret;
  }
  env.UBSAN_OPTIONS = env.UBSAN_OPTIONS || 'print_stacktrace=1';
  env.RTMESH_DRAIN_SECONDS = '0'; // tests stop nodes at once unless they test the drain (options.env)
  const own = kind === 'broker' ? mesh.options.brokerEnv : mesh.options.nodeEnv;
  return { ...env, ...mesh.options.env, ...own };
}

function startProcess(mesh, kind, index) {
  const file = kind === 'broker' ? mesh.brokerBin : mesh.nodeBin;
  const wrap = (mesh.options.wrapFor && mesh.options.wrapFor(kind, index)) || [];
  const [command, ...args] = [...wrap, file, ...processArgs(mesh, kind, index)];
  return spawnProcess(mesh, kind, index, command, args, processEnv(mesh, kind));
}

// ---- readiness -----------------------------------------------------------------------------

function httpStatus(port, urlPath, timeoutMs) {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path: urlPath, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

function firstDeadProcess(mesh) {
  return mesh.processes.find((p) => p.exit && !p.killed);
}

async function waitReady(mesh, nodeIndexes) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const pending = new Set(nodeIndexes);
  while (pending.size > 0) {
    const dead = firstDeadProcess(mesh);
    if (dead) throw new Error(`${describeProcess(dead)} exited during start-up (${describeExit(dead.exit)})\n${mesh.logs()}`);
    for (const i of [...pending]) {
      if ((await httpStatus(mesh.nodePorts[i], '/readyz', 500)) === 200) pending.delete(i);
    }
    if (pending.size === 0) break;
    if (Date.now() > deadline) {
      const which = [...pending].map((i) => `node[${i}]`).join(', ');
      throw new Error(`${which} not ready (GET /readyz != 200) after ${READY_TIMEOUT_MS} ms\n${mesh.logs()}`);
    }
    await sleep(100);
  }
}

// ---- stopping ------------------------------------------------------------------------------

// A node given a drain period (RTMESH_DRAIN_SECONDS) gets it on top of the timeout.
function stopTimeoutMs(proc) {
  return STOP_TIMEOUT_MS + 1000 * Number(proc.env.RTMESH_DRAIN_SECONDS || 0);
}

async function terminate(proc, signal = 'SIGTERM') {
  if (proc.exit) return { exit: proc.exit, forced: false };
  proc.child.kill(signal);
  const timer = sleep(stopTimeoutMs(proc)).then(() => 'timeout');
  if ((await Promise.race([proc.exited, timer])) !== 'timeout') return { exit: proc.exit, forced: false };
  proc.child.kill('SIGKILL');
  await proc.exited;
  return { exit: proc.exit, forced: true };
}

function processProblems(proc, forced) {
  const problems = [];
  if (forced) problems.push(`did not exit within ${stopTimeoutMs(proc)} ms of SIGTERM (SIGKILLed)`);
  else if (!proc.killed && !(proc.exit.code === 0 && proc.exit.signal === null)) problems.push(describeExit(proc.exit));
  if (proc.log.sanitizerReport) problems.push('sanitizer report in its output');
  return problems.map((msg) => `${describeProcess(proc)}: ${msg}`);
}

// ---- the mesh ------------------------------------------------------------------------------

class Mesh {
  constructor(options) {
    this.options = options;
    this.brokerBin = binary('RTMESH_BROKER_BIN');
    this.nodeBin = binary('RTMESH_NODE_BIN');
    this.processes = [];
    this.tmpDir = null;
    this.appsFile = null;
    this.stopped = false;
  }

  // Picks brokerPorts (each shard's ingress; its egress is that port + 1) and nodePorts, and
  // writes the apps file when options.apps is given.
  async allocate() {
    const metrics = this.options.brokerMetrics ? this.options.shards : 0;
    const { pairPorts, singlePorts } = await reservePorts({ pairs: this.options.shards, singles: this.options.nodes + metrics });
    this.brokerPorts = pairPorts;
    this.nodePorts = singlePorts.slice(0, this.options.nodes);
    this.brokerMetricsPorts = metrics ? singlePorts.slice(this.options.nodes) : null;
    this.brokerList = pairPorts.map((p) => `tcp://${HOST}:${p}`).join(',');
    if (this.options.apps) {
      // A function lets a test compute the apps once it knows its own ports (webhook receivers).
      const apps = typeof this.options.apps === 'function' ? await this.options.apps() : this.options.apps;
      this.tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtmesh-test-'));
      this.appsFile = path.join(this.tmpDir, 'apps.json');
      fs.writeFileSync(this.appsFile, JSON.stringify(apps));
    }
  }

  // The current process of a kind and index (the newest one if it was restarted).
  process(kind, index) {
    const found = this.processes.filter((p) => p.kind === kind && p.index === index);
    if (found.length === 0) throw new Error(`no ${kind}[${index}] in this mesh`);
    return found[found.length - 1];
  }

  nodePort(index) {
    return this.nodePorts[index];
  }

  // The GET /metrics port of broker `index` (options.brokerMetrics).
  brokerMetricsPort(index) {
    if (!this.brokerMetricsPorts) throw new Error('this mesh was started without brokerMetrics');
    return this.brokerMetricsPorts[index];
  }

  // Every process's recent output, labelled, for failure messages.
  logs(lines = 200) {
    return this.processes
      .map((p) => {
        const command = `${path.basename(p.file)} ${p.args.join(' ')}`;
        return `----- ${describeProcess(p)} (${describeExit(p.exit)}): ${command}\n${p.log.tail(lines)}`;
      })
      .join('\n');
  }

  // Throws if a process died that no test killed on purpose, or printed a sanitizer report.
  assertHealthy() {
    const bad = this.processes.filter((p) => (p.exit && !p.killed) || p.log.sanitizerReport);
    if (bad.length === 0) return;
    const what = bad.map((p) => `${describeProcess(p)}: ${p.log.sanitizerReport ? 'sanitizer report' : describeExit(p.exit)}`);
    throw new Error(`mesh unhealthy: ${what.join('; ')}\n${this.logs()}`);
  }

  // SIGTERM nodes first (they drain their clients), then brokers. Fails unless every process
  // exited 0 within the grace period and printed no sanitizer report.
  async stop() {
    if (this.stopped) return;
    this.stopped = true;
    const problems = [];
    for (const kind of ['node', 'broker']) {
      const procs = this.processes.filter((p) => p.kind === kind);
      const results = await Promise.all(procs.map((p) => terminate(p)));
      procs.forEach((p, i) => problems.push(...processProblems(p, results[i].forced)));
    }
    if (this.tmpDir) fs.rmSync(this.tmpDir, { recursive: true, force: true });
    if (problems.length > 0) throw new Error(`mesh did not stop cleanly:\n  ${problems.join('\n  ')}\n${this.logs()}`);
  }

  // Kills everything without judging how it exits (for start-up failures).
  async destroy() {
    this.stopped = true;
    await Promise.all(this.processes.map((p) => terminate(p, 'SIGKILL')));
    if (this.tmpDir) fs.rmSync(this.tmpDir, { recursive: true, force: true });
  }
}

// Starts brokers, then nodes, and waits until every node answers GET /readyz with 200.
// options: shards (2), nodes (2), workers (2), env (extra environment for every process;
// brokerEnv and nodeEnv: for brokers or nodes only, e.g. their CURVE keys),
// apps (array of {id, key, secret}, or an async function returning one: written to a file
// passed as --apps to brokers and nodes instead of the RTMESH_APP_* environment), brokerMetrics
// (true: every broker serves GET /metrics on a port of its own, mesh.brokerMetricsPort(i)),
// brokersFor ((kind, index, list) → the --brokers list that process is given; default: list,
// every broker), wrapFor ((kind, index) → a command that execs the binary with its arguments,
// e.g. ['taskset', '-c', '0'], or null). Resolves to a Mesh; on failure nothing is left running.
async function startMesh(options = {}) {
  const opts = { shards: 2, nodes: 2, workers: 2, env: {}, ...options };
  const mesh = new Mesh(opts);
  try {
    await mesh.allocate();
    for (let i = 0; i < opts.shards; i++) startProcess(mesh, 'broker', i);
    for (let i = 0; i < opts.nodes; i++) startProcess(mesh, 'node', i);
    await waitReady(mesh, [...Array(opts.nodes).keys()]);
  } catch (err) {
    await mesh.destroy();
    throw err;
  }
  return mesh;
}

// Kills one process on purpose (default SIGKILL, for failover tests) and waits for it to exit.
// stop() does not count its exit status against the suite.
async function killProcess(mesh, kind, index, signal = 'SIGKILL') {
  const proc = mesh.process(kind, index);
  proc.killed = true;
  await terminate(proc, signal);
  return proc.exit;
}

// Starts a killed process again with the same ports and arguments; for a node, waits until it
// is ready again.
async function restartProcess(mesh, kind, index) {
  const old = mesh.process(kind, index);
  if (!old.exit) throw new Error(`${describeProcess(old)} is still running`);
  startProcess(mesh, kind, index);
  if (kind === 'node') await waitReady(mesh, [index]);
}

// Registers node:test hooks for one mesh per test file: started before the first test, stopped
// (and judged) after the last. After each test the mesh must still be healthy, and a failed
// test prints every process's output. setup(mesh) runs right after the start and teardown(mesh)
// right before the stop, inside the same hooks (Node 20 runs a file's root-level before hooks
// concurrently, so a test file must not add its own). Returns a getter for the running mesh.
function useMesh(options, { setup, teardown } = {}) {
  let mesh = null;
  before(async () => {
    mesh = await startMesh(options);
    if (setup) await setup(mesh);
  });
  afterEach((t) => {
    if (!mesh) return;
    if (t.passed === false) console.error(`test "${t.name}" failed; mesh output:\n${mesh.logs()}`);
    mesh.assertHealthy();
  });
  after(async () => {
    if (!mesh) return;
    try {
      if (teardown) await teardown(mesh);
    } finally {
      await mesh.stop();
    }
  });
  return () => {
    if (!mesh) throw new Error('mesh not started');
    return mesh;
  };
}

module.exports = {
  ProcessLog,
  assertRefusesToStart,
  startMesh,
  reservePorts,
  killProcess,
  restartProcess,
  useMesh,
  // Everything a test needs, from one require.
  ...require('./util'),
  ...require('./ws-client'),
  ...require('./rest'),
};
