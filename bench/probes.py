#!/usr/bin/env python3
"""Writes OUT_DIR/probes.json: what a benchmark run ran on and with, taken when the run
begins (bench/run.sh and bench/smoke.sh call it first), so that bench/report.py renders the
machine and the versions of that run, however much later and wherever it runs: the time, the
commit (and whether the tree differed from it), the CPU model and count, memory, kernel,
open-file limits, the ephemeral port range, conntrack's table size, and the versions of
soketi, the Node and uWebSockets.js it runs under, libzmq, libuv and the C compiler.
A probe that finds nothing records null.

Usage: bench/probes.py OUT_DIR BUILD_TYPE"""
import datetime
import json
import os
import platform
import resource
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NODE18 = os.path.join(HERE, "soketi", ".node18", "root")  # Debian's Node 18, unpacked (soketi/setup.sh)


def sh(args, env=None):
    try:
        p = subprocess.run(args, capture_output=True, text=True, cwd=HERE,
                           env={**os.environ, **env} if env else None)
    except OSError:
        return None
    return p.stdout.strip() if p.returncode == 0 and p.stdout.strip() else None


def read(path):
    try:
        return open(path).read().strip()
    except OSError:
        return None


def first_int(text):
    return int(text.split()[0]) if text else None


def package_version(name):
    text = read(os.path.join(HERE, "soketi", "node_modules", name, "package.json"))
    return json.loads(text).get("version") if text else None


def cpu_model():
    for line in (read("/proc/cpuinfo") or "").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or None


def meminfo_kb(key):
    for line in (read("/proc/meminfo") or "").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def main():
    out, build = sys.argv[1], sys.argv[2]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ports = read("/proc/sys/net/ipv4/ip_local_port_range")
    cc = sh(["cc", "--version"])
    probes = {
        "began_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": sh(["git", "rev-parse", "--short", "HEAD"]),
        # the run's own records (bench/records) are not a change to what is measured
        "dirty": bool(sh(["git", "status", "--porcelain", "--", "..", ":!records"])),
        "build": build,
        "cpu_model": cpu_model(),
        "cpus": os.cpu_count(),
        "mem_total_kb": meminfo_kb("MemTotal"),
        "kernel": platform.release(),
        "nofile_soft": soft,
        "nofile_hard": hard,
        "ip_local_port_range": [int(x) for x in ports.split()] if ports else None,
        "nf_conntrack_max": first_int(read("/proc/sys/net/netfilter/nf_conntrack_max")),
        "versions": {
            "soketi": package_version("@soketi/soketi"),
            # the unpacked Node 18 finds its libnode as soketi.sh lets it
            "soketi_node": sh([os.path.join(NODE18, "usr", "bin", "node"), "--version"],
                              {"LD_LIBRARY_PATH": os.path.join(NODE18, "usr", "lib",
                                                               "x86_64-linux-gnu")}),
            "uws": package_version("uWebSockets.js"),
            "libzmq": sh(["pkg-config", "--modversion", "libzmq"]),
            "libuv": sh(["pkg-config", "--modversion", "libuv"]),
            "cc": cc.splitlines()[0] if cc else None,
        },
    }
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "probes.json"), "w") as f:
        json.dump(probes, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
