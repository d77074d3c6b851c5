#!/usr/bin/env python3
"""A service publishing a live feed into rtmesh from Python, speaking the wire
format of docs/wire.md alone (no librtmesh): Debian's python3-zmq and
python3-msgpack, nothing else.

    feed.py APP_ID CHANNEL COUNT [INTERVAL_MS]

Publishes COUNT ticks {"seq":N,"price":P} as event "tick" on CHANNEL to the
brokers of RTMESH_BROKERS (tcp://host:port,...) or RTMESH_BROKERS_FILE (one
per line), with CURVE when RTMESH_CURVE_SECRET (this service's PATH_secret
from `rtmesh keygen`) and RTMESH_CURVE_BROKER (the brokers' public
certificate) are set. Exits 0 when every tick was accepted, 1 at the first one
refused (the broker's reason on stderr), 2 for a usage error.

Routing without the rendezvous hash: a PUBLISH is all-or-nothing per broker
and a broker that does not own the channel refuses it with RTM_ENOTOWNER
(docs/wire.md section 3), so sending the PUBLISH to every broker and waiting
for one ACK 0 publishes each event once, on its owner. librtmesh computes the
owner instead (one message, not one per broker); while brokers disagree about
ownership during a failover, this broadcast could publish an event twice.
"""
import os
import re
import sys
import time

import msgpack
import zmq

PUBLISH, ACK = 1, 2  # message types ("t"), docs/wire.md section 2
ENOTOWNER, EUNAVAIL = -20009, -20007  # refusals worth another try
TIMEOUT_S = 3.0


def brokers():
    """The ingress endpoints, as the nodes read them."""
    path = os.environ.get("RTMESH_BROKERS_FILE")
    if path:
        with open(path, encoding="utf-8") as f:
            lines = [l.strip() for l in f]
        return [l for l in lines if l and not l.startswith("#")]
    listed = os.environ.get("RTMESH_BROKERS", "")
    return [b.strip() for b in listed.split(",") if b.strip()]


def cert_key(path, which):
    """The Z85 public-key or secret-key of a CZMQ certificate file."""
    with open(path, encoding="utf-8") as f:
        found = re.search(which + r'-key = "(.{40})"', f.read())
    if not found:
        sys.exit(f"feed.py: {path} has no {which}-key")
    return found.group(1).encode()


def connect(ctx, endpoint):
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    secret = os.environ.get("RTMESH_CURVE_SECRET")
    if secret:
        sock.curve_secretkey = cert_key(secret, "secret")
        sock.curve_publickey = cert_key(secret, "public")
        sock.curve_serverkey = cert_key(os.environ["RTMESH_CURVE_BROKER"], "public")
    sock.connect(endpoint)
    return sock


def publish(socks, poller, msg_id, app, channel, data):
    """Sends the PUBLISH to every broker; returns None once one accepted, else
    the last refusal's reason."""
    deadline = time.monotonic() + TIMEOUT_S
    reason = "no broker answered"
    while time.monotonic() < deadline:
        body = msgpack.packb({"v": 1, "t": PUBLISH, "id": msg_id, "app": app,
                              "channels": [channel], "name": "tick", "data": data,
                              "exclude": ""})
        for sock in socks:
            sock.send(body)  # a DEALER queues until it is connected
        waiting = len(socks)
        round_end = min(deadline, time.monotonic() + 0.5)  # a silent broker: ask again
        while waiting and time.monotonic() < round_end:
            ready = dict(poller.poll(max(1, int((round_end - time.monotonic()) * 1000))))
            for sock in socks:
                if sock not in ready:
                    continue
                ack = msgpack.unpackb(sock.recv(), raw=False)
                if ack.get("t") != ACK or ack.get("id") != msg_id:
                    continue  # an ACK of an earlier try
                waiting -= 1
                status = ack.get("status", 0)
                if status == 0:
                    return None
                reason = ack.get("reason") or f"status {status}"
                if status not in (ENOTOWNER, EUNAVAIL):
                    return reason  # the REST API's rules: trying again changes nothing
        time.sleep(0.1)  # the owner moved, or is not heard yet: ask again
        msg_id += 1_000_000  # a new id: late ACKs of this try are ignored
    return reason


def main():
    if len(sys.argv) not in (4, 5):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    app, channel, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    interval = int(sys.argv[4]) / 1000 if len(sys.argv) == 5 else 1.0
    endpoints = brokers()
    if not endpoints:
        print("feed.py: set RTMESH_BROKERS or RTMESH_BROKERS_FILE", file=sys.stderr)
        return 2
    ctx = zmq.Context()
    socks = [connect(ctx, e) for e in endpoints]
    poller = zmq.Poller()
    for sock in socks:
        poller.register(sock, zmq.POLLIN)
    price, rc = 100.0, 0
    for seq in range(1, count + 1):
        price += seq % 7 - 3
        why = publish(socks, poller, seq, app, channel, f'{{"seq":{seq},"price":{price:.2f}}}')
        if why:
            print(f"feed.py: tick {seq} refused: {why}", file=sys.stderr)
            rc = 1
            break
        if seq < count:
            time.sleep(interval)
    for sock in socks:
        sock.close()
    ctx.term()
    return rc


if __name__ == "__main__":
    sys.exit(main())
