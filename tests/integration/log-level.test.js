'use strict';
// --log-level / RTMESH_LOG_LEVEL on both binaries: a mesh started at "warn" writes no info
// line (the start, shard_up and broker_list lines are info), and a level that is not one of
// debug, info, warn, error is refused at start with a message naming the option.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, assertRefusesToStart } = require('../lib/mesh');
const { connectPusherJs, subscribe } = require('../lib/pusher-clients');
const { uniqueChannel } = require('../lib/util');

const mesh = useMesh({ shards: 2, nodes: 1, workers: 1, env: { RTMESH_LOG_LEVEL: 'warn' } });

test('at RTMESH_LOG_LEVEL=warn no process writes an info line, and the mesh serves', async (t) => {
  const client = await connectPusherJs(mesh().nodePort(0), t);
  await subscribe(client, uniqueChannel('quiet'));
  for (const [kind, i] of [['node', 0], ['broker', 0], ['broker', 1]]) {
    const log = mesh().process(kind, i).log.text;
    assert.doesNotMatch(log, /level=info/, `${kind} ${i} logged at info`);
  }
});

test('a level that is not debug, info, warn or error is refused by both binaries', () => {
  const runs = [
    [process.env.RTMESH_NODE_BIN, []],
    [process.env.RTMESH_BROKER_BIN, ['--self', 'tcp://127.0.0.1:1', '--brokers', 'tcp://127.0.0.1:1']],
  ];
  for (const [bin, args] of runs) {
    const stderr = assertRefusesToStart(bin, ['--log-level', 'loud', ...args], 2);
    assert.match(stderr, /--log-level \/ RTMESH_LOG_LEVEL: 'loud' is not debug, info, warn or error/);
  }
});
