'use strict';
// Resident memory and open descriptors of the soak's processes, from /proc (the pid of a
// process started with `ip netns exec` is the program's own). Each start of a process is an
// incarnation of its own: a restarted broker starts small again.

const fs = require('node:fs');

// {rssKb, fds} of pid, or null once it is gone.
function sample(pid) {
  try {
    const rss = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
    return { rssKb: rss ? Number(rss[1]) : 0, fds: fs.readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return null;
  }
}

class ResourceLog {
  constructor() {
    this.byPid = new Map(); // pid -> {name, first, last, max: {rssKb, fds}}
  }

  // One sample of every running process in procs ({name: proc}).
  take(procs) {
    for (const [name, proc] of Object.entries(procs)) {
      if (proc.exit || !/rtmesh-(broker|node)$/.test(proc.child.spawnargs[4] || '')) continue;
      const s = sample(proc.child.pid);
      if (!s) continue;
      const life = this.byPid.get(proc.child.pid) || { name, first: s, last: s, max: { ...s } };
      life.last = s;
      life.max = { rssKb: Math.max(life.max.rssKb, s.rssKb), fds: Math.max(life.max.fds, s.fds) };
      this.byPid.set(proc.child.pid, life);
    }
  }

  // name -> {start: first sample of its first incarnation, end: last of its last, max over all}.
  summary() {
    const out = {};
    for (const life of this.byPid.values()) {
      const o = out[life.name];
      if (!o) out[life.name] = { start: life.first, end: life.last, max: { ...life.max }, lives: [life] };
      else {
        o.end = life.last;
        o.max = { rssKb: Math.max(o.max.rssKb, life.max.rssKb), fds: Math.max(o.max.fds, life.max.fds) };
        o.lives.push(life);
      }
    }
    return out;
  }
}

module.exports = { ResourceLog };
