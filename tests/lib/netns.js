'use strict';
// "Hosts" for multi-host tests: Linux network namespaces joined by a bridge.
//
// A Network creates one namespace per host plus one for the switch (a bridge), and one veth
// pair per host whose ends live only in the switch and in the host: nothing is added to the
// namespace the test runs in, and every address exists only inside the namespaces created
// here. Each host gets /etc/netns/<ns>/hosts (which `ip netns exec` mounts over /etc/hosts),
// so names resolve — forward and reverse — without a DNS server. Processes run inside a host
// with `ip netns exec`, which execs the program itself, so the child's pid is the program's.
// destroy() removes everything and is safe to call more than once and after a failed setup;
// the helper also removes namespaces left by an earlier run that was killed.
//
// Needs root, iproute2 and (for partitions) iptables. available() says why not, for a skip.

const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');

const PREFIX = 'rtmnet';

function run(args, { input } = {}) {
  return execFileSync('ip', args, { input, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
}

// null when namespaces can be made here, else the reason they cannot.
function available() {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid && process.getuid() !== 0) return 'not root (network namespaces need root)';
  const ip = spawnSync('ip', ['-V']);
  if (ip.error) return '`ip` (iproute2) is not installed';
  const probe = `${PREFIX}probe${process.pid}`;
  const made = spawnSync('ip', ['netns', 'add', probe]);
  if (made.status !== 0) return `ip netns add failed: ${made.stderr.toString().trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  if (spawnSync('iptables', ['-V']).error) return '`iptables` is not installed';
  return null;
}

// Namespaces named PREFIX* whose creator (pid in the name) is gone: left by a killed run.
function removeStale() {
  let names = [];
  try {
    names = run(['netns', 'list']).split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(PREFIX));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number((name.match(/^rtmnet(\d+)-/) || [])[1]);
    let alive = false;
    try {
      alive = pid > 0 && (process.kill(pid, 0), true);
    } catch {}
    if (!alive) {
      spawnSync('ip', ['netns', 'del', name]);
      fs.rmSync(`/etc/netns/${name}`, { recursive: true, force: true });
    }
  }
}

class Network {
  // hosts: {name: address}; names: {address: [names...]} for every host's /etc/hosts.
  constructor(hosts, { subnet = 24, names = {} } = {}) {
    this.id = `${PREFIX}${process.pid}-`;
    this.hosts = hosts;
    this.subnet = subnet;
    this.names = names;
    this.created = [];
  }

  ns(host) {
    return `${this.id}${host}`;
  }

  setup() {
    removeStale();
    const sw = this.ns('sw');
    run(['netns', 'add', sw]);
    this.created.push(sw);
    run(['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    run(['-n', sw, 'link', 'set', 'br0', 'up']);
    let i = 0;
    for (const [host, addr] of Object.entries(this.hosts)) {
      const ns = this.ns(host);
      run(['netns', 'add', ns]);
      this.created.push(ns);
      const port = `p${i++}`;
      run(['link', 'add', 'name', port, 'netns', sw, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      run(['-n', sw, 'link', 'set', port, 'master', 'br0', 'up']);
      run(['-n', ns, 'addr', 'add', `${addr}/${this.subnet}`, 'dev', 'eth0']);
      run(['-n', ns, 'link', 'set', 'eth0', 'up']);
      run(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    this.writeHosts(this.names);
  }

  // Rewrites every host's /etc/hosts: names is {address: [name, ...]}; the first name of an
  // address is what a reverse lookup of it returns.
  writeHosts(names) {
    this.names = names;
    const lines = ['127.0.0.1 localhost', ...Object.entries(names).map(([a, n]) => `${a} ${n.join(' ')}`)];
    for (const host of Object.keys(this.hosts)) {
      const dir = `/etc/netns/${this.ns(host)}`;
      fs.mkdirSync(dir, { recursive: true });
      // in place, in one write: `ip netns exec` bind-mounts this very file (inode), so a
      // renamed replacement would never be seen by processes already running
      fs.writeFileSync(`${dir}/hosts`, `${lines.join('\n')}\n`);
    }
  }

  // [file, args] that run a program inside host.
  exec(host, file, args) {
    return ['ip', ['netns', 'exec', this.ns(host), file, ...args]];
  }

  // Drops every packet into and out of host's eth0 (a partition), or lets them through again.
  partition(host, on) {
    const ns = this.ns(host);
    const op = on ? '-I' : '-D';
    for (const chain of [['INPUT', '-i'], ['OUTPUT', '-o']])
      execFileSync('ip', ['netns', 'exec', ns, 'iptables', op, chain[0], chain[1], 'eth0', '-j', 'DROP']);
  }

  // Drops only the packets between hostA and hostB, in hostA's namespace (both directions:
  // what hostA sends to hostB and what it receives from it), or lets them through again.
  // Every other host still reaches both: an asymmetric partition.
  partitionBetween(hostA, hostB, on) {
    const ns = this.ns(hostA);
    const op = on ? '-I' : '-D';
    const peer = this.hosts[hostB];
    for (const rule of [['INPUT', '-s'], ['OUTPUT', '-d']])
      execFileSync('ip', ['netns', 'exec', ns, 'iptables', op, rule[0], rule[1], peer, '-j', 'DROP']);
  }

  // Drops only the packets from hostB arriving at hostA (a one-way partition: hostA still
  // sends to hostB, but hears nothing back), in hostA's namespace, or lets them through again;
  // with sport, only those of hostB's TCP port sport (one of its listeners).
  partitionFrom(hostA, hostB, on, sport) {
    const op = on ? '-I' : '-D';
    const port = sport ? ['-p', 'tcp', '--sport', String(sport)] : [];
    execFileSync('ip', ['netns', 'exec', this.ns(hostA), 'iptables', op, 'INPUT', '-s', this.hosts[hostB], ...port, '-j', 'DROP']);
  }

  destroy() {
    for (const ns of this.created.reverse()) {
      spawnSync('ip', ['netns', 'del', ns]);
      fs.rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
    }
    for (const host of Object.keys(this.hosts)) fs.rmSync(`/etc/netns/${this.ns(host)}`, { recursive: true, force: true });
    this.created = [];
  }
}

module.exports = { Network, available };
