#!/usr/bin/env python3
"""Writes bench/RESULTS.md (and bench/results-chart.png) from the records bench/run.sh
collected in RECORDS_DIR, and from nothing else: the generator records of each round
(run-K.jsonl), the probes taken when the run began (probes.json: date, commit, machine,
limits, versions) and the generator commands (commands.txt). So the same records render the
same report, on any machine, at any time. Shown: the rtmesh/soketi ratios against the issue
#4 and #14 targets, each as min / median / max over the rounds with the verdict on the
median (no verdict from fewer than 3 rounds), the raw figures (medians), the scale-out
comparison, the many-connection run, many channels against soketi's scale-out mode (soketi × 2
+ Redis), the fleet (broker egress per event by node worker count) and the exact commands.
Profile notes and their history stay in bench/PROFILE.md, which the report links to and does
not copy.

Usage: bench/report.py RECORDS_DIR OUT_MD [CHART_PNG]"""
import glob
import json
import os
import re
import statistics
import subprocess
import sys

TARGETS = ["rtmesh1", "rtmesh2", "soketi", "soketi2"]
NAMES = {"rtmesh1": "rtmesh 1 node + 1 shard", "rtmesh2": "rtmesh 2 nodes + 2 shards",
         "soketi": "soketi", "soketi2": "soketi × 2 + Redis"}
MIN_ROUNDS = 3  # a verdict needs at least this many ratios
SCEN = {
    "fanout10": "(a) fan-out 5,000 subs, 1 channel, 10 publishes/s, 1 publisher, 20 s",
    "fanout1": "(a) fan-out 5,000 subs, 1 channel, flat out, 1 publisher, 10 s",
    "fanout8": "(a) fan-out 5,000 subs, 1 channel, flat out, 8 publishers, 10 s",
    "channels": "(b) 5,000 conns on 500 channels, 2,000 publishes/s, 8 publishers, 10 s",
    "channels-zmq": "(b') the same, published through librtmesh over ZeroMQ (rtmesh only)",
    "idle": "(c) idle: 19,800 subscribed conns on 200 channels (2 generator processes)",
    "storm": "(d) connection storm: 10,000 connect + subscribe, 500 in flight",
    "deflate-2k": "(g) 2 KB dashboard event to 5,000 subs offering permessage-deflate, 20/s, 10 s",
    "plain-2k": "(g) the same, subscribers not offering it",
    "deflate-200": "(g) 200 B chat event to 5,000 subs offering permessage-deflate, 20/s, 10 s",
    "plain-200": "(g) the same, subscribers not offering it",
    "tls-fanout": "(h) over TLS: fan-out 5,000 wss:// subs, 1 channel, flat out, 1 https:// "
                  "publisher, 10 s",
    "tls-idle": "(h) over TLS: idle 19,800 wss:// subscribed conns on 200 channels",
    "tls-storm": "(h) over TLS: 10,000 wss:// connect (full handshake) + subscribe, 500 in "
                 "flight",
}
DEFLATE_ROWS = ["subscribed", "publish_ok", "delivery_ratio", "compressed",
                "wire_bytes_per_delivery", "cpu_us_per_delivery", "deliveries_per_cpu_s",
                "lat_p50_us", "lat_p99_us"]
# metric key, scenario, description, higher is better, target (ratio rtmesh/soketi), bound
GOALS = [
    ("deliveries_per_cpu_s", "fanout1", "deliveries per server CPU-s, 1 publisher", True, 1.6),
    ("deliveries_per_cpu_s", "fanout8", "deliveries per server CPU-s, 8 publishers", True, 2.5),
    ("rss_per_conn_b", "idle", "RSS per idle subscribed connection (bytes)", False, 0.25),
    ("connect_rate", "storm", "connect + subscribe rate (conns/s)", True, 1.5),
    ("lat_p99_us", "fanout10", "p99 publish->deliver latency, 10/s to 5,000 (us)", False, 1 / 3),
    ("publishes_per_cpu_s", "channels", "REST publishes per server CPU-s, many channels", True, 3.0),
    ("lat_p99_us", "channels", "p99 publish->deliver latency, many channels (us)", False, 0.25),
    ("connect_rate", "tls-storm", "TLS connect + subscribe rate (conns/s)", True, 2.0),
    ("rss_per_conn_b", "tls-idle", "RSS per idle subscribed TLS connection (bytes)", False, 0.5),
    ("deliveries_per_cpu_s", "tls-fanout", "deliveries per server CPU-s over TLS", True, 1.5),
]
# An RSS goal is met only under this absolute bound (bytes per connection) too.
RSS_BOUND = {"idle": 1024, "tls-idle": 8192}


def hist_quantile(hist, n, q):
    """Quantile q of a merged {upper: count} histogram of n values (as lg_stats.c)."""
    rank = min(int(q * n), n - 1)
    seen = 0
    for upper in sorted(hist):
        seen += hist[upper]
        if seen > rank:
            return upper
    return 0


def merge_many(rs):
    """Generator processes that shared one fan-out (--expect): sums, the span from the first
    start to the last connection held, and the latency histograms merged bucket by bucket."""
    m = dict(rs[0])
    for k in ("conns", "subscribed", "conn_failed", "conn_lost", "delivered", "expected"):
        m[k] = sum(r[k] for r in rs)
    m["generator_procs"] = len(rs)
    span = (max(r["t_connected_us"] for r in rs) - min(r["t_start_us"] for r in rs)) / 1e6
    m["connect_s"] = span
    m["connect_rate"] = m["subscribed"] / span if span > 0 else None
    for k in ("server_rss_start_kb", "slab_start_kb", "tcp_inuse_start", "tcp_mem_start_kb"):
        m[k] = min(r[k] for r in rs)
    for k in ("server_rss_held_kb", "slab_held_kb", "tcp_inuse_held", "tcp_mem_held_kb"):
        m[k] = max(r[k] for r in rs)
    subs = max(1, m["subscribed"])
    m["rss_per_conn_b"] = (m["server_rss_held_kb"] - m["server_rss_start_kb"]) * 1024 / subs
    # both ends of every connection are sockets of this machine
    m["slab_per_socket_b"] = (m["slab_held_kb"] - m["slab_start_kb"]) * 1024 / (2 * subs)
    hist, n = {}, 0
    for r in rs:
        for part in filter(None, r.get("lat_hist", "").split(",")):
            upper, count = (int(x) for x in part.split(":"))
            hist[upper] = hist.get(upper, 0) + count
            n += count
    stamps = [r["t_first_stamp_us"] for r in rs if r["t_first_stamp_us"]]
    last = max(r["t_last_delivery_us"] for r in rs)
    fan = (last - min(stamps)) / 1e6 if stamps else 0
    m["fanout_s"] = fan
    m["deliveries_per_s"] = m["delivered"] / fan if fan > 0 else None
    m["delivery_ratio"] = m["delivered"] / m["expected"] if m["expected"] else 0.0
    # each process samples every server from its first delivery to its end: the longest
    # window covers the fan-out
    m["server_cpu_s"] = max(r["server_cpu_s"] for r in rs)
    m["lat_max_us"] = max(r["lat_max_us"] for r in rs)
    for k, q in (("lat_p50_us", 0.5), ("lat_p99_us", 0.99)):  # a bucket's bound, at most the max
        m[k] = min(hist_quantile(hist, n, q), m["lat_max_us"]) if n else None
    return m


def load_round(path):
    """One round's records: {(target, scenario): record}, several generators merged."""
    recs = {}
    for line in open(path):
        r = json.loads(line)
        t, s = r["label"].split("/", 1)
        recs.setdefault((t, s), []).append(r)
    out = {}
    for key, rs in recs.items():
        if rs[0].get("expect"):
            out[key] = merge_many(rs)
            continue
        if len(rs) == 1:
            out[key] = rs[0]
            continue
        m = dict(rs[0])  # idle: several generator processes against one server
        for k in ("conns", "subscribed", "conn_failed", "conn_lost", "delivered", "expected"):
            m[k] = sum(r[k] for r in rs)
        m["server_rss_start_kb"] = min(r["server_rss_start_kb"] for r in rs)
        m["server_rss_held_kb"] = max(r["server_rss_held_kb"] for r in rs)
        m["connect_s"] = max(r["connect_s"] for r in rs)
        m["connect_rate"] = sum(r["connect_rate"] for r in rs)
        m["rss_per_conn_b"] = (m["server_rss_held_kb"] - m["server_rss_start_kb"]) * 1024 / max(
            1, m["subscribed"])
        out[key] = m
    return out


def load_rounds(rdir):
    """Every round's records, in round order (run-1.jsonl, run-2.jsonl, ...)."""
    paths = glob.glob(os.path.join(rdir, "run-*.jsonl"))
    paths.sort(key=lambda p: int(re.search(r"run-(\d+)\.jsonl$", p).group(1)))
    if not paths:
        sys.exit(f"report.py: no run-*.jsonl records in {rdir}")
    return [load_round(p) for p in paths]


def median_res(rounds):
    """{(target, scenario): record} whose numbers are the medians over the rounds that have
    the figure (other fields from the first round)."""
    out = {}
    for key in {k for r in rounds for k in r}:
        recs = [r[key] for r in rounds if key in r]
        m = dict(recs[0])
        for field, v in recs[0].items():
            vals = [x.get(field) for x in recs]
            if isinstance(v, (int, float)) and not isinstance(v, bool) and None not in vals:
                m[field] = statistics.median(vals)
        m["rounds"] = len(recs)
        out[key] = m
    return out


def first_with(rounds, key):
    """The record of the first round that has key (scenarios that run once)."""
    return next((r[key] for r in rounds if key in r), None)


def machine(p):
    mem = f"{p['mem_total_kb'] / 1024 / 1024:.0f} GiB RAM" if p.get("mem_total_kb") else "RAM ?"
    return (f"{p.get('cpu_model') or '?'}, {p.get('cpus') or '?'} CPUs, {mem}, "
            f"Linux {p.get('kernel') or '?'}, open-file limit {p.get('nofile_soft') or '?'} "
            f"(hard {p.get('nofile_hard') or '?'}) per process")


def versions(p):
    v = p.get("versions", {})
    q = lambda k: v.get(k) or "?"  # noqa: E731
    return (f"soketi {q('soketi')} under Node {q('soketi_node')} with uWebSockets.js "
            f"{q('uws')}; rtmesh with libzmq {q('libzmq')}, libuv {q('libuv')}, built by "
            f"{q('cc')}")


def fmt(v, key=""):
    if v is None:
        return "–"
    if isinstance(v, float) and key in ("delivery_ratio",):
        return f"{v:.4f}"
    if isinstance(v, float) and abs(v) < 100:
        return f"{v:.2f}"
    return f"{int(round(v)):,}"


ROWS = {
    "fanout10": ["subscribed", "publish_ok", "delivery_ratio", "lat_p50_us", "lat_p99_us",
                 "lat_p999_us", "server_cpu_s", "deliveries_per_cpu_s", "rest_p50_us"],
    "fanout1": ["subscribed", "publish_ok", "pub_reconnects", "delivery_ratio", "deliveries_per_s",
                "server_cpu_util", "deliveries_per_cpu_s", "lat_p50_us", "lat_p99_us", "gen_cpu_s"],
    "fanout8": ["subscribed", "publish_ok", "pub_reconnects", "delivery_ratio", "deliveries_per_s",
                "server_cpu_util", "deliveries_per_cpu_s", "lat_p50_us", "lat_p99_us", "gen_cpu_s"],
    "channels": ["subscribed", "publish_ok", "publish_err", "publish_rate", "delivery_ratio",
                 "server_cpu_util", "publishes_per_cpu_s", "lat_p50_us", "lat_p99_us",
                 "rest_p99_us"],
    "channels-zmq": ["subscribed", "publish_ok", "publish_err", "publish_rate", "delivery_ratio",
                     "server_cpu_util", "publishes_per_cpu_s", "lat_p50_us", "lat_p99_us",
                     "rest_p99_us"],
    "idle": ["subscribed", "conn_failed", "server_rss_start_kb", "server_rss_held_kb",
             "rss_per_conn_b"],
    "storm": ["subscribed", "conn_failed", "connect_s", "connect_rate", "connect_server_cpu_s",
              "connects_per_cpu_s", "connect_gen_cpu_s"],
    "deflate-2k": DEFLATE_ROWS, "plain-2k": DEFLATE_ROWS,
    "deflate-200": DEFLATE_ROWS, "plain-200": DEFLATE_ROWS,
}
ROWS["tls-fanout"] = ROWS["fanout1"]
ROWS["tls-idle"] = ROWS["idle"]
ROWS["tls-storm"] = ROWS["storm"]


def raw_tables(res):
    lines = []
    for s, desc in SCEN.items():
        ts = [t for t in TARGETS if (t, s) in res]  # soketi2 runs in (b) only
        if not ts:
            continue
        lines += [f"#### {desc}", "", "| figure | " + " | ".join(NAMES[t] for t in ts) + " |",
                  "|---|" + "---:|" * len(ts)]
        for k in ROWS[s]:
            vals = [fmt(res.get((t, s), {}).get(k), k) for t in ts]
            lines.append(f"| {k} | " + " | ".join(vals) + " |")
        lines.append("")
    return lines


def ratio_of(rtm, so, key):
    v, w = rtm.get(key) if rtm else None, so.get(key) if so else None
    return v / w if v is not None and w else None


def round_ratios(rounds, a, b, key):
    """key of a ÷ key of b in each round that has both ((target, scenario) keys)."""
    return [r for r in (ratio_of(rd.get(a), rd.get(b), key) for rd in rounds) if r is not None]


def verdict(ratios, higher, target):
    """Whether the median of the ratios meets target; None from fewer than MIN_ROUNDS."""
    if len(ratios) < MIN_ROUNDS:
        return None
    med = statistics.median(ratios)
    return med >= target if higher else med <= target


def spread(ratios):
    """min / median / max of the ratios, the median in bold."""
    if not ratios:
        return "–"
    return (f"{min(ratios):.2f}x / **{statistics.median(ratios):.2f}x** / "
            f"{max(ratios):.2f}x")


def goal_rows(rounds, res):
    """Per goal: the soketi median and, per rtmesh topology, the median figure, the ratios of
    each round (rtmesh's round k against soketi's round k) and the verdict on their median."""
    rows = []
    for key, s, desc, higher, target in GOALS:
        row = {"soketi": res.get(("soketi", s), {}).get(key)}
        for t in ("rtmesh1", "rtmesh2"):
            ratios = round_ratios(rounds, (t, s), ("soketi", s), key)
            med = statistics.median(ratios) if ratios else None
            ok = verdict(ratios, higher, target)
            if ok is not None and s in RSS_BOUND:
                ok = ok and res[(t, s)][key] <= RSS_BOUND[s]
            row[t] = {"value": res.get((t, s), {}).get(key), "ratios": ratios, "median": med,
                      "ok": ok}
        rows.append((key, s, desc, higher, target, row))
    return rows


def goals_table(rows):
    lines = ["| target | soketi | rtmesh 1+1 | ratio min / median / max | met? | rtmesh 2+2 | "
             "ratio min / median / max | met? | goal |",
             "|---|---:|---:|---:|:---:|---:|---:|:---:|---|"]
    for key, s, desc, higher, target, row in rows:
        cells = [desc, fmt(row["soketi"])]
        for t in ("rtmesh1", "rtmesh2"):
            c = row[t]
            rs = c["ratios"]
            met = ("–" if not rs else f"– ({len(rs)} rounds, {MIN_ROUNDS} needed)"
                   if c["ok"] is None else "yes" if c["ok"] else "**no**")
            cells += [fmt(c["value"]), spread(rs), met]
        goal = (f">= {target:.1f}x" if higher else f"<= {target:.2f}x")
        if s in RSS_BOUND:
            goal += f" and <= {RSS_BOUND[s] // 1024} KiB"
        cells.append(goal)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def scale_table(res):
    lines = ["| scenario | figure | 1 node + 1 shard | 2 nodes + 2 shards | 2+2 / 1+1 |",
             "|---|---|---:|---:|---:|"]
    for s, key in (("fanout1", "deliveries_per_s"), ("fanout8", "deliveries_per_s"),
                   ("fanout8", "deliveries_per_cpu_s"), ("channels", "publishes_per_cpu_s"),
                   ("channels", "lat_p99_us"), ("storm", "connect_rate"),
                   ("idle", "rss_per_conn_b")):
        a = res.get(("rtmesh1", s), {}).get(key)
        b = res.get(("rtmesh2", s), {}).get(key)
        r = f"{b / a:.2f}" if a and b is not None else "–"
        lines.append(f"| {s} | {key} | {fmt(a)} | {fmt(b)} | {r} |")
    return lines


def conntrack_line(ct_max, subs):
    if not ct_max:
        return "* **Connection tracking**: not loaded on this machine."
    return (f"* **Connection tracking**: every loopback connection is one netfilter conntrack "
            f"entry: {subs:,} of nf_conntrack_max {ct_max:,} (shared with everything else on "
            "the machine); past it new connections are dropped.")


def many_section(rounds, probes):
    """(f): the c100k scenario, rtmesh only (one soketi process may hold 20,000 files); it
    runs once. The limits are the probes' of the run."""
    m = first_with(rounds, ("many", "c100k"))
    if not m:
        return []
    pub = first_with(rounds, ("many", "c100k-publisher")) or {}
    nodes = m["server_procs"] - 1
    lo, hi = probes.get("ip_local_port_range") or (0, -1)
    nofile = probes.get("nofile_soft")
    ct_max = probes.get("nf_conntrack_max")
    mem_kb = probes.get("mem_total_kb") or 0
    subs = max(1, m["subscribed"])
    rows = [
        ("connections asked / held", f"{m['conns']:,} / {m['subscribed']:,}"),
        ("failed / lost", f"{m['conn_failed']:,} / {m['conn_lost']:,}"),
        ("processes", f"{nodes} nodes + 1 broker shard (SO_REUSEPORT on one port), "
                      f"{m['generator_procs']} generator processes, 4 source addresses each"),
        ("connect + subscribe", f"{m['connect_s']:.1f} s, {fmt(m['connect_rate'])} conns/s"),
        ("rtmesh RSS, all processes (start -> held)",
         f"{m['server_rss_start_kb'] / 1024:,.1f} MiB -> {m['server_rss_held_kb'] / 1024:,.1f} MiB"),
        ("RSS per connection, all rtmesh processes", f"{fmt(m['rss_per_conn_b'])} B"),
        ("TCP sockets in use, machine (sockstat)",
         f"{m['tcp_inuse_start']:,} -> {m['tcp_inuse_held']:,}"),
        ("TCP buffer memory, machine (sockstat mem)",
         f"{m['tcp_mem_start_kb'] / 1024:,.1f} MiB -> {m['tcp_mem_held_kb'] / 1024:,.1f} MiB"),
        ("kernel slab, machine (start -> held)",
         f"{m['slab_start_kb'] / 1024:,.0f} MiB -> {m['slab_held_kb'] / 1024:,.0f} MiB, "
         f"{fmt(m['slab_per_socket_b'])} B per socket (client and server ends)"),
        ("event published / answered", f"{pub.get('published', 0)} / {pub.get('publish_ok', 0)}"),
        ("delivered / expected", f"{m['delivered']:,} / {m['expected']:,} = "
                                 f"{m['delivery_ratio']:.4f}"),
        ("fan-out: publish -> last delivery", f"{m['fanout_s'] * 1000:,.0f} ms, "
                                              f"{fmt(m['deliveries_per_s'])} deliveries/s"),
        ("server CPU for the fan-out", f"{m['server_cpu_s']:.2f} s, "
                                       f"{fmt(m['delivered'] / max(0.001, m['server_cpu_s']))} "
                                       "deliveries per server CPU-s"),
        ("latency p50 / p99 / max (us)",
         f"{fmt(m['lat_p50_us'])} / {fmt(m['lat_p99_us'])} / {fmt(m['lat_max_us'])}"),
    ]
    L = ["## Many connections on one machine (f): one event to every connection", "",
         "rtmesh only: soketi is one process, and one process may hold "
         f"{nofile or '?':,} open files here. Every connection subscribes to one channel; once "
         "every generator holds all its connections, one REST publish goes to that channel. "
         "Memory is sampled when the event arrives. Latency and rate are over all generator "
         "processes (histograms merged).", "",
         "| figure | value |", "|---|---|"]
    L += [f"| {a} | {b} |" for a, b in rows]
    per_node = subs / max(1, nodes)
    per_src = subs / (4 * m["generator_procs"])
    used_kb = (m["server_rss_held_kb"] - m["server_rss_start_kb"]) + (
        m["slab_held_kb"] - m["slab_start_kb"]) + (m["tcp_mem_held_kb"] - m["tcp_mem_start_kb"])
    L += ["", "What limits the next step, from this run and this machine:", "",
          f"* **Open files**: {per_node:,.0f} connections per node process of a limit of "
          f"{nofile or '?':,} (plus a few dozen for ZeroMQ and the listeners); a generator "
          f"process holds {subs / m['generator_procs']:,.0f}. More connections need more "
          "processes on both sides, or a higher `ulimit -n`.",
          f"* **Ports**: {per_src:,.0f} connections per source address of {hi - lo + 1:,} "
          "ephemeral ports toward one server port; each generator uses 4 addresses of its own, "
          "so the 127.0.0.0/8 range is far from the limit.",
          conntrack_line(ct_max, subs),
          f"* **Memory**: this run added {used_kb / 1024:,.0f} MiB (rtmesh RSS, the kernel's "
          f"slab and TCP buffers for both ends) of {mem_kb / 1024 / 1024:,.1f} GiB, about "
          f"{used_kb * 1024 / subs:,.0f} B per connection; memory would allow roughly "
          f"{mem_kb * 0.8 / max(1, used_kb) * subs / 1e6:,.1f} M connections, so files, "
          "conntrack and the CPU of the fan-out come first.", ""]
    return L


# rtmesh on the `make run` mesh against each soketi, many channels (b) (issue 18): metric,
# description, higher is better, target per soketi target
SCALE_OUT_GOALS = [("deliveries_per_cpu_s", "deliveries per server CPU-s", True,
                    {"soketi": 2.0, "soketi2": 3.0}),
                   ("lat_p99_us", "p99 publish->deliver latency (us)", False,
                    {"soketi": 0.5, "soketi2": 0.5})]


def spread_line(rounds, t):
    """The established client connections per server process seen during (b), if recorded."""
    r = first_with(rounds, (t, "conn-spread"))
    if not r:
        return None
    per = ", ".join(f"{n:,}" for n in r["conns_per_pid"].values())
    return f"{len(r['conns_per_pid'])} process(es) holding {per} client connections"


def scale_out_section(rounds, res):
    """Issue 18: the many-channel load (b) on the `make run` mesh against soketi single-process
    and soketi × 2 + Redis (two soketi processes sharing the port, its Redis adapter; the
    servers' CPU counts both and redis-server), each ratio min / median / max over the
    rounds."""
    if ("soketi2", "channels") not in res:
        return []
    L = ["## Many channels (b) against soketi's scale-out mode: soketi × 2 + Redis", "",
         "The same load (b) against two soketi processes sharing the port "
         "(`SOKETI_ADAPTER_DRIVER=redis`, Debian's redis-server on loopback); their server CPU "
         "counts both soketi processes and redis-server. rtmesh is the `make run` mesh "
         "(2 nodes + 2 shards). Ratios are rtmesh ÷ soketi, round by round.", "",
         "| figure | " + " | ".join(NAMES[t] for t in ("rtmesh2", "soketi", "soketi2")) +
         " | rtmesh ÷ soketi | met? | goal | rtmesh ÷ soketi × 2 + Redis | met? | goal |",
         "|---|---:|---:|---:|---:|:---:|---|---:|:---:|---|"]
    for key, desc, higher, targets in SCALE_OUT_GOALS:
        cells = [desc] + [fmt(res.get((t, "channels"), {}).get(key))
                          for t in ("rtmesh2", "soketi", "soketi2")]
        for so in ("soketi", "soketi2"):
            rs = round_ratios(rounds, ("rtmesh2", "channels"), (so, "channels"), key)
            ok = verdict(rs, higher, targets[so])
            met = ("–" if not rs else f"– ({len(rs)} rounds, {MIN_ROUNDS} needed)"
                   if ok is None else "yes" if ok else "**no**")
            cells += [spread(rs), met, f"{'>=' if higher else '<='} {targets[so]:.1f}x"]
        L.append("| " + " | ".join(cells) + " |")
    for key, desc in (("publish_rate", "publishes/s achieved (2,000 offered)"),
                      ("delivery_ratio", "delivered / expected")):
        cells = [desc] + [fmt(res.get((t, "channels"), {}).get(key), key)
                          for t in ("rtmesh2", "soketi", "soketi2")]
        L.append("| " + " | ".join(cells + [""] * 6) + " |")
    L.append("")
    for t in ("rtmesh2", "soketi2"):
        line = spread_line(rounds, t)
        if line:
            L.append(f"* **{NAMES[t]}**, sharing the port (`ss -tnp` during the load): {line}.")
    return L + [""]


def fleet_section(rounds):
    """Issue 18: what a broadcast event costs the broker as a node's workers grow (one broker,
    one node of 1, 4 or 8 workers, one channel with subscribers on every worker; runs once).
    The target is that nothing here grows with the workers."""
    ts = sorted({t for r in rounds for t, s in r if s == "fleet-egress"},
                key=lambda t: int(t[len("fleet"):]))  # fleetN: N workers
    rows = [(int(t[len("fleet"):]), first_with(rounds, (t, "fleet-egress")),
             first_with(rounds, (t, "fleet"))) for t in ts]
    if not rows:
        return []
    L = ["## Fleet: the broker's egress per broadcast event by node worker count", "",
         "One broker, one node with 1, 4 or 8 workers (`--workers`), 400 subscribers of one "
         "channel spread over the workers by SO_REUSEPORT, 100 publishes/s; sampled over "
         f"{rows[0][1]['window_s']:.0f} s of publishing (bench/fleet_egress.py). Events are the "
         "broker's own count (`rtmesh_broker_events_published_total`, drops "
         "`rtmesh_broker_egress_drops_total`). The broker counts no copies, so the kernel does: "
         "bytes per event are what it acknowledged on the broker's egress connections (`ss -ti` "
         "bytes_acked, heartbeats included), and messages per event are the egress links that "
         "carried the event (at least a byte per event; the egress writes an event once to each "
         "subscribed link, and one link's bytes per event, the same on every link, show one "
         "copy each). Workers with subscribers: the node's `rtmesh_channels`, summed over its "
         "workers. Broker CPU: its threads' run time (/proc schedstat). Target (issue 18): one "
         "message per node with interest, whatever the number of workers.", "",
         "| workers | with subscribers | egress links open | messages per event | "
         "bytes per event | one link's bytes per event | broker CPU per event (us) | events | "
         "egress drops | delivered |",
         "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for w, e, g in rows:
        delivered = fmt(g.get("delivery_ratio"), "delivery_ratio") if g else "–"
        L.append(f"| {w} | {e['workers_with_subscribers']} | {e['egress_conns']} | "
                 f"{e['egress_msgs_per_event']} | {e['egress_bytes_per_event']:,.0f} | "
                 f"{e['egress_link_bytes_per_event_min']:.0f}–"
                 f"{e['egress_link_bytes_per_event_max']:.0f} | "
                 f"{e['broker_cpu_us_per_event']:.1f} | {e['events']:,} | "
                 f"{e['egress_drops']} | {delivered} |")
    first = rows[0][1]
    if len(rows) > 1 and rows[0][0] == 1:
        last_w, last, _ = rows[-1]
        L += ["", f"From 1 to {last_w} workers: messages per event "
              f"{last['egress_msgs_per_event'] / first['egress_msgs_per_event']:.2f}x, bytes per "
              f"event {last['egress_bytes_per_event'] / first['egress_bytes_per_event']:.2f}x, "
              "broker CPU per event "
              f"{last['broker_cpu_us_per_event'] / first['broker_cpu_us_per_event']:.2f}x "
              "(target: 1x)."]
    return L + [""]


def ingest_table(res):
    """Issue 10: server CPU per publish, REST against librtmesh, same load (goal < 0.5)."""
    lines = ["| servers | REST publishes per CPU-s | ZeroMQ publishes per CPU-s | "
             "CPU per publish, ZeroMQ / REST | goal |", "|---|---:|---:|---:|---|"]
    for t in ("rtmesh1", "rtmesh2"):
        rest = res.get((t, "channels"), {}).get("publishes_per_cpu_s")
        zmq = res.get((t, "channels-zmq"), {}).get("publishes_per_cpu_s")
        ratio = f"{rest / zmq:.2f}" if rest and zmq else "–"
        lines.append(f"| {NAMES[t]} | {fmt(rest)} | {fmt(zmq)} | {ratio} | < 0.5 |")
    return lines


def deflate_section(rounds, res):
    """Issue 21: permessage-deflate, compressed once per event. Bytes on the wire and server CPU
    per delivery (medians) with subscribers offering it and not, against soketi (which declines
    it); each target judged, as the issue #4 ones, on the median of the rounds' ratios."""
    if not any((t, s) in res for t in TARGETS for s in ("deflate-2k", "deflate-200")):
        return []
    L = ["## Compression (g): permessage-deflate, compressed once per event", "",
         "Subscribers offer permessage-deflate as browsers do (`deflate-*`) or not (`plain-*`); "
         "bytes on the wire are what the subscribers read per delivery (frames included), CPU "
         "is the servers' per delivery (medians over the rounds). soketi declines the offer, so "
         "it sends plain frames either way.", "",
         "| event | servers | bytes/delivery offered | not offered | CPU us/delivery offered | "
         "not offered | offered / not |", "|---|---|---:|---:|---:|---:|---:|"]
    for size, event in (("2k", "2 KB"), ("200", "200 B")):
        for t in TARGETS:
            on, off = res.get((t, f"deflate-{size}"), {}), res.get((t, f"plain-{size}"), {})
            if not on and not off:
                continue  # soketi2 runs in (b) only
            cpu_on, cpu_off = on.get("cpu_us_per_delivery"), off.get("cpu_us_per_delivery")
            ratio = f"{cpu_on / cpu_off:.2f}x" if cpu_on and cpu_off else "–"
            L.append(f"| {event} | {NAMES[t]} | {fmt(on.get('wire_bytes_per_delivery'))} | "
                     f"{fmt(off.get('wire_bytes_per_delivery'))} | {fmt(cpu_on)} | "
                     f"{fmt(cpu_off)} | {ratio} |")
    L += ["", "Targets (issue #21), 2 KB event, each ratio min / median / max over the rounds "
          f"(no verdict from fewer than {MIN_ROUNDS}):", ""]
    # metric, what rtmesh offered is compared with, description, higher is better, target
    goals = [("wire_bytes_per_delivery", "soketi", "bytes per delivery ÷ soketi's", False, 1 / 3),
             ("cpu_us_per_delivery", "plain", "CPU per delivery ÷ not offered", False, 1.1),
             ("deliveries_per_cpu_s", "soketi", "deliveries per CPU-s ÷ soketi's", True, 1.0)]
    for t in ("rtmesh1", "rtmesh2"):
        parts = []
        for key, base, desc, higher, target in goals:
            b = ("soketi", "plain-2k") if base == "soketi" else (t, "plain-2k")
            rs = round_ratios(rounds, (t, "deflate-2k"), b, key)
            ok = verdict(rs, higher, target)
            met = "–" if ok is None else "met" if ok else "**not met**"
            parts.append(f"{desc} {spread(rs)} ({met}, goal {'>=' if higher else '<='} "
                         f"{target:.2f}x)")
        L.append(f"* **{NAMES[t]}**: " + "; ".join(parts) + ".")
    return L + [""]


def publish_cpu_section(rounds):
    """Issue 14: the server CPU of one REST publish in (b), split by perf samples, and the
    ratio rtmesh could reach if nothing but its edge's writes cost anything (one round:
    channels-perf runs once)."""
    res = {(t, "publish-cpu"): first_with(rounds, (t, "publish-cpu")) for t in TARGETS}
    rows = [(t, res.get((t, "publish-cpu"))) for t in TARGETS]
    if not any(r for _, r in rows):
        return []
    L = ["## Where a REST publish's server CPU goes (b, sampled by perf)", "",
         "Scenario (b) run again while `perf record -a -g` samples the machine "
         "(bench/perf_split.py). The CPU per publish is the run's own, from /proc; perf's "
         "samples of the server processes split it. *Edge writes* are the samples inside "
         "`tcp_sendmsg` in the processes clients connect to (rtmesh's nodes, soketi): the "
         "WebSocket deliveries and the HTTP answers, and the edge's own sends into its tier "
         "(a node's PUBLISH, soketi's to Redis), which share their threads. *Tier writes* are "
         "the same in the tier's processes (rtmesh's brokers, Redis): the event's copies to "
         "the edge and the acknowledgements. On loopback the kernel runs the reader's TCP "
         "input and its wake-up inside the writer's call, so this is what a write costs on "
         "this machine with the generator on it, for any server.", "",
         "| servers | server CPU per publish (us) | edge writes | tier writes | "
         "ZeroMQ I/O threads | the rest | samples |", "|---|---:|---:|---:|---:|---:|---:|"]
    for t, r in rows:
        if r:
            L.append(f"| {NAMES[t]} | {r['cpu_us_per_publish']:.1f} | "
                     f"{r['client_write_us_per_publish']:.1f} | "
                     f"{r['tier_write_us_per_publish']:.1f} | "
                     f"{r['zmq_io_us_per_publish']:.1f} | "
                     f"{r['rest_us_per_publish']:.1f} | {r['perf_samples']:,} |")
    hop = first_with(rounds, ("machine", "hop-cost"))
    if hop:
        L += ["", f"One message between two processes that sleep between messages (a write, the "
              f"reader's wake-up, its epoll_wait and its read; both sides' CPU; "
              f"bench/hop/hop_cost.c) costs {hop['tcp_us_per_message']:.1f} us over loopback TCP "
              f"on this machine, {hop['unix_us_per_message']:.1f} us over a Unix socket. A "
              "publish through rtmesh's tier makes several such hops (bench/PROFILE.md counts "
              "them); soketi's single process makes none."]
    so = res.get(("soketi", "publish-cpu"))
    if so:
        L.append("")
        for t in ("rtmesh1", "rtmesh2"):
            r = res.get((t, "publish-cpu"))
            if r and r["client_write_us_per_publish"]:
                L.append(f"* **{NAMES[t]}**: even if everything but its edge writes cost "
                         f"nothing, a publish would cost {r['client_write_us_per_publish']:.1f} us "
                         f"against soketi's {so['cpu_us_per_publish']:.1f} us: at most "
                         f"{so['cpu_us_per_publish'] / r['client_write_us_per_publish']:.2f}x "
                         "soketi on this machine (goal >= 3x).")
    return L + [""]


def chart(rows, png, workdir):
    """Advantage over soketi (higher is better for every metric) against the goal."""
    data = os.path.join(workdir, "chart.dat")
    with open(data, "w") as f:
        for key, s, desc, higher, target, row in rows:
            adv = []
            for t in ("rtmesh1", "rtmesh2"):
                r = row[t]["median"]
                adv.append((r if higher else 1 / r) if r else 0)
            goal = target if higher else 1 / target
            f.write(f'"{s}\\n{key}" {adv[0]:.4f} {adv[1]:.4f} {goal:.4f}\n')
    script = f"""
set terminal pngcairo size 1100,560 font ",10"
set output "{png}"
set title "rtmesh advantage over soketi (median of the rounds; x times better, higher is better), same machine, same run"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y 2
set yrange [0.25:*]
set grid ytics
set key top right
set bmargin 5
set xtics noenhanced
plot "{data}" using 2:xtic(1) title "rtmesh 1 node + 1 shard" lc rgb "#1f77b4", \
     "" using 3 title "rtmesh 2 nodes + 2 shards" lc rgb "#2ca02c", \
     "" using 4 title "goal" lc rgb "#d62728" fs pattern 4, \
     1 notitle lc rgb "black" dt 2
"""
    try:
        p = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    except OSError as e:  # bench/deps.sh installs it; the tables do not need it
        sys.stderr.write(f"report.py: no chart: {e}\n")
        return False
    if p.returncode != 0:
        sys.stderr.write("report.py: gnuplot failed: " + p.stderr)
        return False
    return True


def delivery_lines(rounds):
    """delivered / expected per target and scenario, summed over the rounds, with the worst
    round's ratio."""
    lines = []
    for key in sorted({k for r in rounds for k in r}):
        recs = [r[key] for r in rounds if key in r and r[key].get("expected")]
        if not recs:
            continue
        got, want = sum(r["delivered"] for r in recs), sum(r["expected"] for r in recs)
        worst = min(r["delivered"] / r["expected"] for r in recs)
        lines.append(f"* {key[0]}/{key[1]}: {got:,} / {want:,} = {got / want:.4f} over "
                     f"{len(recs)} round(s); worst round {worst:.4f}")
    return lines


def publish_cost_section(rounds):
    """Issue 18: system calls and context switches per REST publish in (b), every server
    thread counted by perf stat, and where they go by thread (one round: channels-cost runs
    once)."""
    rows = [(t, first_with(rounds, (t, "publish-cost"))) for t in TARGETS]
    if not any(r for _, r in rows):
        return []
    L = ["## System calls and context switches per REST publish (b, counted by perf)", "",
         "Scenario (b) run again while `perf stat --per-thread` counts `raw_syscalls:sys_enter` "
         "and `context-switches` in every thread of the server processes (bench/perf_cost.py); "
         "each publish is delivered to 10 subscribers. Targets (issue 18, the `make run` mesh): "
         "≤ 40 system calls and ≤ 6 context switches.", "",
         "| servers | system calls per publish | context switches per publish | publishes counted |",
         "|---|---:|---:|---:|"]
    for t, r in rows:
        if r:
            L.append(f"| {NAMES[t]} | {r['syscalls_per_publish']:.1f} | "
                     f"{r['cs_per_publish']:.2f} | {r['publishes_in_window']:,} |")
    L += ["", "By thread (threads of one name summed; `rtm-worker-N` are node workers, "
          "`rtmesh-broker` a broker's loop, `ZMQbg/*` libzmq's threads):", ""]
    for t, r in rows:
        if r:
            per = "; ".join(f"{n} {v['syscalls']:.1f} / {v['cs']:.2f}"
                            for n, v in r["per_thread"].items())
            L.append(f"* {NAMES[t]} (system calls / context switches): {per}")
    by_call = [(t, r) for t, r in rows if r and r.get("per_call")]
    if by_call:
        L += ["", "By system call (the busy ones, counted by name; the rest is the difference):",
              ""]
        for t, r in by_call:
            rest = r["syscalls_per_publish"] - sum(r["per_call"].values())
            per = "; ".join(f"{n} {v:.2f}" for n, v in r["per_call"].items() if v >= 0.01)
            L.append(f"* {NAMES[t]}: {per}; others {rest:.2f}")
    return L + [""]


def main():
    rdir, out_md = sys.argv[1], sys.argv[2]
    png = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(out_md),
                                                             "results-chart.png")
    probes = json.load(open(os.path.join(rdir, "probes.json")))
    rounds = load_rounds(rdir)
    res = median_res(rounds)
    rows = goal_rows(rounds, res)
    have_chart = chart(rows, png, rdir)
    dirty = " (with uncommitted changes)" if probes.get("dirty") else ""
    cpus = probes.get("cpus") or "?"
    cmds = open(os.path.join(rdir, "commands.txt")).read().strip().splitlines()
    L = ["# rtmesh benchmarks: side by side with soketi", "",
         "Generated by `make bench` (bench/run.sh, then bench/report.py) from the records of "
         "one run, committed in bench/records/ (`bench/report.py bench/records "
         "bench/RESULTS.md` renders them again) — do not edit by hand. Everything below was "
         "measured or probed by that run; profile notes and their history, with dates and "
         "commits, are in [PROFILE.md](PROFILE.md).", "",
         f"* **Date**: {probes.get('began_utc') or '?'} (the run began)",
         f"* **Machine**: {machine(probes)}",
         f"* **rtmesh**: commit {probes.get('commit') or '?'}{dirty}, "
         f"{probes.get('build') or '?'} build",
         f"* **Versions**: {versions(probes)}",
         f"* **Rounds**: {len(rounds)}; each ratio is shown as min / median / max over the "
         f"rounds (round k of rtmesh against round k of soketi) and judged on the median, "
         f"with no verdict from fewer than {MIN_ROUNDS} rounds; figures are medians.",
         "* **Load**: `rtmesh-loadgen` (bench/, C + libuv) on the same machine. **The generator "
         f"shares the {cpus} CPUs with the servers; nothing is pinned.** So absolute rates are "
         "bounded by the generator too: compare the per-server-CPU-second figures and the "
         "ratios, which come from /proc CPU time of the server processes only (all brokers + "
         "nodes for rtmesh).",
         "* Every scenario starts fresh servers. Latency = receive time − publish time stamped "
         "in the event data (same clock). Publishing uses the signed REST API; soketi answers "
         "every REST call with `Connection: close`, so its publishers reconnect per publish "
         "(`pub_reconnects`), as any SDK client must.",
         "* Sizes (see the commands at the end): idle holds 19,800 connections (one server "
         f"process may hold {probes.get('nofile_soft') or '?'} open files; two generator "
         "processes of 9,900); the storm is 10,000 connections. Flat-out publishers pause "
         "while more than 32 publishes are undelivered, so neither server is pushed into "
         "dropping slow subscribers.",
         "* TLS (h): the same server certificate (self-signed ECDSA P-256) for both; rtmesh "
         "with `--tls-cert/--tls-key`, soketi in its SSL mode (`SOKETI_SSL_CERT/_KEY`); the "
         "generator speaks wss:// and https:// with full handshakes (no resumption).", ""]
    L += ["## Targets (issues #4, #14, #20): rtmesh ÷ soketi, same run", ""]
    L += goals_table(rows)
    L += [""]
    if have_chart:
        L += [f"![rtmesh advantage over soketi]({os.path.basename(png)})", ""]
    L += ["## Delivery check", "",
          "delivered / expected over every run with publishing (1.0 = every event arrived):", ""]
    L += delivery_lines(rounds)
    L += ["", "## Scale-out (e): the same load on 1 node + 1 shard and on 2 nodes + 2 shards", "",
          f"On {cpus} CPUs shared with the generator, two nodes + two shards cannot add much "
          "CPU; this shows the cost of the extra hop and processes more than a speed-up.", ""]
    L += scale_table(res)
    L += [""] + many_section(rounds, probes)
    L += scale_out_section(rounds, res)
    L += fleet_section(rounds)
    L += ["## Publishing over ZeroMQ (librtmesh) beside REST", "",
          "The many-channel load (b) once through the REST API and once through librtmesh "
          "(`rtmesh-loadgen --brokers`), which skips HTTP, signing and JSON; server CPU counts "
          "every broker and node.", ""]
    L += ingest_table(res)
    L += [""] + publish_cpu_section(rounds)
    L += publish_cost_section(rounds)
    L += deflate_section(rounds, res)
    L += ["", "## Raw figures (medians over the rounds)", "",
          "Keys are the generator's (`rtmesh-loadgen --help`); `_us` microseconds, `_kb` KiB, "
          "`cpu_s` server CPU seconds over the measured phase, `server_cpu_util` CPU-s per "
          "wall second. Every round's figures are in bench/records/run-K.jsonl.", ""]
    L += raw_tables(res)
    L += ["## Commands", "", "```", "make bench      # = bench/run.sh build/release && "
          "bench/report.py bench/records bench/RESULTS.md", "# generator runs, in order "
          "(each also gets --port and --pids of the servers under test, --json):"]
    L += cmds
    L += ["```", ""]
    open(out_md, "w").write("\n".join(L))


if __name__ == "__main__":
    main()
