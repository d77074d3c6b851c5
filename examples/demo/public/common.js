'use strict';
// What both pages share: small DOM helpers, JSON calls to the app server, and a pusher-js
// client configured the way a self-hosted deployment configures it (our host and port, no
// TLS, WebSocket only, no stats), authorizing and signing in through the app server.
/* global Pusher */

// An element with text content (never HTML: names and messages come from other people).
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const value = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(value.error || `${method} ${path}: ${res.status}`);
  return value;
}

// Connects to the mesh for the app server's app (from GET /api/me), signs in as the session's
// user (an app with enable_user_authentication closes connections that do not) and mirrors the
// connection state in the header and on <body data-connection>.
function connectMesh(me) {
  const pusher = new Pusher(me.key, {
    cluster: 'mt1',
    wsHost: me.ws.host,
    wsPort: me.ws.port,
    forceTLS: false,
    enabledTransports: ['ws'],
    disableStats: true,
    channelAuthorization: { endpoint: '/pusher/auth', transport: 'ajax' },
    userAuthentication: { endpoint: '/pusher/user-auth', transport: 'ajax' },
  });
  const badge = document.getElementById('connection');
  pusher.connection.bind('state_change', ({ current }) => {
    document.body.dataset.connection = current;
    badge.textContent = current;
    badge.className = `state ${current}`;
  });
  pusher.signin();
  return pusher;
}

// "3 s ago" style age for a millisecond count.
function ago(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
}
