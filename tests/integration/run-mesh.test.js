'use strict';
// `make run`'s script (scripts/run-mesh.sh) as a person meets it: started against the test's
// binaries in its own process group, it prints the two brokers' warnings, the banner and
// nothing else while it serves (the processes' full logs go to files); Ctrl-C (SIGINT to the
// group, as a terminal sends it) stops every process and prints one line, exit 0. A broker
// killed on its own is reported with a command that starts it again, which works (its log
// follows on the terminal again), and the script then exits 1. SIGTERM to the script alone stops
// everything too; a bad level to show is refused.
//
// The demo runs too: its npm packages must be installed (tests/run-node-suite.sh does it).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const { reservePorts, HOST, Inbox, withTimeout } = require('../lib/mesh');

const ROOT = path.join(__dirname, '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'run-mesh.sh');
// The script waits up to 10 s for the nodes' /readyz and 10 s for the demo to listen.
const BANNER_MS = 25000;
// Brokers leave 1 s after a signal; the rest stop at once.
const STOP_MS = 10000;
const BANNER_LINES = 11; // from the blank line before "rtmesh is running" to "Ctrl-C stops it."
const UNAUTHENTICATED = /^broker-(\d): level=warn event=unauthenticated /;

// The build directory both binaries come from (run-mesh.sh takes one).
function buildDir() {
  const dir = path.resolve(path.dirname(process.env.RTMESH_BROKER_BIN), '..');
  assert.equal(path.resolve(process.env.RTMESH_NODE_BIN), path.join(dir, 'node', 'rtmesh-node'),
    'RTMESH_BROKER_BIN and RTMESH_NODE_BIN come from one build directory');
  return dir;
}

function shown(run) {
  return run.lines.map((l) => `  | ${l}`).join('\n');
}

// Waits for the next line matching pred; a failure shows all the output so far.
function nextLine(run, pred, what, ms) {
  return run.inbox.next(pred, what, ms).catch((err) => {
    throw new Error(`${err.message}\n${shown(run)}`);
  });
}

// Starts run-mesh.sh as `make run` would, on free ports, with its logs in a fresh directory
// (env: more of its variables). Returns once the banner is out. lines: every line of its
// stdout and stderr, in order.
async function runMesh(t, env = {}) {
  assert.ok(fs.existsSync(path.join(ROOT, 'examples', 'demo', 'node_modules')),
    'the demo\'s npm packages are installed (tests/run-node-suite.sh runs npm ci in examples/demo)');
  const { pairPorts, singlePorts } = await reservePorts({ pairs: 2, singles: 1 });
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtmesh-run-'));
  t.after(() => fs.rmSync(logDir, { recursive: true, force: true }));
  // One pipe for stdout and stderr, as one terminal shows both in the order written.
  const child = spawn('bash', ['-c', 'exec "$0" "$1" 2>&1', SCRIPT, buildDir()], {
    cwd: ROOT,
    detached: true, // its own process group, like a terminal's foreground job
    stdio: ['ignore', 'pipe', 'ignore'],
    env: {
      ...process.env,
      RTMESH_PORT: String(singlePorts[0]),
      RTMESH_BROKERS: pairPorts.map((p) => `tcp://${HOST}:${p}`).join(','),
      RTMESH_DEMO_PORT: '0',
      RTMESH_LOG_DIR: logDir,
      ...env,
    },
  });
  const run = { child, logDir, lines: [], inbox: new Inbox('run-mesh.sh output') };
  let partial = '';
  child.stdout.on('data', (chunk) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop();
    for (const line of parts) {
      run.lines.push(line);
      run.inbox.push(line);
    }
  });
  // 'close': the script and everything that wrote to its output are done.
  run.closed = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
  });
  await nextLine(run, (l) => l === 'Ctrl-C stops it.', 'the end of the banner', BANNER_MS);
  run.inbox.clear(); // tests wait for what follows
  return run;
}

// Ctrl-C: SIGINT to the whole process group. Otherwise `signal` to the script alone.
async function interrupt(run, signal = 'SIGINT') {
  process.kill(signal === 'SIGINT' ? -run.child.pid : run.child.pid, signal);
  return withTimeout(run.closed, STOP_MS, `run-mesh.sh to exit after ${signal}`).catch((err) => {
    throw new Error(`${err.message}\n${shown(run)}`);
  });
}

// pid of the broker shard that is process `pid` or one it started.
function brokerPid(pid, shard) {
  const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
  const found = [String(pid), ...kids].find((k) => {
    const argv = fs.readFileSync(`/proc/${k}/cmdline`, 'utf8').split('\0');
    return argv[0].endsWith('rtmesh-broker') && argv[argv.indexOf('--shard') + 1] === String(shard);
  });
  assert.ok(found, `process ${pid} runs broker shard ${shard}`);
  return Number(found);
}

test('Ctrl-C stops every process with one line and exit 0; the terminal shows only warnings', async (t) => {
  const run = await runMesh(t);
  const exit = await interrupt(run);
  assert.deepEqual(exit, { code: 0, signal: null }, shown(run));

  // The brokers' warnings (no CURVE keys), the banner, the stop line: nothing else.
  const warned = run.lines.filter((l) => UNAUTHENTICATED.test(l)).map((l) => UNAUTHENTICATED.exec(l)[1]);
  assert.deepEqual(warned.sort(), ['0', '1'], shown(run));
  assert.equal(run.lines.length, 2 + BANNER_LINES + 1, shown(run));
  assert.equal(run.lines.at(-1), 'stopped: 2 brokers, 2 nodes, demo', shown(run));
  assert.match(run.lines.join('\n'), /\n {2}demo {7}http:\/\/127\.0\.0\.1:\d+\//, shown(run));
  assert.ok(run.lines.includes(`  logs       ${run.logDir}/  (broker-0.log broker-1.log node-0.log node-1.log demo.log)`),
    shown(run));

  // What the terminal left out is in the files: starts, and stops logged after the SIGINT.
  const log = (name) => fs.readFileSync(path.join(run.logDir, `${name}.log`), 'utf8');
  for (const name of ['broker-0', 'broker-1']) assert.match(log(name), /level=info event=stop broker=/, name);
  for (const name of ['node-0', 'node-1']) assert.match(log(name), /level=info event=stopping signal=2/, name);
  assert.match(log('demo'), /event=stopping signal=SIGINT/);
});

test('TLS=1 makes a local CA and a certificate, serves https:// with it and says how to trust it', async (t) => {
  const tlsDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rtmesh-run-tls-')), 'tls');
  t.after(() => fs.rmSync(path.dirname(tlsDir), { recursive: true, force: true }));
  const run = await runMesh(t, { RTMESH_RUN_TLS: '1', RTMESH_TLS_DIR: tlsDir });
  const ca = path.join(tlsDir, 'ca.crt');
  const banner = run.lines.join('\n');
  assert.ok(banner.includes(`NODE_EXTRA_CA_CERTS=${ca}`), shown(run));
  const port = Number(/wss:\/\/localhost:(\d+)\//.exec(banner)[1]);
  const body = await new Promise((resolve, reject) => {
    https.get({ host: 'localhost', port, path: '/healthz', ca: fs.readFileSync(ca), agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
  assert.equal(body.trim(), 'ok');
  assert.deepEqual(await interrupt(run), { code: 0, signal: null }, shown(run));
});

test('SIGTERM to the script alone stops every process it started, exit 0', async (t) => {
  const run = await runMesh(t);
  const exit = await interrupt(run, 'SIGTERM');
  assert.deepEqual(exit, { code: 0, signal: null }, shown(run));
  assert.equal(run.lines.at(-1), 'stopped: 2 brokers, 2 nodes, demo', shown(run));
});

test('a broker killed on its own is reported with a command that starts it again', async (t) => {
  const run = await runMesh(t);
  const broker = brokerPid(run.child.pid, 1);
  process.kill(broker, 'SIGKILL');
  await nextLine(
    run,
    (l) => l.startsWith(`broker-1 was killed by SIGKILL; the rest keep running. Its log: ${run.logDir}/broker-1.log.`),
    'the report of the killed broker',
  );
  const command = await nextLine(run, (l) => l.startsWith('  '), 'the command that starts it again');
  assert.match(command, /rtmesh-broker --shard 1 --brokers /);

  // Run as given (from the directory `make run` runs in), it starts the broker again, and its
  // log, appended to the same file, reaches the terminal again.
  run.inbox.clear(); // the warning it printed at the first start
  const restarted = spawn('bash', ['-c', command], { cwd: ROOT, stdio: 'ignore', detached: true });
  const restartedExit = new Promise((resolve) => restarted.once('exit', (code, signal) => resolve({ code, signal })));
  t.after(() => {
    if (restarted.exitCode === null && restarted.signalCode === null) process.kill(-restarted.pid, 'SIGKILL');
  });
  await nextLine(run, (l) => /^broker-1: level=warn event=unauthenticated /.test(l), 'the restarted broker\'s warning');
  process.kill(brokerPid(restarted.pid, 1), 'SIGTERM'); // bash, if it forked, exits with its status
  assert.deepEqual(await withTimeout(restartedExit, STOP_MS, 'the restarted broker to stop'), { code: 0, signal: null });

  const exit = await interrupt(run);
  assert.deepEqual(exit, { code: 1, signal: null }, shown(run));
  assert.equal(run.lines.at(-1), 'stopped: 1 broker, 2 nodes, demo', shown(run));
});

test('a level to show that is not debug, info, warn or error is refused before anything starts', () => {
  const run = spawnSync(SCRIPT, [buildDir(), 'loud'], { encoding: 'utf8', timeout: 10000 });
  assert.equal(run.status, 2, run.stderr);
  assert.match(run.stderr, /^usage: run-mesh\.sh BUILD_DIR \[debug\|info\|warn\|error\]$/m);
});
