#!/usr/bin/env node
'use strict';
// Prints free TCP ports on 127.0.0.1 for the deployment checks: a pair P P+1 (a broker's
// ingress and egress; only P is printed) followed by N single ports. All are held until every
// one is chosen, so none repeats. Usage: deploy/free-ports.js N
const net = require('node:net');

const take = (port) => new Promise((resolve) => {
  const s = net.createServer();
  s.once('error', () => resolve(null));
  s.listen(port, '127.0.0.1', () => resolve(s));
});

(async () => {
  const held = [];
  let pair;
  while (!pair) {
    const a = await take(0);
    const b = await take(a.address().port + 1);
    held.push(a);
    if (b) {
      held.push(b);
      pair = a.address().port;
    }
  }
  const singles = [];
  for (let i = 0; i < Number(process.argv[2] || 0); i++) {
    const s = await take(0);
    held.push(s);
    singles.push(s.address().port);
  }
  held.forEach((s) => s.close());
  console.log([pair, ...singles].join(' '));
})();
