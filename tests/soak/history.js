'use strict';
// The soak's history and the invariants judged from it. A history is a list of records, one
// per thing that happened, in the order the recorder saw them (clients.js writes them; the
// runner adds its faults), each with its wall-clock time:
//   {t:'pub', p, ch, s, sent, done, ok, status}  publisher p's s-th event on channel ch; ok: acknowledged
//   {t:'recv', c, ch, p, s, at}                   client c received it
//   {t:'sub', c, ch, at}                           c's subscription to ch succeeded (again)
//   {t:'down', c, at}                              c's connection left "connected"
//   {t:'hook', name, ch, user, at}                 one webhook event the consumer received
//   {t:'fault', kind, target, peer, at, healed}    a step of the schedule (the runner)
// Everything here is pure: it reads a history and answers, so it is unit-tested with made-up
// histories (history.test.js).

const fs = require('node:fs');

// Appends records to a JSON-lines file as they come, and keeps them for the checks.
class Recorder {
  constructor(file) {
    this.file = file;
    this.records = [];
    this.fd = fs.openSync(file, 'w');
  }

  add(rec) {
    this.records.push(rec);
    fs.writeSync(this.fd, `${JSON.stringify(rec)}\n`);
  }

  close() {
    fs.closeSync(this.fd);
  }
}

function byType(history, t) {
  return history.filter((r) => r.t === t);
}

// client -> channel -> the times its subscription succeeded; client -> times it went down.
function timelines(history) {
  const subs = new Map();
  const downs = new Map();
  for (const r of history) {
    if (r.t === 'sub') {
      if (!subs.has(r.c)) subs.set(r.c, new Map());
      const ch = subs.get(r.c);
      if (!ch.has(r.ch)) ch.set(r.ch, []);
      ch.get(r.ch).push(r.at);
    } else if (r.t === 'down') {
      if (!downs.has(r.c)) downs.set(r.c, []);
      downs.get(r.c).push(r.at);
    }
  }
  return { subs, downs };
}

// What became of every acknowledged publish at every client that ever subscribed its channel.
// Per (publish, client): received; unsubscribed (its subscription was not in place when the
// publish was sent: Pusher delivers nothing then); told (it was subscribed, and its connection
// dropped within noticeMs after the send: the server told it to reconnect, or went away, and
// a Pusher client knows it may have missed events around a reconnect); lost (otherwise:
// missed silently). A publish counts once, as its worst fate over the clients.
const FATES = ['received', 'unsubscribed', 'told', 'lost']; // better to worse

function accountPublishes(history, noticeMs) {
  const { subs, downs } = timelines(history);
  const received = new Set(byType(history, 'recv').map((r) => `${r.c}|${r.p}|${r.s}`));
  const count = { acked: 0, received: 0, told: 0, unsubscribed: 0, lost: 0 };
  const lost = [];
  for (const pub of byType(history, 'pub')) {
    if (!pub.ok) continue;
    count.acked++;
    let worst = 'received';
    for (const [c, channels] of subs) {
      const since = (channels.get(pub.ch) || []).filter((t) => t <= pub.sent);
      if (!since.length || received.has(`${c}|${pub.p}|${pub.s}`)) continue;
      const mine = downs.get(c) || [];
      const subscribed = !mine.some((d) => d >= since[since.length - 1] && d <= pub.sent);
      let fate = 'unsubscribed';
      if (subscribed) fate = mine.some((d) => d > pub.sent && d <= pub.sent + noticeMs) ? 'told' : 'lost';
      if (fate === 'lost') lost.push({ client: c, ...pub });
      if (FATES.indexOf(fate) > FATES.indexOf(worst)) worst = fate;
    }
    count[worst]++;
  }
  return { ...count, lostPublishes: lost };
}

// Per client, channel and publisher, events must arrive in the order they were published
// (strictly rising sequence numbers: a repeat is a violation too). On a cache channel the first
// event after each subscription may be the cached last event, seen before: it is not judged.
function orderViolations(history, isCache) {
  const last = new Map(); // c|ch|p -> last seq
  const fresh = new Set(); // c|ch just (re)subscribed on a cache channel
  const violations = [];
  for (const r of history) {
    if (r.t === 'sub' && isCache(r.ch)) fresh.add(`${r.c}|${r.ch}`);
    if (r.t !== 'recv') continue;
    const key = `${r.c}|${r.ch}|${r.p}`;
    const replay = fresh.delete(`${r.c}|${r.ch}`) && r.s <= (last.get(key) ?? -1);
    if (!replay && last.has(key) && r.s <= last.get(key)) violations.push({ client: r.c, channel: r.ch, publisher: r.p, after: last.get(key), got: r.s, at: r.at });
    if (!replay) last.set(key, r.s);
  }
  return violations;
}

// The webhook consumer of a Laravel-style app: who is online per presence channel, from
// member_added / member_removed alone; duplicates are events that make no sense to it (an
// add of someone online, a removal of someone offline).
function webhookConsumer(history) {
  const online = new Map();
  let delivered = 0;
  let duplicated = 0;
  for (const r of byType(history, 'hook')) {
    delivered++;
    if (r.name !== 'member_added' && r.name !== 'member_removed') continue;
    if (!online.has(r.ch)) online.set(r.ch, new Set());
    const users = online.get(r.ch);
    if (r.name === 'member_added') {
      if (users.has(r.user)) duplicated++;
      users.add(r.user);
    } else {
      if (!users.has(r.user)) duplicated++;
      users.delete(r.user);
    }
  }
  return { online, delivered, duplicated };
}

// p-th percentile (0..100) of numbers, by nearest rank; null for none.
function percentile(values, p) {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

module.exports = { Recorder, accountPublishes, orderViolations, webhookConsumer, percentile };
