'use strict';
// A mesh spread over "hosts" (lib/netns.js) for multi-host tests: starting brokers, nodes and
// helper scripts inside a host, reading the time of a log line, stopping a process, steady
// publish load from a client host (lib/netns-load.js) and its report. Everything a harness
// starts is stopped and checked after the test (a non-zero exit or a sanitizer report fails
// it, unless the test marked the process killed), and the namespaces are removed.

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');
const { Network } = require('./netns');
const { ProcessLog } = require('./mesh');
const { APP, sleep, waitUntil } = require('./util');

const WAIT_MS = 15000;
const NODE_PORT = 6001;

// Wall-clock ms of the first line of proc's log at or after `since` that contains every needle.
function logTime(proc, needles, since) {
  for (const line of proc.log.text.split('\n')) {
    const m = line.match(/^ts=(\S+) /);
    if (!m || !needles.every((n) => line.includes(n))) continue;
    const t = Date.parse(m[1]);
    if (t >= since) return t;
  }
  return null;
}

async function waitLog(proc, needles, since, what, ms = WAIT_MS) {
  await waitUntil(() => logTime(proc, needles, since) !== null, what, ms);
  return logTime(proc, needles, since);
}

// SIGTERM (or signal), then SIGKILL if it has not stopped within 5 s.
async function stop(proc, signal = 'SIGTERM') {
  if (proc.exit) return proc.exit;
  proc.child.kill(signal);
  const t = sleep(5000).then(() => 'timeout');
  if ((await Promise.race([proc.exited, t])) === 'timeout') {
    proc.child.kill('SIGKILL');
    await proc.exited;
    return { code: null, signal: 'SIGKILL (did not stop within 5 s)' };
  }
  return proc.exit;
}

// SIGKILL, expected: the harness does not count it as a failure.
async function kill(proc) {
  proc.killed = true;
  proc.child.kill('SIGKILL');
  return proc.exited;
}

// A line-delimited JSON reader of a child's stdout: lines (array) fills as they come.
function jsonLines(proc) {
  const lines = [];
  readline.createInterface({ input: proc.child.stdout }).on('line', (l) => lines.push(JSON.parse(l)));
  return lines;
}

// The hosts ({name: address}), their processes and the load, torn down (and checked) after the
// test t. names: every host's /etc/hosts (see Network).
function harness(t, hosts, names = {}) {
  const h = { net: new Network(hosts, { names }), hosts, procs: {}, dir: fs.mkdtempSync(path.join(os.tmpdir(), 'rtmesh-multihost-')) };
  const problems = [];
  t.after(async () => {
    for (const p of Object.values(h.procs)) {
      const exit = await stop(p);
      if (!p.killed && !(exit.code === 0 && exit.signal === null)) problems.push(`${p.name}: ${JSON.stringify(exit)}`);
      if (p.log.sanitizerReport) problems.push(`${p.name}: sanitizer report`);
    }
    h.net.destroy();
    fs.rmSync(h.dir, { recursive: true, force: true });
    if (problems.length) {
      for (const p of Object.values(h.procs)) console.log(`# ----- ${p.name}\n${p.log.tail(60).replace(/^/gm, '# ')}`);
      throw new Error(`mesh processes failed: ${problems.join('; ')}`);
    }
  });
  h.net.setup();

  // Starts file with args inside host, as h.procs[name] (default: the host's name); a process
  // of that name that ended before is replaced (its exit was checked when it ended).
  // The old process is judged before the new one starts: a throw after the spawn would leave
  // the new one running, unowned, and the test process waiting on its pipes.
  h.start = (host, file, args, name = host) => {
    const old = h.procs[name];
    if (old && old.exit && (old.killed || (old.exit.code === 0 && old.exit.signal === null)) && !old.log.sanitizerReport) delete h.procs[name];
    else if (old) throw new Error(`${name} is still running or failed: ${JSON.stringify(old.exit)}`);
    const [cmd, argv] = h.net.exec(host, file, args);
    const env = { ...process.env, RTMESH_APP_ID: APP.id, RTMESH_APP_KEY: APP.key, RTMESH_APP_SECRET: APP.secret };
    env.RTMESH_DRAIN_SECONDS = '0'; // nodes stop at once on SIGTERM
    env.UBSAN_OPTIONS = env.UBSAN_OPTIONS || 'print_stacktrace=1';
    const child = spawn(cmd, argv, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const proc = { name, host, child, log: new ProcessLog(), exit: null, killed: false };
    child.stdout.on('data', (c) => proc.log.append('stdout', c));
    child.stderr.on('data', (c) => proc.log.append('stderr', c));
    proc.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve((proc.exit = { code, signal }))));
    h.procs[name] = proc;
    return proc;
  };
  h.brokerId = (b) => `tcp://${hosts[b]}:7000`;
  h.broker = (b, args) => h.start(b, process.env.RTMESH_BROKER_BIN, ['--self', h.brokerId(b), ...args]);
  h.node = (n, args) => h.start(n, process.env.RTMESH_NODE_BIN, ['--host', hosts[n], '--port', String(NODE_PORT), '--workers', '1', ...args]);

  // One brokers file for the whole mesh (h.brokersFile): h.writeBrokers(names) lists the brokers
  // on those hosts (processes re-read it on SIGHUP); h.fileBroker(b) and h.fileNode(n) start one
  // that reads it (args: more arguments for it).
  const brokersFile = path.join(h.dir, 'brokers.txt');
  h.brokersFile = brokersFile;
  h.writeBrokers = (names) => fs.writeFileSync(brokersFile, `# the broker tier\n${names.map(h.brokerId).join('\n')}\n`);
  h.fileBroker = (b, args = []) => h.broker(b, ['--brokers-file', brokersFile, ...args]);
  h.fileNode = (n, args = []) => h.node(n, ['--brokers-file', brokersFile, ...args]);
  h.script = (host, file, args, name) => h.start(host, process.execPath, [path.join(__dirname, file), ...args], name);
  h.endpoint = (n) => `${hosts[n]}:${NODE_PORT}`;

  // Every node in nodes to log a line with every needle after since: their times.
  h.nodesLog = (nodes, needles, since, what) => Promise.all(nodes.map((n) => waitLog(h.procs[n], needles, since, `${n} to log ${what}`)));

  // The brokers and nodes on those hosts, every one reading the brokers file, which lists the
  // brokers; resolves once every node routes to every broker.
  h.startMesh = async (brokers, nodes) => {
    h.writeBrokers(brokers);
    for (const b of brokers) h.fileBroker(b);
    for (const n of nodes) h.fileNode(n);
    for (const b of brokers) await h.nodesLog(nodes, ['event=shard_up', `broker=${h.brokerId(b)}`], 0, `${b} up`);
  };

  // Once every node in nodes routes to every broker identity in ids: the load from clientHost
  // over nodes (h.startLoad), given a second to run before the first phase.
  h.startLoadWhenRouted = async (clientHost, nodes, ids) => {
    for (const id of ids) await h.nodesLog(nodes, ['event=shard_up', `broker=${id}`], 0, `${id} up`);
    await h.startLoad(clientHost, nodes);
    await sleep(1000);
  };

  // Steady load from the client host over nodes [a, b] (lib/netns-load.js); resolves once both
  // of its clients have subscribed. await h.phase(name) starts a phase (its start time);
  // h.endLoad() resolves with the report.
  h.startLoad = async (clientHost, [a, b], channels = 8, rate = 100) => {
    const load = h.script(clientHost, 'netns-load.js', [h.endpoint(a), h.endpoint(b), String(channels), String(rate)], 'load');
    const lines = jsonLines(load);
    await waitUntil(() => lines.some((l) => l.ready), 'the load clients to subscribe', WAIT_MS);
    // Resolves (with the time) once the load counts later publishes in phase `name`.
    h.phase = async (name) => {
      load.child.stdin.write(`phase ${name}\n`);
      await waitUntil(() => lines.some((l) => l.phase === name), `the load to enter phase ${name}`, WAIT_MS);
      return Date.now();
    };
    // Resolves once both clients are subscribed to every channel again (after a reconnect).
    h.loadSubscribed = async (ms = 30000) => {
      const before = lines.filter((l) => l.subscribed).length;
      load.child.stdin.write('subscribed\n');
      await waitUntil(() => lines.filter((l) => l.subscribed).length > before, 'the load clients to subscribe again', ms);
    };
    h.endLoad = async () => {
      load.child.stdin.write('end\n');
      await waitUntil(() => lines.some((l) => l.report), 'the load report', WAIT_MS);
      await load.exited;
      return lines.find((l) => l.report);
    };
  };
  return h;
}

// Prints the load report, per phase, with the fault timings ({phase: {detect_ms, ...}}).
function printReport({ report, disconnects }, timings) {
  const cols = ['published', 'acked', 'refused', 'failed', 'lost', 'zombies', 'noticed', 'notice_ms', 'unsubscribed', 'detect_ms', 'reroute_ms'];
  console.log(`# ${'phase'.padEnd(10)} ${cols.join('  ')}`);
  for (const r of report) {
    const tm = timings[r.phase] || {};
    const cell = {
      ...r,
      refused: Object.entries(r.refused).map(([s, n]) => `${n}x${s}`).join(',') || '0',
      detect_ms: tm.detect_ms ?? '-',
      reroute_ms: r.reroute_ms ?? 'never',
    };
    console.log(`# ${r.phase.padEnd(10)} ${cols.map((c) => String(cell[c]).padStart(c.length)).join('  ')}`);
  }
  console.log(`# client disconnects: ${disconnects}`);
}

// What must hold in every phase: nothing acknowledged was lost silently.
function assertNothingLost({ report }) {
  for (const r of report) assert.equal(r.lost, 0, `${r.phase}: acknowledged publishes lost silently`);
}

// Publishing recovered in each named phase: an acknowledged publish after the last refusal.
function assertRecovered({ report }, phases) {
  for (const name of phases) {
    const r = report.find((x) => x.phase === name);
    assert.notEqual(r.reroute_ms, null, `${name}: publishing recovered (last refusals: ${JSON.stringify(r.last_bad)})`);
  }
}

module.exports = { harness, logTime, waitLog, stop, kill, jsonLines, printReport, assertNothingLost, assertRecovered, NODE_PORT, WAIT_MS };
