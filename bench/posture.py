#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Posture cost on this machine, against the running kansokud (bench/run.sh starts it):
the background filesystem walk, full snapshots on demand, the re-score after a listener appears, and the
daemon's CPU while idle between snapshots.
usage: posture.py KANSOKU SOCKET DAEMON_PID [SNAPSHOTS] [LISTENERS] [IDLE_S]"""
import json
import os
import socket
import statistics
import subprocess
import sys
import time

kansoku, sock, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
n_snap = int(sys.argv[4]) if len(sys.argv) > 4 else 10
n_listen = int(sys.argv[5]) if len(sys.argv) > 5 else 20
idle_s = int(sys.argv[6]) if len(sys.argv) > 6 else 60
HZ = os.sysconf("SC_CLK_TCK")


def cli(*args):
    r = subprocess.run([kansoku, "--socket", sock, *args, "--json"], capture_output=True, timeout=60)
    if r.returncode:
        raise SystemExit(f"kansoku {' '.join(args)}: {r.stderr.decode()}")
    return json.loads(r.stdout)


def daemon_cpu_s():
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / HZ  # utime + stime


def mmm(v, fmt="{:.1f}"):
    v = sorted(v)
    return "min " + fmt.format(v[0]) + " median " + fmt.format(statistics.median(v)) + " max " + fmt.format(v[-1])


# 1. the first filesystem walk (started with the first snapshot, on its own thread)
t0 = time.time()
while True:
    st = cli("status")["posture"]
    if st["walks"] >= 1:
        break
    if time.time() - t0 > 600:
        raise SystemExit("the first filesystem walk did not finish in 10 minutes")
    time.sleep(0.2)
print(f"  filesystem walk: {st['walk_entries']} entries, {st['last_walk_cpu_ms']:.0f} ms CPU "
      f"({st['last_walk_cpu_ms'] * 1000 / max(st['walk_entries'], 1):.2f} us/entry) at idle priority, "
      f"every posture.fs_scan_interval (3600 s); done {time.time() - t0:.1f} s after start")

# 2. full snapshots on demand
cpu, wall, dcpu = [], [], []
for _ in range(n_snap):
    c0 = daemon_cpu_s()
    snap = cli("snapshot", "--fresh")
    dcpu.append((daemon_cpu_s() - c0) * 1000)
    cpu.append(snap["cost"]["cpu_ms"])
    wall.append(snap["cost"]["wall_ms"])
checks = len(snap["checks"])
print(f"  full snapshot ({checks} checks, {len(snap['inventory']['packages'])} packages, inventory, events): "
      f"CPU ms {mmm(cpu)}; wall ms {mmm(wall)}; daemon CPU per request ms {mmm(dcpu, '{:.0f}')}")

# 3. incremental re-score: a listener outside the allow-list
resc, lat = [], []
for _ in range(n_listen):
    s = socket.socket()
    s.bind(("0.0.0.0", 0))
    port = s.getsockname()[1]
    item = f"tcp/0.0.0.0:{port}"
    before = cli("status")["posture"]["rescores"]
    t = time.time()
    s.listen()
    while not any(f["item"] == item for f in cli("findings", "--area", "system")):
        if time.time() - t > 5:
            raise SystemExit(f"no finding for {item} within 5 s")
        time.sleep(0.01)
    lat.append(time.time() - t)
    st = cli("status")["posture"]
    if st["rescores"] > before:
        resc.append(st["last_rescore_cpu_ms"])
    s.close()
    t = time.time()
    while any(f["item"] == item for f in cli("findings", "--area", "system")):
        if time.time() - t > 5:
            raise SystemExit(f"the finding for {item} was not closed within 5 s")
        time.sleep(0.01)
print(f"  re-score after a new listener: CPU ms {mmm(resc, '{:.2f}')}; listen() to finding s {mmm(lat, '{:.2f}')}")

# 4. idle between snapshots
time.sleep(3)
c0, t0 = daemon_cpu_s(), time.time()
time.sleep(idle_s)
idle = (daemon_cpu_s() - c0) / (time.time() - t0) * 100
rss = int([line for line in open(f"/proc/{pid}/status") if line.startswith("VmRSS")][0].split()[1]) / 1024
print(f"  idle ({idle_s} s, no snapshot due): daemon CPU {idle:.2f}% of one core; RSS {rss:.1f} MiB")
ok = statistics.median(cpu) < 1000 and max(resc or [0]) < 50 and idle < 1
print(f"  posture: snapshot median {statistics.median(cpu):.0f} ms CPU (target < 1000), re-score max "
      f"{max(resc or [0]):.2f} ms (target < 50), idle {idle:.2f}% (target < 1%): {'met' if ok else 'MISSED'}")
