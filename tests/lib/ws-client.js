'use strict';
// A deliberately raw WebSocket client for integration tests, built on `net`.
//
// It writes the HTTP upgrade by hand and frames every message itself, so a test can send what
// no real client library would: unmasked frames, binary frames, invalid UTF-8, oversize length
// headers, half frames, garbage. Server frames are parsed strictly (they must be unmasked);
// anything odd is recorded in `violations`. Complete messages and control frames land in an
// Inbox, so tests wait for "the next frame matching X" with a bounded timeout.
//
// Opcodes: 0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong.
//
// With { deflate: true } it offers permessage-deflate (RFC 7692); when the server accepts, a
// message whose first frame has RSV1 is inflated and lands in the Inbox with compressed: true.
// deflateMessage() compresses a message the way a client would, for sending with rsv: 4.

const crypto = require('node:crypto');
const net = require('node:net');
const zlib = require('node:zlib');
const { APP, HOST, WAIT_MS, Inbox, withTimeout } = require('./util');

const OP = Object.freeze({ CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 });
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const DEFAULT_QUERY = '?protocol=7&client=js&version=8.6.0&flash=false';
const DEFLATE_OFFER = 'permessage-deflate; client_max_window_bits'; // what Chromium offers
const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]); // RFC 7692 7.2.1: dropped by senders
const RSV1 = 4; // the rsv value of a compressed message's first frame

// A message compressed as RFC 7692 7.2.1 says (raw DEFLATE, sync flush, tail removed).
function deflateMessage(payload) {
  const out = zlib.deflateRawSync(Buffer.from(payload), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - DEFLATE_TAIL.length);
}

// Encodes one frame. payload: Buffer or string. mask: true (clients must mask), false, or a
// 4-byte Buffer key. length: the length to announce in the header (default: the real one).
function encodeFrame({ opcode, payload = Buffer.alloc(0), fin = true, rsv = 0, mask = true, length }) {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload, 'utf8');
  const announced = length === undefined ? body.length : length;
  const key = mask === true ? crypto.randomBytes(4) : mask || null;
  let header;
  if (announced < 126) {
    header = Buffer.alloc(2);
    header[1] = announced;
  } else if (announced <= 0xffff) {
    header = Buffer.alloc(4);
    header[1] = 126;
    header.writeUInt16BE(announced, 2);
  } else {
    header = Buffer.alloc(10);
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(announced), 2);
  }
  header[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
  if (!key) return Buffer.concat([header, body]);
  header[1] |= 0x80;
  const masked = Buffer.alloc(body.length);
  for (let i = 0; i < body.length; i++) masked[i] = body[i] ^ key[i & 3];
  return Buffer.concat([header, key, masked]);
}

// Parses as many complete server frames as `buf` holds; returns {frames, rest}.
function decodeFrames(buf) {
  const frames = [];
  let off = 0;
  for (;;) {
    if (buf.length - off < 2) break;
    const b0 = buf[off];
    const b1 = buf[off + 1];
    let len = b1 & 0x7f;
    let pos = off + 2;
    if (len === 126) {
      if (buf.length - pos < 2) break;
      len = buf.readUInt16BE(pos);
      pos += 2;
    } else if (len === 127) {
      if (buf.length - pos < 8) break;
      len = Number(buf.readBigUInt64BE(pos));
      pos += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    const key = masked ? buf.subarray(pos, pos + 4) : null;
    if (masked) pos += 4;
    if (buf.length - pos < len) break;
    let payload = Buffer.from(buf.subarray(pos, pos + len));
    if (masked) payload = payload.map((b, i) => b ^ key[i & 3]);
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, payload });
    off = pos + len;
  }
  return { frames, rest: buf.subarray(off) };
}

function parseResponseHead(text) {
  const [statusLine, ...lines] = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  const headers = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status: m ? Number(m[1]) : 0, statusLine, headers };
}

// True for an inbox item that is a Pusher message with this event (and channel, if given).
function isEvent(m, event, channel) {
  return m.type === 'text' && m.json && m.json.event === event && (channel === undefined || m.json.channel === channel);
}

class RawWebSocket {
  constructor(socket, key, { respondToPings = true } = {}) {
    this.socket = socket;
    this.deflate = false; // the server accepted permessage-deflate
    this.key = key;
    this.respondToPings = respondToPings;
    this.inbox = new Inbox('raw websocket');
    this.violations = []; // ways the server broke RFC 6455 towards us
    this.status = null; // HTTP status of the upgrade response
    this.headers = {};
    this.body = Buffer.alloc(0); // response body when the upgrade was refused
    this.closeFrame = null; // {code, reason} of the server's close frame
    this.closeSent = false;
    this.socketError = null;
    this.buffer = Buffer.alloc(0);
    this.fragments = null; // {opcode, parts} while a fragmented message is being received
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.inbox.end(`connection closed (close frame: ${JSON.stringify(this.closeFrame)})`);
        resolve(this.closeFrame);
      });
    });
    // Writes after the server hung up (EPIPE, ECONNRESET) are expected in malformed-input tests.
    socket.on('error', (err) => {
      this.socketError = err;
    });
  }

  // ---- receiving -----------------------------------------------------------------------------

  onData(chunk) {
    if (this.status === null) return this.onHandshakeData(chunk);
    if (this.status !== 101) {
      this.body = Buffer.concat([this.body, chunk]);
      return undefined;
    }
    this.buffer = Buffer.concat([this.buffer, chunk]);
    const { frames, rest } = decodeFrames(this.buffer);
    this.buffer = Buffer.from(rest);
    for (const f of frames) this.onFrame(f);
    return undefined;
  }

  onHandshakeData(chunk) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = parseResponseHead(this.buffer.subarray(0, end).toString('latin1'));
    const rest = this.buffer.subarray(end + 4);
    this.buffer = Buffer.alloc(0);
    this.status = head.status;
    this.headers = head.headers;
    this.deflate = /^permessage-deflate\b/.test(head.headers['sec-websocket-extensions'] || '');
    if (this.status === 101) {
      const expected = crypto.createHash('sha1').update(this.key + WS_GUID).digest('base64');
      if (head.headers['sec-websocket-accept'] !== expected) this.violations.push('bad Sec-WebSocket-Accept');
    }
    this.handshakeDone();
    if (rest.length > 0) this.onData(rest);
  }

  onFrame(f) {
    if (f.masked) this.violations.push(`masked server frame (opcode ${f.opcode})`);
    const compressed = this.deflate && f.rsv === RSV1 && (f.opcode === OP.TEXT || f.opcode === OP.BINARY);
    if (f.rsv && !compressed) this.violations.push(`server frame with RSV bits ${f.rsv}`);
    if (f.opcode >= 8) return this.onControlFrame(f);
    if (f.opcode === OP.CONT) {
      if (!this.fragments) return this.violations.push('continuation without a message');
      this.fragments.parts.push(f.payload);
    } else {
      if (this.fragments) this.violations.push('new message inside a fragmented one');
      this.fragments = { opcode: f.opcode, parts: [f.payload], compressed };
    }
    if (!f.fin) return undefined;
    const { opcode, parts } = this.fragments;
    const whole = Buffer.concat(parts);
    const wasCompressed = this.fragments.compressed;
    this.fragments = null;
    if (!wasCompressed) return this.onMessage(opcode, whole, false);
    let inflated;
    try {
      inflated = zlib.inflateRawSync(Buffer.concat([whole, DEFLATE_TAIL]), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch (err) {
      return this.violations.push(`compressed message that does not inflate: ${err.message}`);
    }
    return this.onMessage(opcode, inflated, true);
  }

  onMessage(opcode, data, compressed) {
    if (opcode !== OP.TEXT) return this.inbox.push({ type: 'binary', data, compressed });
    const text = data.toString('utf8');
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      this.violations.push(`text message that is not JSON: ${text.slice(0, 100)}`);
    }
    return this.inbox.push({ type: 'text', text, json, compressed });
  }

  onControlFrame(f) {
    if (f.opcode === OP.PING) {
      if (this.respondToPings && !this.closeSent) this.write(encodeFrame({ opcode: OP.PONG, payload: f.payload }));
      return this.inbox.push({ type: 'ping', data: f.payload });
    }
    if (f.opcode === OP.PONG) return this.inbox.push({ type: 'pong', data: f.payload });
    if (f.opcode !== OP.CLOSE) return this.violations.push(`unknown opcode ${f.opcode}`);
    const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null;
    this.closeFrame = { code, reason: f.payload.subarray(2).toString('utf8') };
    if (!this.closeSent) {
      this.closeSent = true;
      this.write(encodeFrame({ opcode: OP.CLOSE, payload: f.payload.subarray(0, 2) }));
    }
    this.socket.end();
    return this.inbox.push({ type: 'close', ...this.closeFrame });
  }

  // ---- waiting -------------------------------------------------------------------------------

  // Next text message whose JSON has this event (and channel, if given).
  waitForEvent(event, { channel, ms = WAIT_MS } = {}) {
    const what = `event ${event}${channel ? ` on ${channel}` : ''}`;
    return this.inbox.next((m) => isEvent(m, event, channel), what, ms).then((m) => m.json);
  }

  // Next item of any type matching pred ({type:'text'|'binary'|'ping'|'pong'|'close', ...}).
  waitForFrame(pred, what = 'a frame', ms = WAIT_MS) {
    return this.inbox.next(pred, what, ms);
  }

  // The next text message, whatever it is (its parsed JSON).
  nextMessage(ms = WAIT_MS) {
    return this.inbox.next((m) => m.type === 'text', 'a text message', ms).then((m) => m.json);
  }

  // Resolves with the server's close frame {code, reason} (null if TCP closed without one)
  // once the TCP connection is closed.
  waitForClose(ms = WAIT_MS) {
    return withTimeout(this.closed, ms, 'the server to close the connection');
  }

  // The pusher:error message received just before the server's close frame (its JSON), or
  // undefined: the node precedes every close with a Pusher code (4000-4999) with one.
  errorBeforeClose() {
    const h = this.inbox.history;
    const i = h.findIndex((m) => m.type === 'close');
    const before = i > 0 ? h[i - 1] : undefined;
    return before && before.type === 'text' && before.json.event === 'pusher:error' ? before.json : undefined;
  }

  // True if a text message with this event (and channel) was ever received.
  received(event, channel) {
    return this.inbox.seen((m) => isEvent(m, event, channel));
  }

  // ---- sending -------------------------------------------------------------------------------

  write(buf) {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(buf);
  }

  sendFrame(opts) {
    this.write(encodeFrame(opts));
  }

  sendText(text) {
    this.sendFrame({ opcode: OP.TEXT, payload: text });
  }

  send(obj) {
    this.sendText(JSON.stringify(obj));
  }

  sendRaw(buf) {
    this.write(buf);
  }

  // pusher:subscribe; resolves with the reply: subscription_succeeded for this channel, or a
  // pusher:error.
  subscribe(channel, extra = {}) {
    this.send({ event: 'pusher:subscribe', data: { auth: '', ...extra, channel } });
    const pred = (m) =>
      m.type === 'text' &&
      m.json &&
      ((m.json.event === 'pusher_internal:subscription_succeeded' && m.json.channel === channel) || m.json.event === 'pusher:error');
    return this.inbox.next(pred, `subscription reply for ${channel}`).then((m) => m.json);
  }

  unsubscribe(channel) {
    this.send({ event: 'pusher:unsubscribe', data: { channel } });
  }

  // A pusher:ping/pusher:pong round trip: when it resolves, the node has processed every
  // message sent before it on this connection.
  async sync() {
    this.send({ event: 'pusher:ping', data: {} });
    return this.waitForEvent('pusher:pong');
  }

  // Sends a close frame and waits for the server's close and the TCP close.
  async close(code = 1000) {
    if (!this.closeSent && !this.socket.destroyed) {
      const payload = Buffer.alloc(2);
      payload.writeUInt16BE(code);
      this.closeSent = true;
      this.sendFrame({ opcode: OP.CLOSE, payload });
    }
    try {
      await this.waitForClose();
    } finally {
      this.socket.destroy();
    }
  }

  destroy() {
    this.socket.destroy();
  }
}

// Opens a TCP connection (from localAddress, if given), sends the upgrade request for `path`
// and resolves once the response head has arrived, whatever its status (ws.status; ws.body
// collects a refusal's body).
function openWebSocket(port, { path = `/app/${APP.key}${DEFAULT_QUERY}`, headers = {}, respondToPings, localAddress, deflate, ms = WAIT_MS } = {}) {
  const key = crypto.randomBytes(16).toString('base64');
  const socket = net.connect({ host: HOST, port, localAddress });
  const ws = new RawWebSocket(socket, key, { respondToPings });
  const handshake = new Promise((resolve, reject) => {
    ws.handshakeDone = () => resolve(ws);
    socket.once('close', () => reject(new Error(`connection closed before the upgrade response (${ws.socketError || 'no error'})`)));
  });
  socket.on('data', (chunk) => ws.onData(chunk));
  socket.once('connect', () => {
    const lines = [
      `GET ${path} HTTP/1.1`,
      `Host: ${HOST}:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${key}`,
      'Sec-WebSocket-Version: 13',
      ...(deflate ? [`Sec-WebSocket-Extensions: ${DEFLATE_OFFER}`] : []),
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    ];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
  return withTimeout(handshake, ms, `the upgrade response from port ${port}`).catch((err) => {
    socket.destroy();
    throw err;
  });
}

// Opens a WebSocket for the test app and waits for pusher:connection_established; resolves
// to the client with socketId, activityTimeout and established (the parsed data) set.
async function connectClient(port, opts = {}) {
  const ws = await openWebSocket(port, opts);
  if (ws.status !== 101) {
    ws.destroy();
    throw new Error(`upgrade refused with HTTP ${ws.status}`);
  }
  const msg = await ws.nextMessage();
  if (!msg || msg.event !== 'pusher:connection_established') {
    ws.destroy();
    throw new Error(`first message is not pusher:connection_established: ${JSON.stringify(msg)}`);
  }
  ws.established = JSON.parse(msg.data);
  ws.socketId = ws.established.socket_id;
  ws.activityTimeout = ws.established.activity_timeout;
  return ws;
}

// A plain TCP connection for non-HTTP garbage (from localAddress, another 127.x address, when
// given): collects what the server sends and resolves `closed` with it when the server closes.
function openTcp(port, { localAddress } = {}) {
  const socket = net.connect({ host: HOST, port, localAddress });
  const conn = { socket, received: Buffer.alloc(0), error: null };
  socket.on('data', (chunk) => {
    conn.received = Buffer.concat([conn.received, chunk]);
  });
  socket.on('error', (err) => {
    conn.error = err;
  });
  conn.connected = new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  conn.closed = new Promise((resolve) => socket.once('close', () => resolve(conn.received)));
  conn.waitForClose = (ms = WAIT_MS) => withTimeout(conn.closed, ms, 'the server to close the TCP connection');
  return conn;
}

module.exports = { OP, RSV1, encodeFrame, decodeFrames, deflateMessage, RawWebSocket, openWebSocket, connectClient, openTcp };
