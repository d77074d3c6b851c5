'use strict';
// The soak's mesh and its faults: starts brokers and nodes in their hosts (lib/multihost.js),
// watches every process for an exit the schedule did not cause, and applies one step of the
// schedule (schedule.js) at a time: fault, hold, heal. Waits are for log lines, each bounded;
// before a process gets SIGHUP it must have logged that it started (its handler is in place:
// SIGHUP's default action ends a process).

const fs = require('node:fs');
const path = require('node:path');
const { waitLog, stop, kill, WAIT_MS } = require('../lib/multihost');
const { sleep } = require('../lib/util');
const { BROKERS, SPARE, NODES } = require('./schedule');

class SoakMesh {
  // h: the harness; appsFile: the apps (with the webhook) every process reads.
  constructor(h, appsFile) {
    this.h = h;
    this.appsFile = appsFile;
    this.listed = [...BROKERS]; // brokers in the brokers file
    this.unexpected = []; // exits the schedule did not cause: "name: exit"
    this.lives = []; // every process started, in order: {name, proc}
  }

  // Starts broker or node `name` in its host with the brokers file and the apps.
  launch(name) {
    const args = ['--apps', this.appsFile];
    const proc = name.startsWith('b') ? this.h.fileBroker(name, args) : this.h.fileNode(name, args);
    proc.expectExit = false;
    this.lives.push({ name, proc });
    proc.exited.then((exit) => {
      if (!proc.killed && !proc.expectExit) this.unexpected.push(`${name}: ${JSON.stringify(exit)}`);
    });
    return proc;
  }

  // Writes the log of every process started into dir, as <name>-<start number>.log.
  saveLogs(dir) {
    fs.mkdirSync(dir, { recursive: true });
    const n = {};
    for (const { name, proc } of this.lives) {
      n[name] = (n[name] || 0) + 1;
      fs.writeFileSync(path.join(dir, `${name}-${n[name]}.log`), proc.log.text);
    }
  }

  start() {
    this.h.writeBrokers(this.listed);
    for (const name of [...BROKERS, ...NODES]) this.launch(name);
  }

  running(name) {
    const p = this.h.procs[name];
    return p && !p.exit ? p : null;
  }

  // SIGTERM: the process must stop cleanly (exit 0), or that is noted as unexpected.
  async terminate(name) {
    const proc = this.h.procs[name];
    proc.expectExit = true;
    const exit = await stop(proc);
    if (!(exit.code === 0 && exit.signal === null)) this.unexpected.push(`${name} after SIGTERM: ${JSON.stringify(exit)}`);
  }

  // SIGHUP to the running processes in names, each once it has logged its start.
  async reload(names) {
    for (const name of names) {
      const proc = this.running(name);
      if (!proc) continue;
      await waitLog(proc, ['event=start'], 0, `${name} to start`, WAIT_MS);
      proc.child.kill('SIGHUP');
    }
  }

  // Applies step s; resolves once it has been held and healed.
  async apply(s) {
    const { h } = this;
    const { net } = h;
    const hold = () => sleep(s.holdMs);
    switch (s.kind) {
      case 'broker-kill':
      case 'node-kill':
        await kill(h.procs[s.target]);
        await hold();
        this.launch(s.target);
        break;
      case 'broker-term':
      case 'node-term':
        await this.terminate(s.target);
        await hold();
        this.launch(s.target);
        break;
      case 'broker-stop':
      case 'node-stop':
        h.procs[s.target].child.kill('SIGSTOP');
        await hold();
        h.procs[s.target].child.kill('SIGCONT');
        break;
      case 'broker-partition':
      case 'node-partition':
        net.partition(s.target, true);
        await hold();
        net.partition(s.target, false);
        break;
      case 'between':
        net.partitionBetween(s.target, s.peer, true);
        await hold();
        net.partitionBetween(s.target, s.peer, false);
        break;
      case 'one-way':
        net.partitionFrom(s.target, s.peer, true);
        await hold();
        net.partitionFrom(s.target, s.peer, false);
        break;
      case 'broker-add': // README: start it with the new list, SIGHUP the nodes, then the brokers
        this.listed = [...BROKERS, SPARE];
        h.writeBrokers(this.listed);
        this.launch(SPARE);
        await waitLog(h.procs[SPARE], ['event=start'], 0, `${SPARE} to start`, WAIT_MS);
        await this.reload(NODES);
        await this.reload(BROKERS);
        await hold();
        break;
      case 'broker-remove': // README: SIGHUP the brokers that stay, then the nodes, then stop it
        this.listed = [...BROKERS];
        h.writeBrokers(this.listed);
        await this.reload(BROKERS);
        await this.reload(NODES);
        await hold();
        await this.terminate(SPARE);
        break;
      default:
        throw new Error(`unknown fault ${s.kind}`);
    }
  }
}

module.exports = { SoakMesh };
