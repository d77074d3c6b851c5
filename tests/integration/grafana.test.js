'use strict';
// deploy/grafana/rtmesh.json, the dashboard docs/operations.md points operators at, against the
// real binaries: every metric any panel's query names is a family that a running node's or
// broker's /metrics declares (a query naming a metric nobody exports draws an empty panel and
// nobody notices), and every panel and query uses the dashboard's Prometheus variable.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { useMesh, getMetrics } = require('../lib/mesh');

const DASHBOARD = path.join(__dirname, '..', '..', 'deploy', 'grafana', 'rtmesh.json');
const mesh = useMesh({ shards: 1, nodes: 1, workers: 1, brokerMetrics: true });

// Families declared by `# TYPE` lines, with the sample names a histogram or summary adds.
function exportedNames(text) {
  const names = new Set();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name);
    if (type === 'histogram' || type === 'summary') for (const s of ['_sum', '_count', '_bucket']) names.add(name + s);
  }
  return names;
}

// The rtmesh_* metric names in a PromQL expression.
const metricsIn = (expr) => [...expr.matchAll(/\b(rtmesh_[a-z0-9_]+)\b/g)].map((m) => m[1]);

function queries(dashboard) {
  return dashboard.panels.filter((p) => p.type !== 'row').flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));
}

// "panel: name" for every metric a query names that is not exported.
function unknownMetrics(dashboard, exported) {
  return queries(dashboard).flatMap(({ panel, expr }) => metricsIn(expr).filter((m) => !exported.has(m)).map((m) => `${panel}: ${m}`));
}

async function exportedByTheMesh() {
  const texts = await Promise.all([getMetrics(mesh().nodePort(0)), getMetrics(mesh().brokerMetricsPort(0))]);
  const names = new Set();
  for (const { text } of texts) for (const n of exportedNames(text)) names.add(n);
  return names;
}

test('every metric the dashboard queries is exported by a running node or broker', async () => {
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
  const exported = await exportedByTheMesh();
  assert.ok(queries(dashboard).length >= 20, 'the dashboard has its panels');
  assert.deepEqual(unknownMetrics(dashboard, exported), []);
  // The same check on a dashboard with one misspelt metric reports it (the check can fail).
  const broken = structuredClone(dashboard);
  const target = broken.panels.find((p) => p.type !== 'row').targets[0];
  target.expr = target.expr.replace(/rtmesh_[a-z0-9_]+/, 'rtmesh_no_such_metric');
  assert.equal(unknownMetrics(broken, exported).length, 1);
});

test('panels have unique ids and a place, and every query goes to the chosen Prometheus', () => {
  const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
  const variable = dashboard.templating.list.find((v) => v.type === 'datasource' && v.query === 'prometheus');
  assert.ok(variable, 'a Prometheus datasource variable');
  for (const p of dashboard.panels) {
    for (const k of ['h', 'w', 'x', 'y']) assert.ok(Number.isInteger(p.gridPos[k]), `${p.title}: gridPos.${k}`);
    assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title}: fits the 24 columns`);
    if (p.type === 'row') continue;
    assert.equal(p.datasource.uid, `\${${variable.name}}`, `${p.title}: datasource`);
    for (const t of p.targets) assert.equal(t.datasource.uid, `\${${variable.name}}`, `${p.title} ${t.refId}: datasource`);
  }
});
