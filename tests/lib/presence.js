'use strict';
// Presence members for raw WebSocket clients (lib/ws-client.js): a member's channel data,
// joining a presence channel signed as the protocol specifies, and waiting for the member
// events the others are sent.

const { APP } = require('./util');
const { hmac } = require('./rest');

const WAIT_MS = 10000;

function member(id) {
  return { user_id: id, user_info: { name: `user ${id}` } };
}

// Subscribes ws to a presence channel as `who`; resolves with the node's answer:
// pusher_internal:subscription_succeeded or pusher:subscription_error.
async function joinPresence(ws, channel, who, waitMs = WAIT_MS) {
  const channelData = JSON.stringify(member(who));
  const auth = `${APP.key}:${hmac(APP.secret, `${ws.socketId}:${channel}:${channelData}`)}`;
  ws.send({ event: 'pusher:subscribe', data: { channel, auth, channel_data: channelData } });
  const pred = (m) =>
    m.type === 'text' &&
    m.json &&
    m.json.channel === channel &&
    ['pusher_internal:subscription_succeeded', 'pusher:subscription_error'].includes(m.json.event);
  const reply = (await ws.inbox.next(pred, `presence subscription reply for ${channel}`, waitMs)).json;
  if (reply.event === 'pusher:subscription_error') {
    // its companion pusher:error names the channel too; drop it so it cannot be mistaken later
    await ws.inbox.next((m) => m.type === 'text' && m.json && m.json.event === 'pusher:error' && m.json.channel === channel, 'pusher:error', waitMs);
  }
  return reply;
}

// The member event (pusher_internal:member_added or _removed) ws is sent for `who` on channel.
async function memberEvent(ws, event, channel, who, waitMs = WAIT_MS) {
  const m = await ws.inbox.next(
    (x) => x.type === 'text' && x.json && x.json.event === `pusher_internal:${event}` && x.json.channel === channel && String(x.json.data).includes(`"${who}"`),
    `${event} for ${who} on ${channel}`,
    waitMs,
  );
  return typeof m.json.data === 'string' ? JSON.parse(m.json.data) : m.json.data;
}

module.exports = { member, joinPresence, memberEvent };
