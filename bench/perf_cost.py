#!/usr/bin/env python3
"""System calls and context switches per publish, from `perf stat --per-thread -x,` counting
`raw_syscalls:sys_enter`, `context-switches` and the busy system calls by name
(`syscalls:sys_enter_*`) in the servers' threads for a window of the many-channel load
(bench/run.sh, scenario channels-cost). Appends to RESULTS_JSONL one record labelled
TARGET/publish-cost: the whole server side's counts per publish, per thread name (worker
threads are named rtm-worker-N, libzmq's ZMQbg/...) and per system call, so PROFILE.md can say
where each one goes. Publishes in the window are the generator's achieved rate times the window.

Usage: bench/perf_cost.py TARGET PERF_STAT_CSV WINDOW_S RESULTS_JSONL"""
import collections
import json
import sys


def counts(path):
    """{event: {thread name: count}} summed over threads of the same name."""
    out = collections.defaultdict(collections.Counter)
    for line in open(path):
        f = line.strip().split(",")
        if len(f) < 4 or not f[1].isdigit():
            continue  # comments, "<not counted>" (a thread that never ran)
        name = f[0].rsplit("-", 1)[0]  # "comm-tid"
        out[f[3]][name] += int(f[1])
    return out


def main():
    target, csv, window, results = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    gen = [json.loads(line) for line in open(results)]
    gen = [r for r in gen if r["label"] == f"{target}/channels-cost"]
    if not gen:
        sys.exit(f"perf_cost.py: no {target}/channels-cost record in {results}")
    publishes = gen[-1]["publish_rate"] * window
    c = counts(csv)
    sys_, cs = c["raw_syscalls:sys_enter"], c["context-switches"]
    if not publishes or not sys_:
        sys.exit(f"perf_cost.py: nothing counted in {csv}")
    per = lambda n: round(n / publishes, 2)
    rec = {"label": f"{target}/publish-cost", "perf_window_s": window,
           "publishes_in_window": round(publishes),
           "syscalls_per_publish": per(sum(sys_.values())),
           "cs_per_publish": per(sum(cs.values())),
           "per_thread": {n: {"syscalls": per(sys_[n]), "cs": per(cs[n])}
                          for n in sorted(set(sys_) | set(cs), key=lambda n: -sys_[n])},
           "per_call": {e.split("sys_enter_")[1]: per(sum(c[e].values()))
                        for e in sorted(c, key=lambda e: -sum(c[e].values()))
                        if e.startswith("syscalls:sys_enter_") and sum(c[e].values())}}
    with open(results, "a") as f:
        f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
