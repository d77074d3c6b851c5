'use strict';
// Reads the Prometheus text format that a node's GET /metrics returns: one sample per line,
// `name{label="value",...} number`, comments starting with #. Only what the status page needs:
// samples as {name, labels, value}; a line that does not parse is skipped, not fatal, so a
// newer node with metrics of a shape we do not know still shows up.

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function unescape(v) {
  return v.replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
}

function parseMetrics(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const value = Number(m[3]);
    if (Number.isNaN(value)) continue;
    const labels = {};
    for (const [, k, v] of (m[2] || '').matchAll(LABEL)) labels[k] = unescape(v);
    samples.push({ name: m[1], labels, value });
  }
  return samples;
}

// The value of the first sample called `name` (no labels looked at), or `fallback`.
function value(samples, name, fallback = 0) {
  const s = samples.find((x) => x.name === name);
  return s ? s.value : fallback;
}

module.exports = { parseMetrics, value };
