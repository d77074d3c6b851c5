#!/usr/bin/env python3
"""Writes bench/RESULTS.md (and bench/results-chart.png) from the JSON records
bench/run.sh collected: raw figures per scenario and server, the rtmesh/soketi
ratios against the issue #4 targets, the scale-out comparison, the machine,
the date and the exact generator commands. Profile notes kept by hand in
bench/PROFILE.md are appended.

Usage: bench/report.py RESULTS_DIR OUT_MD [CHART_PNG]"""
import datetime
import json
import os
import platform
import subprocess
import sys

TARGETS = ["rtmesh1", "rtmesh2", "soketi"]
NAMES = {"rtmesh1": "rtmesh 1 node + 1 shard", "rtmesh2": "rtmesh 2 nodes + 2 shards",
         "soketi": "soketi 1.6.1"}
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
]


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


def load(path):
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


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def machine():
    cpu = sh("lscpu | sed -n 's/^Model name: *//p'") or platform.processor()
    mem = sh("free -g | awk '/Mem:/ {print $2}'")
    return (f"{cpu}, {os.cpu_count()} cores, {mem} GiB RAM, Linux {platform.release()}, "
            f"open-file limit {sh('ulimit -n')} per process")


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
              "connects_per_cpu_s"],
    "deflate-2k": DEFLATE_ROWS, "plain-2k": DEFLATE_ROWS,
    "deflate-200": DEFLATE_ROWS, "plain-200": DEFLATE_ROWS,
}


def raw_tables(res):
    lines = []
    for s, desc in SCEN.items():
        if not any((t, s) in res for t in TARGETS):
            continue
        lines += [f"#### {desc}", "", "| figure | " + " | ".join(NAMES[t] for t in TARGETS) + " |",
                  "|---|" + "---:|" * len(TARGETS)]
        for k in ROWS[s]:
            vals = [fmt(res.get((t, s), {}).get(k), k) for t in TARGETS]
            lines.append(f"| {k} | " + " | ".join(vals) + " |")
        lines.append("")
    return lines


def goal_rows(res):
    rows = []
    for key, s, desc, higher, target in GOALS:
        so = res.get(("soketi", s), {}).get(key)
        row = [desc, so]
        for t in ("rtmesh1", "rtmesh2"):
            v = res.get((t, s), {}).get(key)
            ratio = v / so if v is not None and so else None
            ok = None
            if ratio is not None:
                ok = ratio >= target if higher else ratio <= target
                if key == "rss_per_conn_b":
                    ok = ok and v <= 1024
            row += [v, ratio, ok]
        rows.append((key, s, desc, higher, target, row))
    return rows


def goals_table(rows):
    lines = ["| target | soketi | rtmesh 1+1 | ratio | met? | rtmesh 2+2 | ratio | met? | goal |",
             "|---|---:|---:|---:|:---:|---:|---:|:---:|---|"]
    for key, s, desc, higher, target, row in rows:
        cells = [desc, fmt(row[1])]
        for i in (2, 5):
            v, ratio, ok = row[i], row[i + 1], row[i + 2]
            cells += [fmt(v), f"{ratio:.2f}x" if ratio is not None else "–",
                      "–" if ok is None else ("yes" if ok else "**no**")]
        goal = (f">= {target:.1f}x" if higher else f"<= {target:.2f}x")
        if key == "rss_per_conn_b":
            goal += " and <= 1 KiB"
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


def proc_int(path):
    try:
        return int(open(path).read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def conntrack_line(ct_max, subs):
    if not ct_max:
        return "* **Connection tracking**: not loaded on this machine."
    return (f"* **Connection tracking**: every loopback connection is one netfilter conntrack "
            f"entry: {subs:,} of nf_conntrack_max {ct_max:,} (shared with everything else on "
            "the machine); past it new connections are dropped.")


def many_section(res):
    """(f): the c100k scenario, rtmesh only (one soketi process may hold 20,000 files)."""
    m = res.get(("many", "c100k"))
    if not m:
        return []
    pub = res.get(("many", "c100k-publisher"), {})
    nodes = m["server_procs"] - 1
    try:
        lo, hi = (int(x) for x in open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
    except (OSError, ValueError):
        lo, hi = 32768, 60999
    nofile = int(sh("ulimit -n") or 0) or None
    ct_max = proc_int("/proc/sys/net/netfilter/nf_conntrack_max")
    mem_kb = int(sh("awk '/MemTotal/ {print $2}' /proc/meminfo") or 0)
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


def deflate_section(res):
    """Issue 21: permessage-deflate, compressed once per event. Bytes on the wire and server CPU
    per delivery with subscribers offering it and not, against soketi (which declines it)."""
    if not any((t, s) in res for t in TARGETS for s in ("deflate-2k", "deflate-200")):
        return []
    L = ["## Compression (g): permessage-deflate, compressed once per event", "",
         "Subscribers offer permessage-deflate as browsers do (`deflate-*`) or not (`plain-*`); "
         "bytes on the wire are what the subscribers read per delivery (frames included), CPU "
         "is the servers' per delivery. soketi declines the offer, so it sends plain frames "
         "either way.", "",
         "| event | servers | bytes/delivery offered | not offered | CPU us/delivery offered | "
         "not offered | offered / not |", "|---|---|---:|---:|---:|---:|---:|"]
    for size, event in (("2k", "2 KB"), ("200", "200 B")):
        for t in TARGETS:
            on, off = res.get((t, f"deflate-{size}"), {}), res.get((t, f"plain-{size}"), {})
            cpu_on, cpu_off = on.get("cpu_us_per_delivery"), off.get("cpu_us_per_delivery")
            ratio = f"{cpu_on / cpu_off:.2f}x" if cpu_on and cpu_off else "–"
            L.append(f"| {event} | {NAMES[t]} | {fmt(on.get('wire_bytes_per_delivery'))} | "
                     f"{fmt(off.get('wire_bytes_per_delivery'))} | {fmt(cpu_on)} | "
                     f"{fmt(cpu_off)} | {ratio} |")
    so = res.get(("soketi", "plain-2k"), {})
    L += ["", "Targets (issue #21), 2 KB event: bytes per delivery <= 1/3 of soketi's; CPU per "
          "delivery offered <= 1.1x not offered; deliveries per CPU-s offered >= soketi's "
          "plain.", ""]
    for t in ("rtmesh1", "rtmesh2"):
        on, off = res.get((t, "deflate-2k"), {}), res.get((t, "plain-2k"), {})
        b, sb = on.get("wire_bytes_per_delivery"), so.get("wire_bytes_per_delivery")
        c, co = on.get("cpu_us_per_delivery"), off.get("cpu_us_per_delivery")
        d, sd = on.get("deliveries_per_cpu_s"), so.get("deliveries_per_cpu_s")
        if b and sb and c and co and d and sd:
            L.append(f"* **{NAMES[t]}**: bytes {b / sb:.2f}x soketi's "
                     f"({'met' if b * 3 <= sb else '**not met**'}); CPU {c / co:.2f}x "
                     f"({'met' if c <= 1.1 * co else '**not met**'}); deliveries per CPU-s "
                     f"{d / sd:.2f}x soketi's ({'met' if d >= sd else '**not met**'}).")
    return L + [""]


def publish_cpu_section(res):
    """Issue 14: the server CPU of one REST publish in (b), split by perf samples, and the
    ratio rtmesh could reach if nothing but its writes to client sockets cost anything."""
    rows = [(t, res.get((t, "publish-cpu"))) for t in TARGETS]
    if not any(r for _, r in rows):
        return []
    L = ["## Where a REST publish's server CPU goes (b, sampled by perf)", "",
         "Scenario (b) run again while `perf record -a -g` samples the machine "
         "(bench/perf_split.py). The CPU per publish is the run's own, from /proc; perf's "
         "samples of the server processes split it. *Client writes* are the samples inside "
         "`tcp_sendmsg` outside ZeroMQ's threads: the WebSocket deliveries and the HTTP "
         "answers. On loopback the kernel runs the reader's TCP input and its wake-up inside "
         "the writer's call, so this is what a write costs on this machine with the "
         "generator on it, for any server.", "",
         "| servers | server CPU per publish (us) | client writes | ZeroMQ I/O threads | "
         "the rest | samples |", "|---|---:|---:|---:|---:|---:|"]
    for t, r in rows:
        if r:
            L.append(f"| {NAMES[t]} | {r['cpu_us_per_publish']:.1f} | "
                     f"{r['client_write_us_per_publish']:.1f} | {r['zmq_io_us_per_publish']:.1f} | "
                     f"{r['rest_us_per_publish']:.1f} | {r['perf_samples']:,} |")
    so = res.get(("soketi", "publish-cpu"))
    if so:
        L.append("")
        for t in ("rtmesh1", "rtmesh2"):
            r = res.get((t, "publish-cpu"))
            if r and r["client_write_us_per_publish"]:
                L.append(f"* **{NAMES[t]}**: even if everything but its client writes cost "
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
            for i in (3, 6):
                r = row[i]
                adv.append((r if higher else 1 / r) if r else 0)
            goal = target if higher else 1 / target
            f.write(f'"{s}\\n{key}" {adv[0]:.4f} {adv[1]:.4f} {goal:.4f}\n')
    script = f"""
set terminal pngcairo size 1100,560 font ",10"
set output "{png}"
set title "rtmesh advantage over soketi 1.6.1 (x times better; higher is better), same machine, same run"
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


def main():
    rdir, out_md = sys.argv[1], sys.argv[2]
    png = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(out_md),
                                                             "results-chart.png")
    res = load(os.path.join(rdir, "results.jsonl"))
    rows = goal_rows(res)
    have_chart = chart(rows, png, rdir)
    here = os.path.dirname(os.path.abspath(__file__))
    # run.sh noted the commit when the run began: the tree then, not after this script
    # rewrote its own outputs.
    measured = open(os.path.join(rdir, "commit.txt")).read().split()
    # when the run began (run.sh wrote commit.txt then), also for a report written again later
    began = datetime.datetime.fromtimestamp(os.path.getmtime(os.path.join(rdir, "commit.txt")))
    commit = measured[0] if measured else "?"
    dirty = " (with uncommitted changes)" if "dirty" in measured else ""
    cmds = open(os.path.join(rdir, "commands.txt")).read().strip().splitlines()
    L = ["# rtmesh benchmarks: side by side with soketi", "",
         "Generated by `make bench` (bench/run.sh, then bench/report.py) — do not edit by hand;",
         "profile notes come from bench/PROFILE.md.", "",
         f"* **Date**: {began.strftime('%Y-%m-%d %H:%M')} (the run began)",
         f"* **Machine**: {machine()}",
         f"* **rtmesh**: commit {commit}{dirty}, Release build; soketi 1.6.1 under Debian's "
         "Node 18.20.4 with uWebSockets.js v20.10 (npm `@trufflesuite/uws-js-unofficial`)",
         "* **Load**: `rtmesh-loadgen` (bench/, C + libuv) on the same machine. **The generator "
         "shares the 2 cores with the servers; nothing is pinned.** So absolute rates are "
         "bounded by the generator too: compare the per-server-CPU-second figures and the "
         "ratios, which come from /proc CPU time of the server processes only (all brokers + "
         "nodes for rtmesh).",
         "* Every scenario starts fresh servers. Latency = receive time − publish time stamped "
         "in the event data (same clock). Publishing uses the signed REST API; soketi answers "
         "every REST call with `Connection: close`, so its publishers reconnect per publish "
         "(`pub_reconnects`), as any SDK client must.",
         "* Scaled for this 2-core box: idle holds 19,800 connections (one server process may "
         "hold 20,000 open files; two generator processes of 9,900); the storm is 10,000 "
         "connections. Flat-out publishers pause while more than 32 publishes are undelivered, "
         "so neither server is pushed into dropping slow subscribers.", "",
         ""]
    note = os.path.join(rdir, "note.txt")
    if os.path.exists(note):
        L += ["**Note on this run**: " + open(note).read().strip(), ""]
    L += ["## Targets (issues #4, #14): rtmesh ÷ soketi, same run", ""]
    L += goals_table(rows)
    L += [""]
    if have_chart:
        L += [f"![rtmesh advantage over soketi]({os.path.basename(png)})", ""]
    L += ["## Delivery check", "",
          "delivered / expected over every run with publishing (1.0 = every event arrived):", ""]
    for (t, s), r in sorted(res.items()):
        if r.get("expected"):
            L.append(f"* {t}/{s}: {r['delivered']:,} / {r['expected']:,} = "
                     f"{r['delivered'] / r['expected']:.4f}")
    L += ["", "## Scale-out (e): the same load on 1 node + 1 shard and on 2 nodes + 2 shards", "",
          "On 2 cores, two nodes + two shards cannot add CPU; this shows the cost of the extra "
          "hop and processes, not a speed-up.", ""]
    L += scale_table(res)
    L += [""] + many_section(res)
    L += ["## Publishing over ZeroMQ (librtmesh) beside REST", "",
          "The many-channel load (b) once through the REST API and once through librtmesh "
          "(`rtmesh-loadgen --brokers`), which skips HTTP, signing and JSON; server CPU counts "
          "every broker and node.", ""]
    L += ingest_table(res)
    L += [""] + publish_cpu_section(res)
    L += deflate_section(res)
    L += ["", "## Raw figures", "",
          "Keys are the generator's (`rtmesh-loadgen --help`); `_us` microseconds, `_kb` KiB, "
          "`cpu_s` server CPU seconds over the measured phase, `server_cpu_util` CPU-s per "
          "wall second (2.0 = both cores).", ""]
    L += raw_tables(res)
    L += ["## Commands", "", "```", "make bench      # = bench/run.sh build/release && "
          "bench/report.py bench/results bench/RESULTS.md", "# generator runs, in order "
          "(each also gets --port and --pids of the servers under test, --json):"]
    L += cmds
    L += ["```", ""]
    prof = os.path.join(here, "PROFILE.md")
    if os.path.exists(prof):
        L += [open(prof).read().rstrip(), ""]
    open(out_md, "w").write("\n".join(L))


if __name__ == "__main__":
    main()
