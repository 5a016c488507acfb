# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Scale: thousands of sockets and processes, bursts, slow control readers (reduced sizes for CI time;
`make bench` runs the large ones)."""
import json
import os
import socket
import subprocess
import sys
import threading
import time

from conftest import KANSOKU

HELPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scale_helper.py")


class Helper:
    """scale_helper.py in the background: its first line of output, then more on request."""

    def __init__(self, *args):
        self.p = subprocess.Popen(
            [sys.executable, HELPER, *map(str, args)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        line = self.p.stdout.readline()
        assert line, f"scale_helper {args} failed"
        self.info = json.loads(line)

    def close_all(self):
        self.p.stdin.write("close\n")
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())

    def end(self):
        if self.p.poll() is None:
            self.p.stdin.close()
            self.p.wait(timeout=30)


def opens_to(port):
    return lambda e: e.get("class_uid") == 4001 and e.get("activity_id") == 1 and e["dst_endpoint"]["port"] == port


def closes_of(port):
    return lambda e: (
        e.get("class_uid") == 4001
        and e.get("activity_id") == 2
        and port in (e.get("dst_endpoint", {}).get("port"), e.get("src_endpoint", {}).get("port"))
        and not e.get("unmapped", {}).get("listener")
    )


def model_conns_of(d, port):
    conns = d.cli_json("conns")["connections"]
    return [c for c in conns if port in (c["local_port"], c["remote_port"])]


def test_every_socket_open_before_the_daemon_is_seeded(daemon_factory):
    # 2,500 connections = 5,000 sockets, over several 32 KiB iterator buffers (one record was lost per buffer)
    h = Helper("conns", 2500)
    try:
        d = daemon_factory()
        port = h.info["port"]
        mine = model_conns_of(d, port)
        assert sum(c["remote_port"] == port for c in mine) == 2500
        assert sum(c["local_port"] == port for c in mine) == 2500
        assert all(c["before_kansokud"] for c in mine)
        ports = [p for p in d.cli_json("ports")["ports"] if p["local_port"] == port]
        assert len(ports) == 1 and ports[0]["pid"] == h.info["listener"]
    finally:
        h.end()
