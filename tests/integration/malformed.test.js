'use strict';
// Hostile and broken input must never crash a node nor disturb its other clients (RFC 6455 §5,
// §7.4; reference §1.2). Each test sends one kind of bad input to node 0 and expects the
// documented reaction; afterwards healthy clients on that same node (several, so they likely
// sit on every worker) must still receive a freshly published event. At the end of the file
// the mesh must stop with exit status 0 and no sanitizer report (useMesh checks that).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { useMesh, connectClient, openWebSocket, openTcp, encodeFrame, publish, uniqueChannel, OP } = require('../lib/mesh');

const TARGET = 0; // the node that receives the bad input
const HEALTHY_CLIENTS = 4;
const healthyChannel = uniqueChannel('healthy');
const healthy = [];
let probe = 0;

const mesh = useMesh(
  { shards: 2, nodes: 2, workers: 2 },
  {
    async setup(m) {
      for (let i = 0; i < HEALTHY_CLIENTS; i++) {
        const ws = await connectClient(m.nodePort(TARGET));
        healthy.push(ws);
        assert.equal((await ws.subscribe(healthyChannel)).event, 'pusher_internal:subscription_succeeded');
      }
    },
    teardown() {
      for (const ws of healthy.splice(0)) ws.destroy();
    },
  },
);

// Every healthy client on the target node still gets a new event (published via the other node).
async function assertOthersUnaffected() {
  probe += 1;
  const name = `probe-${probe}`;
  await publish(mesh().nodePort(1 - TARGET), { name, channels: [healthyChannel], data: String(probe) });
  await Promise.all(healthy.map((ws) => ws.waitForEvent(name, { channel: healthyChannel })));
}

async function badClient(t) {
  const ws = await connectClient(mesh().nodePort(TARGET));
  t.after(() => ws.destroy());
  return ws;
}

// Sends one frame (or raw bytes) on a fresh connection and expects a close frame with `code`.
async function expectClose(t, send, code) {
  const ws = await badClient(t);
  send(ws);
  const close = await ws.waitForClose();
  assert.equal(close && close.code, code, `expected close code ${code}, got ${JSON.stringify(close)}`);
}

test('invalid JSON text gets pusher:error', async (t) => {
  // Every payload is sent and answered: on the same connection while the node keeps it, on a
  // fresh one once it closed (closing after the error is allowed).
  let ws = await badClient(t);
  for (const text of ['{', 'not json at all', '{"event":"pusher:ping",', '\u0000\u0001']) {
    if (ws.inbox.endReason || ws.closeFrame) ws = await badClient(t);
    ws.sendText(text);
    const isReply = (m) => m.type === 'close' || (m.json && m.json.event === 'pusher:error');
    const reply = await ws.waitForFrame(isReply, `reply to ${JSON.stringify(text)}`);
    assert.equal(reply.type, 'text', `${JSON.stringify(text)}: closed without a pusher:error (${JSON.stringify(reply)})`);
    assert.equal(typeof reply.json.data.message, 'string', JSON.stringify(reply.json));
  }
  await assertOthersUnaffected();
});

test('well-formed JSON of the wrong shape is refused or ignored, never acted upon', async (t) => {
  // A malformed subscribe must be refused (pusher:error or close): pusher-js would otherwise
  // wait for a reply forever. Other shapes may also be ignored; the connection must then still
  // answer a ping.
  const mustRefuse = [
    '{"event":"pusher:subscribe"}',
    '{"event":"pusher:subscribe","data":"not-an-object"}',
    '{"event":"pusher:subscribe","data":{"channel":42}}',
    '{"event":"pusher:subscribe","data":{"channel":null,"auth":[]}}',
    '{"event":"pusher:subscribe","data":{"channel":"private-x","auth":{"nested":true}}}',
  ];
  const mayIgnore = ['[]', '42', '"pusher:ping"', 'null', '{}', '{"data":{}}', '{"event":42}', '{"event":"pusher:unsubscribe","data":{}}'];
  for (const text of [...mustRefuse, ...mayIgnore]) {
    const ws = await badClient(t);
    ws.sendText(text);
    ws.send({ event: 'pusher:ping', data: {} });
    const reply = await ws.waitForFrame(
      (m) => m.type === 'close' || (m.json && ['pusher:error', 'pusher:pong'].includes(m.json.event)),
      `a reply after ${text}`,
    );
    const refused = reply.type === 'close' || reply.json.event === 'pusher:error';
    if (mustRefuse.includes(text)) assert.ok(refused, `${text} must get pusher:error or a close`);
    assert.equal(ws.received('pusher_internal:subscription_succeeded'), false, `${text} subscribed something`);
    ws.destroy();
  }
  await assertOthersUnaffected();
});

test('a binary frame is closed with 1003', async (t) => {
  await expectClose(t, (ws) => ws.sendFrame({ opcode: OP.BINARY, payload: Buffer.from([1, 2, 3]) }), 1003);
  await assertOthersUnaffected();
});

test('an unmasked client frame is closed with 1002', async (t) => {
  const text = JSON.stringify({ event: 'pusher:ping', data: {} });
  await expectClose(t, (ws) => ws.sendFrame({ opcode: OP.TEXT, payload: text, mask: false }), 1002);
  await assertOthersUnaffected();
});

test('invalid UTF-8 in a text frame is closed with 1007', async (t) => {
  const payloads = [
    Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), // bytes that never occur in UTF-8
    Buffer.concat([Buffer.from('{"event":"pusher:ping","data":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]), // surrogate
    Buffer.from([0xc0, 0xaf]), // overlong encoding of '/'
  ];
  for (const payload of payloads) {
    await expectClose(t, (ws) => ws.sendFrame({ opcode: OP.TEXT, payload }), 1007);
  }
  await assertOthersUnaffected();
});

test('a frame over 64 KiB is closed with 1009', async (t) => {
  // The header announces the size; a node must refuse on the header instead of buffering the
  // whole frame, so only the start of the payload is sent.
  const announced = 64 * 1024 + 1;
  const head = encodeFrame({ opcode: OP.TEXT, payload: Buffer.alloc(0), length: announced, mask: Buffer.from([1, 2, 3, 4]) });
  await expectClose(t, (ws) => ws.sendRaw(Buffer.concat([head, Buffer.alloc(4096, 0x20)])), 1009);
  await assertOthersUnaffected();
});

test('RFC 6455 framing violations are closed with 1002', async (t) => {
  const violations = {
    'reserved opcode 3': { opcode: 3, payload: 'x' },
    'reserved opcode 11': { opcode: 11, payload: 'x' },
    'RSV1 set without an extension': { opcode: OP.TEXT, payload: '{}', rsv: 4 },
    'fragmented ping': { opcode: OP.PING, payload: 'x', fin: false },
    'ping over 125 bytes': { opcode: OP.PING, payload: Buffer.alloc(126) },
    'continuation with nothing to continue': { opcode: OP.CONT, payload: 'x' },
  };
  for (const [what, frame] of Object.entries(violations)) {
    await t.test(what, () => expectClose(t, (ws) => ws.sendFrame(frame), 1002));
  }
  await assertOthersUnaffected();
});

test('garbage instead of an HTTP request gets the connection closed', async (t) => {
  for (const garbage of [
    Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03'), // a TLS ClientHello start
    Buffer.from('NOT HTTP AT ALL\r\n\r\n'),
    Buffer.from(`GET /app/app-key HTTP/1.1\r\nHost: x\r\n${'X-Junk: y\r\n'.repeat(10000)}\r\n`), // huge head
    Buffer.alloc(70000, 0x41),
  ]) {
    const conn = openTcp(mesh().nodePort(TARGET));
    t.after(() => conn.socket.destroy());
    await conn.connected;
    conn.socket.write(garbage);
    const reply = await conn.waitForClose();
    if (reply.length > 0) assert.match(reply.toString('latin1'), /^HTTP\/1\.[01] [45]\d\d /, 'a reply, if any, is an HTTP error');
  }
  await assertOthersUnaffected();
});

test('an upgrade without the WebSocket headers is refused with an HTTP error', async (t) => {
  const conn = openTcp(mesh().nodePort(TARGET));
  t.after(() => conn.socket.destroy());
  await conn.connected;
  conn.socket.write('GET /app/app-key?protocol=7 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  const reply = await conn.waitForClose().catch(() => conn.received);
  assert.match(reply.toString('latin1'), /^HTTP\/1\.[01] 4\d\d /);
  await assertOthersUnaffected();
});

test('half-sent requests and frames followed by a disconnect are cleaned up', async (t) => {
  // Half an HTTP request.
  const conn = openTcp(mesh().nodePort(TARGET));
  await conn.connected;
  conn.socket.write('GET /app/app-key?protocol=7 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpg');
  conn.socket.destroy();

  // Half a frame header, half a payload, half an extended length.
  const text = Buffer.from(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'half' } }));
  const frame = encodeFrame({ opcode: OP.TEXT, payload: text });
  const big = encodeFrame({ opcode: OP.TEXT, payload: Buffer.alloc(300, 0x20) });
  for (const part of [frame.subarray(0, 1), frame.subarray(0, 4), frame.subarray(0, frame.length - 1), big.subarray(0, 3)]) {
    const ws = await badClient(t);
    ws.sendRaw(part);
    ws.destroy();
  }

  // A connection that upgrades and vanishes without a close frame.
  const ws = await openWebSocket(mesh().nodePort(TARGET));
  ws.destroy();
  await assertOthersUnaffected();
});

test('a storm of bad connections leaves the node serving', async (t) => {
  const bad = [];
  for (let i = 0; i < 50; i++) {
    const ws = await badClient(t);
    ws.sendFrame({ opcode: [OP.BINARY, 3, OP.TEXT][i % 3], payload: i % 3 === 2 ? Buffer.from([0xff]) : 'x' });
    bad.push(ws.waitForClose());
  }
  await Promise.all(bad);
  await assertOthersUnaffected();
});
