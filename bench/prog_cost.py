#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The kernel's cost per request/response connection, per BPF program (issue 14), from bpf_stats: a fresh
kansokud per round (posture off), `bench/workload rr N PORT`, and the run_time_ns/run_cnt of that daemon's
own programs (found by the prog ids of its fds, so other kansokud instances on the host do not count)
before and after. Builds are interleaved round by round (ABBA), so they see the same machine noise.
Per build and program: ns per connection min/median/max, runs per connection, ns per run; and per round
the connections recorded on both sides (Close or Reset events to the port) and the network drops.
bpf_stats adds two clock reads per program run: compare builds, not absolute figures.
usage: prog_cost.py ROUNDS N BUILD[:raw]...   (as root; BUILD:raw runs with process.hooks: raw_tp)
  e.g. bench/prog_cost.py 6 10000 /tmp/base-build build build:raw
"""
import glob
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PORT = 47311


def prog_ids(pid):
    """The ids of the BPF programs process pid holds."""
    ids = set()
    for f in glob.glob(f"/proc/{pid}/fdinfo/*"):
        try:
            with open(f) as fd:
                ids.update(int(line.split()[1]) for line in fd if line.startswith("prog_id:"))
        except OSError:
            pass
    return ids


def prog_stats(pid):
    """{id: (name, run_time_ns, run_cnt)} of the programs process pid holds."""
    mine = prog_ids(pid)
    out = json.loads(subprocess.check_output(["bpftool", "prog", "show", "-j"]))
    return {p["id"]: (p.get("name", ""), p.get("run_time_ns", 0), p.get("run_cnt", 0)) for p in out if p["id"] in mine}


def start_daemon(build, tmp, raw):
    with open(f"{tmp}/k.yaml", "w") as f:
        f.write(f"state_dir: {tmp}/state\nsocket: {tmp}/ctl.sock\nheartbeat_interval: 3600\n"
                + ("process:\n  hooks: raw_tp\n" if raw else "")
                + f"posture:\n  enabled: false\noutputs:\n  - type: file\n    path: {tmp}/events.json\n"
                + "    max_size_kb: 0\n")
    d = subprocess.Popen([f"{build}/kansokud", "--config", f"{tmp}/k.yaml"], stderr=open(f"{tmp}/log", "w"))
    for _ in range(400):
        if subprocess.run([f"{build}/kansoku", "--socket", f"{tmp}/ctl.sock", "status"],
                          capture_output=True).returncode == 0:
            return d
        time.sleep(0.05)
    d.kill()
    sys.exit(f"kansokud did not start:\n{open(f'{tmp}/log').read()}")


def recorded(tmp):
    """Connections recorded on both sides: Close or Reset events to the storm's port, halved."""
    n = 0
    with open(f"{tmp}/events.json") as f:
        for line in f:
            if '"class_uid":4001' in line and f'"port":{PORT}}}' in line and (
                    '"activity_name":"Close"' in line or '"activity_name":"Reset"' in line):
                n += 1
    return n / 2


def one_round(spec, n):
    build, raw = (spec[:-4], True) if spec.endswith(":raw") else (spec, False)
    tmp = tempfile.mkdtemp(prefix="ks-prog-cost.")
    d = start_daemon(build, tmp, raw)
    try:
        time.sleep(0.5)
        before = prog_stats(d.pid)
        subprocess.run([f"{build}/bench/workload", "rr", str(n), str(PORT)], capture_output=True, check=True)
        after = prog_stats(d.pid)
        time.sleep(1.0)  # the daemon drains its rings
        st = json.loads(subprocess.check_output([f"{build}/kansoku", "--socket", f"{tmp}/ctl.sock", "status",
                                                 "--json"]))
    finally:
        d.terminate()
        d.wait()
    res = {}
    for pid, (name, rt, rc) in after.items():
        if pid in before and name.startswith("ks_net") and rc > before[pid][2]:
            drt, drc = rt - before[pid][1], rc - before[pid][2]
            res[name] = (drt / n, drc / n, drt / drc)
    rec = recorded(tmp)
    shutil.rmtree(tmp, ignore_errors=True)
    return res, rec, st.get("events", {}).get("network", {}).get("dropped")


def spread(xs):
    xs = sorted(xs)
    return f"{xs[0]:7.0f} {statistics.median(xs):7.0f} {xs[-1]:7.0f}"


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    rounds, n, specs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=1"], check=True)
    data = {s: [] for s in specs}
    try:
        for r in range(rounds):
            for s in (specs if r % 2 == 0 else specs[::-1]):
                res, rec, drops = one_round(s, n)
                data[s].append(res)
                total = sum(v[0] for v in res.values())
                print(f"round {r} {s}: {total:.0f} ns/connection, recorded {rec:.0f}/{n}, dropped {drops}", flush=True)
    finally:
        subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=0"])
    for s in specs:
        print(f"== {s}: ns per connection (min median max) | runs per connection | ns per run (median)")
        for name in sorted({k for r in data[s] for k in r}):
            per = [r.get(name, (0, 0, 0)) for r in data[s]]
            print(f"  {name:28s} {spread([p[0] for p in per])} | {statistics.median([p[1] for p in per]):5.2f} | "
                  f"{statistics.median([p[2] for p in per]):6.0f}")
        print(f"  {'TOTAL':28s} {spread([sum(v[0] for v in r.values()) for r in data[s]])}")


if __name__ == "__main__":
    main()
