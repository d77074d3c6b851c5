'use strict';
// Who is who, the way a real app knows it: a random session id in an HttpOnly cookie, mapped on
// the server to a user (a stable id and a display name the person may change). The auth
// endpoints sign for the user of the session, never for an id the page claims, so nobody can
// join the chat or sign in to rtmesh as somebody else.
//
// The demo has no accounts: a new visitor gets a generated name. Sessions live in memory and
// the oldest are dropped past `limit`, so a flood of visitors cannot exhaust the server.

const crypto = require('node:crypto');

const COOKIE = 'rtmesh_demo';
const NAME_MAX = 32;
const ADJECTIVES = ['Amber', 'Brisk', 'Calm', 'Dapper', 'Eager', 'Fuzzy', 'Gentle', 'Happy', 'Jolly', 'Lucky', 'Mellow', 'Nimble', 'Plucky', 'Quiet', 'Rapid', 'Sunny', 'Witty', 'Zesty'];
const ANIMALS = ['Otter', 'Falcon', 'Badger', 'Heron', 'Lynx', 'Panda', 'Koala', 'Gecko', 'Marmot', 'Puffin', 'Walrus', 'Ibis', 'Newt', 'Yak', 'Wombat', 'Tapir'];

const pick = (list) => list[crypto.randomInt(list.length)];

function generatedName() {
  return `${pick(ADJECTIVES)} ${pick(ANIMALS)}`;
}

// A display name as typed, trimmed and with control characters removed; null if nothing is
// left or it is too long.
function cleanName(raw) {
  if (typeof raw !== 'string') return null;
  // eslint-disable-next-line no-control-regex
  const name = raw.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  return name.length > 0 && name.length <= NAME_MAX ? name : null;
}

function parseCookies(header = '') {
  const out = {};
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

class Sessions {
  constructor({ limit = 10000 } = {}) {
    this.limit = limit;
    this.byId = new Map(); // session id → user {id, name}; insertion order = age
  }

  // The user of the request's session, creating one (and setting its cookie on res) if the
  // request has none or an unknown one.
  userFor(req, res) {
    const sid = parseCookies(req.headers.cookie)[COOKIE];
    const known = sid && this.byId.get(sid);
    if (known) return known;
    const newSid = crypto.randomBytes(18).toString('base64url');
    const user = { id: `u-${crypto.randomBytes(6).toString('hex')}`, name: generatedName() };
    this.byId.set(newSid, user);
    if (this.byId.size > this.limit) this.byId.delete(this.byId.keys().next().value);
    res.setHeader('set-cookie', `${COOKIE}=${newSid}; Path=/; HttpOnly; SameSite=Strict`);
    return user;
  }

  // The session's user, or null when the request has no valid session (auth endpoints refuse).
  existingUser(req) {
    const sid = parseCookies(req.headers.cookie)[COOKIE];
    return (sid && this.byId.get(sid)) || null;
  }
}

module.exports = { Sessions, cleanName, NAME_MAX };
