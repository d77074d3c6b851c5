'use strict';
// The soak's schedule generator (schedule.js): pure, repeatable from its seed, valid wherever
// a step lands, and as long as asked.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { schedule, prng, KINDS, BROKERS, SPARE, NODES } = require('./schedule');

const MINUTE = 60000;

test('the same seed gives the same schedule; another seed another one', () => {
  assert.deepEqual(schedule(42, 5 * MINUTE), schedule(42, 5 * MINUTE));
  assert.notDeepEqual(schedule(42, 5 * MINUTE), schedule(43, 5 * MINUTE));
});

test('the PRNG is fixed: its first values for seed 1 never change (seeds in docs stay valid)', () => {
  const next = prng(1);
  const first = [next(), next(), next()].map((x) => Math.floor(x * 1e6));
  assert.deepEqual(first, [627073, 2735, 527447]);
});

test('the nominal durations add up to the duration asked for, and the last step settles', () => {
  for (const seed of [1, 2, 3, 4294967295]) {
    const steps = schedule(seed, 2 * MINUTE);
    const total = steps.reduce((t, s) => t + s.holdMs + s.gapMs + (s.settle ? 3000 : 0), 0);
    const last = steps[steps.length - 1];
    assert.ok(total >= 2 * MINUTE, `seed ${seed}: ${total} ms`);
    assert.ok(total - (last.holdMs + last.gapMs + 3000) < 2 * MINUTE, `seed ${seed}: no step past the duration`);
    assert.equal(last.settle, true);
  }
});

test('every step is valid where it lands: the spare broker is added before it is removed, targets exist', () => {
  const kinds = new Set();
  for (let seed = 0; seed < 50; seed++) {
    let spareIn = false;
    for (const s of schedule(seed, 10 * MINUTE)) {
      kinds.add(s.kind);
      const brokers = spareIn ? [...BROKERS, SPARE] : BROKERS;
      if (s.kind === 'broker-add') assert.equal(spareIn, false, `seed ${seed}: added twice`);
      if (s.kind === 'broker-remove') assert.equal(spareIn, true, `seed ${seed}: removed while out`);
      if (s.kind === 'broker-add' || s.kind === 'broker-remove') {
        spareIn = s.kind === 'broker-add';
        assert.equal(s.target, SPARE);
      } else if (s.kind.startsWith('broker-')) assert.ok(brokers.includes(s.target), `seed ${seed}: ${s.target}`);
      else if (s.kind.startsWith('node-')) assert.ok(NODES.includes(s.target));
      else {
        const pair = [s.target, s.peer].sort();
        assert.ok(brokers.includes(pair[0]) && NODES.includes(pair[1]), `seed ${seed}: ${s.kind} ${pair}`);
      }
    }
  }
  assert.deepEqual([...kinds].sort(), Object.keys(KINDS).sort(), 'every kind of fault is drawn');
});
