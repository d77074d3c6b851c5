'use strict';
// The chat & dashboard page: joins the presence chat at once under the session's name, shows
// who is online and who is typing (client events, when the app allows them), posts messages
// through the app server, draws the dashboard channel as a live chart, and shows the
// notifications the app server sends to this signed-in user.
/* global Chart, el, api, connectMesh */

const TYPING_SEND_MS = 1500; // at most one client-typing event this often while typing
const TYPING_SHOW_MS = 3000; // how long "X is typing" stays after the last event
const CHART_POINTS = 40;

const $ = (id) => document.getElementById(id);

function startChat(pusher, me) {
  let channel = null;
  const typers = new Map(); // user id → {name, timer}

  const renderOnline = () => {
    const list = $('online');
    list.replaceChildren();
    if (!channel) return;
    const members = [];
    channel.members.each((m) => members.push(m));
    members.sort((a, b) => a.info.name.localeCompare(b.info.name));
    for (const m of members) {
      const self = m.id === me.user.id;
      const item = el('li', { 'data-user-id': m.id }, el('span', { class: 'who', text: self ? `${m.info.name} (you)` : m.info.name }));
      if (!self) {
        const wave = el('button', { type: 'button', class: 'wave', text: 'Wave', 'aria-label': `Wave at ${m.info.name}` });
        wave.addEventListener('click', () => api('POST', '/api/notify', { to: m.id }).then(() => toast(`You waved at ${m.info.name}`), (e) => toast(e.message)));
        item.append(wave);
      }
      list.append(item);
    }
    $('online-count').textContent = String(members.length);
  };

  // Without client events nobody's typing can be shown: the line says so instead.
  const idle = me.features.clientEvents ? '' : 'Typing indicators need an app with enable_client_messages.';
  const renderTyping = () => {
    const names = [...typers.values()].map((t) => t.name);
    $('typing').textContent = names.length === 0 ? idle : `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…`;
  };

  const addMessage = ({ from, text, at }) => {
    const list = $('messages');
    const mine = from.id === me.user.id;
    list.append(el('li', { class: mine ? 'mine' : '' }, el('span', { class: 'who', text: from.name }), el('span', { class: 'text', text }), el('time', { text: new Date(at).toLocaleTimeString() })));
    list.scrollTop = list.scrollHeight;
    const t = typers.get(from.id);
    if (t) {
      clearTimeout(t.timer);
      typers.delete(from.id);
      renderTyping();
    }
  };

  const join = () => {
    channel = pusher.subscribe(me.chat);
    channel.bind('pusher:subscription_succeeded', renderOnline);
    channel.bind('pusher:member_added', renderOnline);
    channel.bind('pusher:member_removed', (m) => {
      typers.delete(m.id);
      renderTyping();
      renderOnline();
    });
    channel.bind('pusher:subscription_error', (e) => toast(`Could not join the chat (${e.status || e.type})`));
    channel.bind('message', addMessage);
    channel.bind('client-typing', (data, meta) => {
      const id = (meta && meta.user_id) || data.id;
      if (!id || id === me.user.id) return;
      const known = typers.get(id);
      if (known) clearTimeout(known.timer);
      const name = channel.members.get(id) ? channel.members.get(id).info.name : data.name;
      typers.set(id, { name, timer: setTimeout(() => typers.delete(id) && renderTyping(), TYPING_SHOW_MS) });
      renderTyping();
    });
  };

  // A new name reaches the others as a new member: leave and join again with fresh auth.
  const rejoin = () => {
    pusher.unsubscribe(me.chat);
    join();
  };

  let lastTyping = 0;
  $('message').addEventListener('input', () => {
    if (!me.features.clientEvents || !channel || !channel.subscribed) return;
    const now = Date.now();
    if (now - lastTyping < TYPING_SEND_MS) return;
    lastTyping = now;
    channel.trigger('client-typing', { id: me.user.id, name: me.user.name });
  });
  renderTyping();

  $('message-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('message');
    const text = input.value.trim();
    if (!text) return;
    api('POST', '/api/messages', { text }).then(() => {
      input.value = '';
      lastTyping = 0;
    }, (err) => toast(err.message));
  });

  $('name-form').addEventListener('submit', (e) => {
    e.preventDefault();
    api('POST', '/api/me', { name: $('name').value }).then(({ user }) => {
      me.user = user;
      $('name').value = user.name;
      rejoin();
    }, (err) => toast(err.message));
  });
  $('name').value = me.user.name;
  join();
}

function startDashboard(pusher) {
  const chart = new Chart($('chart'), {
    type: 'line',
    data: {
      labels: [],
      datasets: [
        { label: 'Orders / min', data: [], borderColor: '#2563eb', backgroundColor: '#2563eb', yAxisID: 'y', tension: 0.3, pointRadius: 0 },
        { label: 'Checkout ms', data: [], borderColor: '#db2777', backgroundColor: '#db2777', yAxisID: 'y1', tension: 0.3, pointRadius: 0 },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { ticks: { maxTicksLimit: 5, maxRotation: 0 } },
        y: { position: 'left', beginAtZero: true },
        y1: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false } },
      },
    },
  });
  let lastSeq = 0;
  const channel = pusher.subscribe('cache-dashboard');
  channel.bind('reading', (r) => {
    // A rejoined cache channel replays the latest reading; each point is drawn once.
    if (r.seq <= lastSeq) return;
    lastSeq = r.seq;
    const { labels, datasets } = chart.data;
    labels.push(new Date(r.at).toLocaleTimeString());
    datasets[0].data.push(r.ordersPerMinute);
    datasets[1].data.push(r.checkoutMs);
    if (labels.length > CHART_POINTS) {
      labels.shift();
      datasets.forEach((d) => d.data.shift());
    }
    chart.update();
    $('orders').textContent = String(r.ordersPerMinute);
    $('checkout').textContent = String(r.checkoutMs);
  });
}

function startNotifications(pusher) {
  pusher.user.bind('notification', (n) => {
    $('notifications').prepend(el('li', {}, el('span', { class: 'text', text: n.text }), el('time', { text: new Date(n.at).toLocaleTimeString() })));
    toast(n.text);
  });
}

let toastTimer = null;
function toast(text) {
  const t = $('toast');
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    t.hidden = true;
  }, 4000);
}

api('GET', '/api/me').then((me) => {
  const pusher = connectMesh(me);
  startNotifications(pusher);
  startChat(pusher, me);
  startDashboard(pusher);
}, (err) => toast(`The app server did not answer: ${err.message}`));
