'use strict';
// The mesh status page: draws the app server's latest snapshot at once (GET /api/status), then
// every snapshot it publishes on the mesh-status channel, so the page follows the mesh over
// rtmesh itself. A node that stopped answering shows as gone; a shard no live node sees
// heartbeats from shows as down.
/* global Chart, el, api, connectMesh, ago */

const RATE_POINTS = 60;
const $ = (id) => document.getElementById(id);

function shardLabel(endpoint) {
  return endpoint.replace(/^tcp:\/\//, '');
}

function renderNodes(snapshot) {
  const rows = snapshot.nodes.map((n) => {
    const shardDots = el('span', { class: 'dots' });
    for (const [endpoint, live] of Object.entries(n.shards)) {
      shardDots.append(el('span', { class: `dot ${live ? 'ok' : 'bad'}`, title: `${shardLabel(endpoint)}: ${live ? 'live' : 'down'}`, text: live ? '●' : '○' }));
    }
    const state = !n.up ? `gone (${ago(n.lastSeenMs)})` : n.ready ? 'up' : 'up, not ready';
    return el(
      'tr',
      { 'data-node-id': n.id, 'data-up': String(n.up), class: n.up ? '' : 'gone' },
      el('td', { class: 'mono', text: n.id }),
      el('td', {}, el('span', { class: `badge ${n.up ? (n.ready ? 'ok' : 'warn') : 'bad'}`, text: state })),
      el('td', { class: 'num', text: String(n.connections) }),
      el('td', { class: 'num', text: String(n.channels) }),
      el('td', { class: 'num', text: String(n.messagesOutPerSec) }),
      el('td', { class: 'num', text: String(n.messagesInPerSec) }),
      el('td', {}, shardDots),
    );
  });
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: '7', class: 'hint', text: 'No node has answered yet.' })));
  $('nodes').replaceChildren(...rows);
}

function renderShards(snapshot) {
  const rows = snapshot.shards.map((s, i) =>
    el(
      'tr',
      { 'data-shard': s.endpoint, 'data-live': String(s.live) },
      el('td', { class: 'num idx', text: String(i) }),
      el('td', { class: 'mono', text: shardLabel(s.endpoint) }),
      el('td', {}, el('span', { class: `badge ${s.live ? 'ok' : 'bad'}`, text: s.live ? 'live' : 'down' })),
      el('td', { text: `${s.liveOn} of ${s.seenBy} node${s.seenBy === 1 ? '' : 's'}` }),
    ),
  );
  if (rows.length === 0) rows.push(el('tr', {}, el('td', { colspan: '4', class: 'hint', text: 'No shard known yet.' })));
  $('shards').replaceChildren(...rows);
}

function renderTotals(snapshot) {
  const t = snapshot.totals;
  $('t-nodes').textContent = `${t.nodesUp} / ${snapshot.nodes.length}`;
  $('t-shards').textContent = `${snapshot.shards.filter((s) => s.live).length} / ${snapshot.shards.length}`;
  $('t-connections').textContent = String(t.connections);
  $('t-channels').textContent = String(t.channels);
  $('t-out').textContent = String(t.messagesOutPerSec);
  $('t-in').textContent = String(t.messagesInPerSec);
}

function rateChart() {
  return new Chart($('rate-chart'), {
    type: 'line',
    data: {
      labels: [],
      datasets: [
        { label: 'Messages out / s', data: [], borderColor: '#2563eb', backgroundColor: '#2563eb', tension: 0.3, pointRadius: 0 },
        { label: 'Messages in / s', data: [], borderColor: '#16a34a', backgroundColor: '#16a34a', tension: 0.3, pointRadius: 0 },
      ],
    },
    options: { animation: false, maintainAspectRatio: false, scales: { x: { ticks: { maxTicksLimit: 6, maxRotation: 0 } }, y: { beginAtZero: true } } },
  });
}

function main(me, first) {
  const chart = rateChart();
  let lastAt = 0;
  const draw = (snapshot) => {
    if (snapshot.at <= lastAt) return; // an older snapshot than the one shown
    lastAt = snapshot.at;
    renderTotals(snapshot);
    renderNodes(snapshot);
    renderShards(snapshot);
    document.body.dataset.snapshotAt = String(snapshot.at);
    $('updated').textContent = `updated ${new Date(snapshot.at).toLocaleTimeString()}`;
    const { labels, datasets } = chart.data;
    labels.push(new Date(snapshot.at).toLocaleTimeString());
    datasets[0].data.push(snapshot.totals.messagesOutPerSec);
    datasets[1].data.push(snapshot.totals.messagesInPerSec);
    if (labels.length > RATE_POINTS) {
      labels.shift();
      datasets.forEach((d) => d.data.shift());
    }
    chart.update();
  };
  draw(first);
  const pusher = connectMesh(me);
  pusher.subscribe('mesh-status').bind('status', draw);
}

Promise.all([api('GET', '/api/me'), api('GET', '/api/status')]).then(([me, first]) => main(me, first), (err) => {
  $('updated').textContent = `The app server did not answer: ${err.message}`;
});
