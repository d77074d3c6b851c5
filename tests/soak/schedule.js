'use strict';
// The soak's fault schedule: a pure function of a seed and a duration. The same seed gives the
// same list of steps on any machine (a 32-bit PRNG, no clock, no Math.random), so a failing
// run is repeated with SOAK_SEED=<seed>.
//
// A step is one fault and its healing: {kind, target (a host), peer (one-way and between
// partitions), holdMs (how long the fault lasts, or how long a stopped process stays down),
// gapMs (the pause after healing before the next step: 0 lets the next fault hit the mesh
// while it is still recovering), settle (wait for presence to converge before the gap)}.
// The generator keeps the spare broker's membership itself, so every step is valid where it
// lands: a spare broker is added only when it is out of the list and removed only when in.
// Delays count only as nominal durations: their sum is the duration asked for.

// The hosts a schedule names (lib/netns.js hosts of the soak).
const BROKERS = ['b0', 'b1', 'b2'];
const SPARE = 'b3';
const NODES = ['n0', 'n1', 'n2'];

// kind -> what it does, for the report. Weights: how often each is drawn.
const KINDS = {
  'broker-kill': { weight: 3, what: 'SIGKILL a broker, restart it after holdMs' },
  'broker-term': { weight: 2, what: 'SIGTERM a broker (it leaves cleanly), restart it after holdMs' },
  'node-kill': { weight: 3, what: 'SIGKILL a node, restart it after holdMs' },
  'node-term': { weight: 2, what: 'SIGTERM a node (drains), restart it after holdMs' },
  'broker-stop': { weight: 2, what: 'SIGSTOP a broker for holdMs, then SIGCONT' },
  'node-stop': { weight: 2, what: 'SIGSTOP a node for holdMs, then SIGCONT' },
  'broker-partition': { weight: 2, what: "drop every packet of a broker's host for holdMs" },
  'node-partition': { weight: 1, what: "drop every packet of a node's host (its clients too) for holdMs" },
  between: { weight: 2, what: 'drop the packets between a node and a broker, both ways, for holdMs' },
  'one-way': { weight: 2, what: 'drop the packets from peer arriving at target (one direction) for holdMs' },
  'broker-add': { weight: 1, what: 'start the spare broker, list it in the brokers file, SIGHUP everyone' },
  'broker-remove': { weight: 1, what: 'unlist the spare broker, SIGHUP everyone, SIGTERM it' },
};

const HOLD_MS = [1000, 6000]; // a fault lasts this long (uniform)
const GAP_MS = [0, 4000]; // then this pause
const SETTLE_EVERY = 0.35; // chance that a step waits for presence to converge
const NOMINAL_SETTLE_MS = 3000; // what a settle is counted as in the duration

// mulberry32: a small PRNG with a 32-bit state; next() in [0, 1).
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick(next, list) {
  return list[Math.floor(next() * list.length)];
}

function between(next, [lo, hi]) {
  return lo + Math.floor(next() * (hi - lo + 1));
}

// One step of kind, given whether the spare broker is listed.
function step(next, kind, spareIn) {
  const brokers = spareIn ? [...BROKERS, SPARE] : BROKERS;
  const s = { kind, target: null, peer: null, holdMs: between(next, HOLD_MS), gapMs: between(next, GAP_MS), settle: next() < SETTLE_EVERY };
  if (kind.startsWith('broker-') && kind !== 'broker-add' && kind !== 'broker-remove') s.target = pick(next, brokers);
  else if (kind.startsWith('node-')) s.target = pick(next, NODES);
  else if (kind === 'between') [s.target, s.peer] = [pick(next, NODES), pick(next, brokers)];
  else if (kind === 'one-way') {
    const [node, broker] = [pick(next, NODES), pick(next, brokers)];
    [s.target, s.peer] = next() < 0.5 ? [node, broker] : [broker, node];
  } else s.target = SPARE;
  return s;
}

// The steps of a soak of durationMs with seed (an unsigned 32-bit integer).
function schedule(seed, durationMs) {
  const next = prng(seed);
  const steps = [];
  let spareIn = false;
  let total = 0;
  while (total < durationMs) {
    const kinds = Object.keys(KINDS).filter((k) => (k === 'broker-add' ? !spareIn : k === 'broker-remove' ? spareIn : true));
    const weights = kinds.map((k) => KINDS[k].weight);
    let r = next() * weights.reduce((a, b) => a + b, 0);
    let i = 0;
    while (r >= weights[i]) r -= weights[i++];
    const s = step(next, kinds[i], spareIn);
    if (s.kind === 'broker-add') spareIn = true;
    if (s.kind === 'broker-remove') spareIn = false;
    steps.push(s);
    total += s.holdMs + s.gapMs + (s.settle ? NOMINAL_SETTLE_MS : 0);
  }
  if (steps.length) steps[steps.length - 1].settle = true; // the end is judged settled
  return steps;
}

// A fresh seed for a run that was not given one (printed, so it can be repeated).
function randomSeed() {
  return require('node:crypto').randomBytes(4).readUInt32BE(0);
}

// "kind target[->peer] hold/gap[ settle]": one line of the printed schedule.
function describe(s) {
  const who = s.peer ? `${s.peer}->${s.target}` : s.target;
  return `${s.kind} ${who} hold=${s.holdMs}ms gap=${s.gapMs}ms${s.settle ? ' settle' : ''}`;
}

module.exports = { schedule, randomSeed, describe, prng, KINDS, BROKERS, SPARE, NODES };
