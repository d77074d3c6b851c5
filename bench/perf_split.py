#!/usr/bin/env python3
"""Where the server CPU of one publish goes, from `perf record -a -g` while the many-channel
load (b) runs (bench/run.sh, scenario channels-perf). Reads the servers' samples
(`perf script --pid ... -F comm,tid,time,ip,sym`) on stdin and appends to RESULTS_JSONL, next
to the generator's record, one labelled TARGET/publish-cpu: the run's server CPU per publish
(from /proc, as every other figure) split in the proportions of the samples:

* edge writes: samples whose kernel stack is in tcp_sendmsg, in the processes clients
  connect to (rtmesh's nodes, soketi) — the WebSocket deliveries and the HTTP answers, and
  the edge's own sends into its tier (a node's PUBLISH, soketi's PUBLISH to Redis), which
  share their threads and system calls. On loopback the kernel runs the receiving end's TCP
  input and the wake-up of the reader inside that call, so this is what a write costs on
  this machine with the generator on it.
* tier writes: the same in the tier's own processes (rtmesh's brokers, Redis): an event's
  copies to the edge processes and the acknowledgements.
* ZeroMQ I/O threads (rtmesh only): everything libzmq's own threads spend (node and broker).
* the rest: HTTP, signing, JSON, routing, framing, polling, reading, waking.

Usage: perf script ... | bench/perf_split.py TARGET RESULTS_JSONL"""
import json
import sys

TIER_COMMS = {"rtmesh-broker", "redis-server"}  # the tier's threads, by name


def samples(lines):
    """(comm, time, set of symbols on the stack) per sample."""
    head, syms = None, set()
    for line in lines:
        if not line.strip():
            if head:
                yield head[0], head[1], syms
            head, syms = None, set()
        elif line[0] in " \t":
            parts = line.split(None, 1)
            if len(parts) == 2:
                syms.add(parts[1].split("+")[0].strip())
        else:
            # "comm tid time:" — comm may hold spaces, the last two fields do not
            fields = line.rsplit(None, 2)
            head = (fields[0], float(fields[2].rstrip(":")))
    if head:
        yield head[0], head[1], syms


def main():
    target, results = sys.argv[1], sys.argv[2]
    gen = [json.loads(line) for line in open(results)]
    gen = [r for r in gen if r["label"] == f"{target}/channels-perf"]
    if not gen:
        sys.exit(f"perf_split.py: no {target}/channels-perf record in {results}")
    n = {"all": 0, "client_write": 0, "tier_write": 0, "zmq_io": 0}
    kernel_seen = False
    t0 = t1 = None
    for comm, t, syms in samples(sys.stdin):
        t0 = t if t0 is None else min(t0, t)
        t1 = t if t1 is None else max(t1, t)
        n["all"] += 1
        kernel_seen = kernel_seen or "do_syscall_64" in syms
        if comm.startswith("ZMQbg"):
            n["zmq_io"] += 1
        elif "tcp_sendmsg" in syms:
            n["tier_write" if comm in TIER_COMMS else "client_write"] += 1
    if not n["all"] or not kernel_seen:
        sys.exit("perf_split.py: no samples with kernel stacks (perf_event_paranoid?)")
    per_publish = 1e6 / gen[-1]["publishes_per_cpu_s"]
    us = {k: per_publish * v / n["all"] for k, v in n.items()}
    rec = json.dumps({
        "label": f"{target}/publish-cpu", "perf_window_s": round(t1 - t0, 3),
        "perf_samples": n["all"], "cpu_us_per_publish": round(us["all"], 1),
        "client_write_us_per_publish": round(us["client_write"], 1),
        "tier_write_us_per_publish": round(us["tier_write"], 1),
        "zmq_io_us_per_publish": round(us["zmq_io"], 1),
        "rest_us_per_publish": round(
            us["all"] - us["client_write"] - us["tier_write"] - us["zmq_io"], 1)})
    with open(results, "a") as f:
        f.write(rec + "\n")


if __name__ == "__main__":
    main()
