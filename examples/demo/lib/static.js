'use strict';
// Serves the page's files: everything in public/ and, under /vendor/, exactly the browser
// builds of the npm packages the page uses, read from this app's own node_modules. Nothing is
// fetched from elsewhere at run time, and no other file of node_modules is reachable.

const fs = require('node:fs');
const path = require('node:path');

const PUBLIC = path.join(__dirname, '..', 'public');
const MODULES = path.join(__dirname, '..', 'node_modules');
const VENDOR = {
  '/vendor/pusher.min.js': path.join(MODULES, 'pusher-js', 'dist', 'web', 'pusher.min.js'),
  '/vendor/chart.umd.min.js': path.join(MODULES, 'chart.js', 'dist', 'chart.umd.min.js'),
};
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};
const PAGES = { '/': 'index.html', '/status': 'status.html' };

// The file for a request path, or null. Paths are matched against a fixed set of names, never
// joined blindly, so ../ cannot escape public/.
function resolveFile(urlPath) {
  if (VENDOR[urlPath]) return VENDOR[urlPath];
  if (PAGES[urlPath]) return path.join(PUBLIC, PAGES[urlPath]);
  const m = /^\/static\/([a-z0-9-]+\.(?:js|css|png|svg))$/.exec(urlPath);
  return m ? path.join(PUBLIC, m[1]) : null;
}

// Sends the file for urlPath and returns true, or returns false if there is none.
function serveStatic(urlPath, res, headers) {
  const file = resolveFile(urlPath);
  if (!file) return false;
  let body;
  try {
    body = fs.readFileSync(file);
  } catch {
    return false;
  }
  res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-cache', ...headers });
  res.end(body);
  return true;
}

module.exports = { serveStatic };
