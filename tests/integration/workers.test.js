'use strict';
// --workers 0 (the default) starts one worker per CPU the node may run on, not one per CPU of
// the machine: a node pinned with taskset (or a container's cpuset) to one CPU starts one.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { useMesh } = require('../lib/mesh');
const { connectPusherJs, subscribe } = require('../lib/pusher-clients');
const { uniqueChannel } = require('../lib/util');

const MAX_WORKERS = 64; // RTM_NODE_MAX_WORKERS
const mesh = useMesh({
  shards: 1,
  nodes: 2,
  workers: 0,
  wrapFor: (kind, index) => (kind === 'node' && index === 0 ? ['taskset', '-c', '0'] : null),
});

function startedWorkers(index) {
  const m = mesh().process('node', index).log.text.match(/event=started .*?workers=(\d+)/);
  assert.ok(m, `node ${index} logged its start`);
  return Number(m[1]);
}

test('a node pinned to one CPU starts one worker, and serves', async (t) => {
  assert.equal(startedWorkers(0), 1);
  const client = await connectPusherJs(mesh().nodePort(0), t);
  await subscribe(client, uniqueChannel('pinned'));
});

test('an unpinned node starts one worker per CPU it may run on (nproc)', () => {
  const cpus = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
  assert.equal(startedWorkers(1), Math.min(cpus, MAX_WORKERS));
});
