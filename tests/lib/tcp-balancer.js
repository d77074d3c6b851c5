'use strict';
// A TCP load balancer for tests, as an L4 balancer in front of edge nodes behaves: it checks
// each backend's GET /readyz every CHECK_MS, sends each new connection to the next ready
// backend in turn (to any backend if none is ready), and pipes bytes both ways unchanged.
// Listens on 127.0.0.1 on a free port (balancer.port). close() ends the listener, every piped
// connection and the checks.

const http = require('node:http');
const net = require('node:net');
const { HOST } = require('./util');

const CHECK_MS = 200;

function readyz(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path: '/readyz', agent: false, timeout: CHECK_MS * 2 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

async function startBalancer(backendPorts) {
  const ready = new Map(backendPorts.map((p) => [p, false]));
  const sockets = new Set();
  let next = 0;
  let closed = false;
  const check = async () => {
    await Promise.all(backendPorts.map(async (p) => ready.set(p, await readyz(p))));
  };
  await check();
  const timer = setInterval(() => {
    if (!closed) check();
  }, CHECK_MS);
  const pick = () => {
    const live = backendPorts.filter((p) => ready.get(p));
    const pool = live.length > 0 ? live : backendPorts;
    next += 1;
    return pool[next % pool.length];
  };
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: HOST, port: pick() });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {}); // a reset on one side ends both, below
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise((resolve) => server.listen(0, HOST, resolve));
  return {
    port: server.address().port,
    close: () => new Promise((resolve) => {
      closed = true;
      clearInterval(timer);
      sockets.forEach((s) => s.destroy());
      server.close(() => resolve());
    }),
  };
}

module.exports = { startBalancer };
