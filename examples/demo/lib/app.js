'use strict';
// The demo's HTTP endpoints, the way an app server written for Pusher has them:
//
//   GET  /, /status, /static/*, /vendor/*   the pages and their files (lib/static.js)
//   GET  /api/me                            who you are and how to reach the mesh (no secret)
//   POST /api/me        {name}              change your display name
//   POST /api/messages  {text}              say something in the chat (server publishes it)
//   POST /api/notify    {to}                push a notification to one signed-in user
//   GET  /api/status                        the latest mesh status snapshot
//   GET  /api/stats                         what this server refused and published
//   POST /pusher/auth                       channel authorization for presence-chat
//   POST /pusher/user-auth                  user authentication (pusher-js signin())
//
// The app secret never leaves this process: the SDK signs with it here. Every refusal is a
// JSON {error} with a 4xx status and is counted in `refused`.

const { serveStatic } = require('./static');
const { cleanName } = require('./sessions');

const CHAT = 'presence-chat';
const BODY_LIMIT = 16 * 1024;
const TEXT_MAX = 500;
const USER_ID = /^u-[0-9a-f]{12}$/;

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => {
      body += c;
      if (body.length > BODY_LIMIT) {
        reject(new HttpError(413, `body over ${BODY_LIMIT} bytes`));
        req.destroy();
      }
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

// The request's fields: pusher-js posts its auth requests form-encoded, the page posts JSON.
async function readFields(req) {
  const body = await readBody(req);
  if ((req.headers['content-type'] || '').startsWith('application/json')) {
    try {
      const v = JSON.parse(body);
      if (v && typeof v === 'object' && !Array.isArray(v)) return v;
    } catch {
      // fall through to the error below
    }
    throw new HttpError(400, 'body is not a JSON object');
  }
  return Object.fromEntries(new URLSearchParams(body));
}

function sendJson(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(value));
}

// The page may load scripts only from here and talk only to here and the mesh's WebSocket port.
function securityHeaders(config) {
  const ws = `ws://${config.ws.host}:${config.ws.port}`;
  return {
    'content-security-policy': `default-src 'self'; connect-src 'self' ${ws}; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'`,
    'x-content-type-options': 'nosniff',
  };
}

// The path of a request target; an absolute-form target that is not a URL is refused.
function requestPath(req) {
  try {
    return new URL(req.url, 'http://demo').pathname;
  } catch {
    throw new HttpError(400, 'request target is not a URL');
  }
}

function socketId(fields) {
  const id = fields.socket_id;
  if (typeof id !== 'string' || !/^\d+\.\d+$/.test(id)) throw new HttpError(400, 'socket_id missing or malformed');
  return id;
}

function createApp({ config, pusher, sessions, feed, log }) {
  const stats = { refused: 0, messages: 0, notifications: 0 };
  const headers = securityHeaders(config);

  const signedIn = (req) => {
    const user = sessions.existingUser(req);
    if (!user) throw new HttpError(401, 'no session: load the page first');
    return user;
  };

  const routes = {
    'GET /api/me': (req, res) => {
      const user = sessions.userFor(req, res);
      return {
        user,
        key: config.app.key,
        ws: config.ws,
        chat: CHAT,
        features: { clientEvents: config.app.clientEvents, userAuthRequired: config.app.userAuthRequired },
      };
    },
    'POST /api/me': async (req) => {
      const user = signedIn(req);
      const name = cleanName((await readFields(req)).name);
      if (!name) throw new HttpError(400, 'name must be 1 to 32 characters');
      user.name = name;
      return { user };
    },
    'POST /api/messages': async (req) => {
      const user = signedIn(req);
      const { text } = await readFields(req);
      if (typeof text !== 'string' || text.trim() === '' || text.length > TEXT_MAX) throw new HttpError(400, `text must be 1 to ${TEXT_MAX} characters`);
      await pusher.trigger(CHAT, 'message', { from: { id: user.id, name: user.name }, text: text.trim(), at: Date.now() });
      stats.messages += 1;
      return { ok: true };
    },
    'POST /api/notify': async (req) => {
      const user = signedIn(req);
      const { to } = await readFields(req);
      if (typeof to !== 'string' || !USER_ID.test(to)) throw new HttpError(400, 'to must be a user id');
      await pusher.sendToUser(to, 'notification', { from: { id: user.id, name: user.name }, text: `${user.name} waved at you`, at: Date.now() });
      stats.notifications += 1;
      return { ok: true };
    },
    'GET /api/status': () => feed.latest,
    'GET /api/stats': () => ({ ...stats, statusPublishFailures: feed.failures }),
    'POST /pusher/auth': async (req) => {
      const user = signedIn(req);
      const fields = await readFields(req);
      if (fields.channel_name !== CHAT) throw new HttpError(403, `this app authorizes only ${CHAT}`);
      return pusher.authorizeChannel(socketId(fields), CHAT, { user_id: user.id, user_info: { name: user.name } });
    },
    'POST /pusher/user-auth': async (req) => {
      const user = signedIn(req);
      return pusher.authenticateUser(socketId(await readFields(req)), { id: user.id, user_info: { name: user.name } });
    },
  };

  async function handle(req, res) {
    let urlPath = '?';
    try {
      urlPath = requestPath(req);
      const route = routes[`${req.method} ${urlPath}`];
      if (route) {
        sendJson(res, 200, await route(req, res));
        return;
      }
      if (req.method === 'GET' && urlPath === '/') sessions.userFor(req, res);
      if (req.method === 'GET' && serveStatic(urlPath, res, headers)) return;
      throw new HttpError(404, `no ${req.method} ${urlPath}`);
    } catch (err) {
      if (err instanceof HttpError) {
        stats.refused += 1;
        log(`event=refused method=${req.method} path=${urlPath} status=${err.status} reason="${err.message}" refused_total=${stats.refused}`);
        if (!res.headersSent) sendJson(res, err.status, { error: err.message });
        return;
      }
      // The mesh refused or could not be reached (the SDK's RequestError carries its status).
      log(`event=mesh_request_failed path=${urlPath} status=${err.status || 'none'} error="${err.message}"`);
      if (!res.headersSent) sendJson(res, 502, { error: 'the mesh did not accept the request; try again' });
    }
  }

  return { handle, stats };
}

module.exports = { createApp, CHAT };
