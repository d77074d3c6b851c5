#!/usr/bin/env python3
"""What one broadcast event costs the broker as the node's worker count grows (bench/run.sh,
scenario fleet: one broker, one node with N workers, one channel every worker has subscribers
on). Samples twice, WINDOW_S apart, while the generator publishes, and appends to
RESULTS_JSONL one record labelled TARGET/fleet-egress:

* events: the broker's own rtmesh_broker_events_published_total (its /metrics) over the
  window, and egress_drops its rtmesh_broker_egress_drops_total. The broker counts events,
  not the copies its egress writes, so the copies are counted by the kernel:
* egress_bytes_per_event: bytes the kernel acknowledged on the broker's egress connections
  (`ss -ti`, bytes_acked of every socket on the egress port) per event: ZMTP frames of the
  events, and the few heartbeats of the window.
* egress_conns / egress_msgs_per_event: connections on the egress port, and those that
  carried at least one byte per event (the links subscribed to the channel). The egress
  writes an event once to each subscribed link, so these are the messages per event;
  egress_link_bytes_per_event_min / _max, one link's bytes per event, show each carrying
  link got one copy of each event (the same size on every link).
* workers_with_subscribers: the node's rtmesh_channels, channels with a subscriber summed
  over the workers: with one channel, the workers holding subscribers of it.
* broker_cpu_us_per_event: the broker process's CPU (its threads' /proc schedstat) per event.

Usage: bench/fleet_egress.py TARGET BROKER_PID EGRESS_PORT BROKER_METRICS_URL
                             NODE_METRICS_URL WINDOW_S RESULTS_JSONL"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.request


def scrape(url):
    return urllib.request.urlopen(url, timeout=5).read().decode()


def metric(text, name):
    """The sum of name's samples in Prometheus text."""
    pat = re.compile(rf"^{re.escape(name)}(\{{[^}}]*\}})? (\S+)$", re.M)
    return sum(float(m.group(2)) for m in pat.finditer(text))


def acked(port):
    """{peer address: bytes_acked} of the established sockets on local port."""
    out = subprocess.run(["ss", "-tinH", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True, check=True).stdout
    socks, peer = {}, None
    for line in out.splitlines():
        if not line[:1].isspace():  # "Recv-Q Send-Q Local Peer" then an indented info line
            peer = line.split()[3]
            socks[peer] = 0
        elif peer:
            m = re.search(r"\bbytes_acked:(\d+)", line)
            socks[peer] = int(m.group(1)) if m else 0
    return socks


def cpu_s(pid):
    """CPU seconds of every thread of pid (schedstat, in ns): /proc/PID/stat counts 10 ms ticks,
    too coarse for a window in which the broker runs some 50 ms."""
    return sum(int(open(f"/proc/{pid}/task/{t}/schedstat").read().split()[0])
               for t in os.listdir(f"/proc/{pid}/task")) / 1e9


def sample(pid, port, broker_url):
    """The broker's counters, its egress sockets and its CPU, read one right after the other."""
    text = scrape(broker_url)
    return {"events": metric(text, "rtmesh_broker_events_published_total"),
            "drops": metric(text, "rtmesh_broker_egress_drops_total"),
            "acked": acked(port), "cpu_s": cpu_s(pid), "t": time.monotonic()}


def main():
    target, pid, port, broker_url, node_url = sys.argv[1:6]
    window, results = float(sys.argv[6]), sys.argv[7]
    a = sample(pid, port, broker_url)
    time.sleep(window)
    b = sample(pid, port, broker_url)
    events = b["events"] - a["events"]
    if events <= 0:
        sys.exit(f"fleet_egress.py: the broker published nothing in {window} s")
    grew = {p: n - a["acked"].get(p, 0) for p, n in b["acked"].items()}
    carrying = [n / events for n in grew.values() if n >= events]
    rec = {"label": f"{target}/fleet-egress", "window_s": round(b["t"] - a["t"], 2),
           "events": round(events), "egress_drops": round(b["drops"] - a["drops"]),
           "egress_msgs_per_event": len(carrying),
           "egress_bytes_per_event": round(sum(grew.values()) / events, 1),
           "egress_link_bytes_per_event_min": round(min(carrying, default=0), 1),
           "egress_link_bytes_per_event_max": round(max(carrying, default=0), 1),
           "egress_conns": len(grew),
           "workers_with_subscribers": round(metric(scrape(node_url), "rtmesh_channels")),
           "broker_cpu_us_per_event": round((b["cpu_s"] - a["cpu_s"]) * 1e6 / events, 2)}
    with open(results, "a") as f:
        f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
