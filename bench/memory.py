#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The memory run (bench/run.sh, WORKLOADS=memory): a fresh kansokud per round with the default
configuration (posture on) plus 1,000 generated rules (the generator of bench/rules_bench.c: the four event
classes, lists, prefixes, a regex now and then, exceptions), measured
  idle       once posture's first snapshot and filesystem walk are done
  procs      with N more live processes held (sh waiting on a pipe, a 100-byte command line)
Per state, min/median/max over the rounds of VmRSS and VmHWM (MiB) and the split of VmRSS by mapping in
/proc/PID/smaps: rings (the BPF ring buffers' mappings), bpf (the other BPF maps mmapped: global data),
anon (heap, stacks, anonymous mappings), files (the binary and its libraries).
The goal (issue 13): VmRSS < 64 MiB with 1,000 rules and 10,000 live processes.
usage: memory.py BUILD TMPDIR   (env: ROUNDS=3 MEM_PROCS=10000 MEM_RULES=1000
                                 MEM_COMPARE="DIR ...": also each DIR/kansokud, interleaved round by round)"""
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

import control  # bench/control.py

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELPER = os.path.join(ROOT, "tests", "live", "scale_helper.py")
build, tmp = sys.argv[1], sys.argv[2]
ROUNDS = int(os.environ.get("ROUNDS", "3"))
PROCS = int(os.environ.get("MEM_PROCS", "10000"))
RULES = int(os.environ.get("MEM_RULES", "1000"))
COMPARE = os.environ.get("MEM_COMPARE", "").split()
SOCK = os.path.join(tmp, "memory.sock")
RING_MIN = 64 << 10  # the smallest ring buffer the configuration allows: smaller BPF maps are global data


def generated_rules(n):
    """bench/rules_bench.c's generator, as a rule file."""
    out = ["rules:"]
    for i in range(n):
        k = i % 4
        if k == 0:
            c = (f"class_uid = 1007 and activity_name = Launch and process.file.path in (/opt/a{i}/bin/x, "
                 f"/opt/b{i}/bin/y) and not process.user.uid = {i}")
        elif k == 1:
            c = f"class_uid = 1001 and file.path startswith /srv/data{i}/ and actor.user.uid != {i}"
        elif k == 2:
            c = f"class_uid = 4001 and dst_endpoint.port = {10000 + i} and not dst_endpoint.ip in_cidr 10.{i % 256}.0.0/16"
        elif i % 50 == 3:
            c = f"class_uid = 4003 and query.hostname matches '\\\\.bad{i}\\\\.example$'"
        else:
            c = f"class_uid = 4003 and query.hostname endswith .bad{i}.example"
        out.append(f'  - id: GEN-{i:04d}\n    title: generated {i}\n    condition: "{c}"')
    return "\n".join(out) + "\n"


def request(req):
    return control.request(SOCK, req)[1]


def status():
    return json.loads(request({"cmd": "status"})[0])["data"]


def start_daemon(binary, rules_file):
    state = os.path.join(tmp, "memory-state")
    shutil.rmtree(state, ignore_errors=True)
    cfg = os.path.join(tmp, "memory.yaml")
    with open(cfg, "w") as f:
        f.write(
            f"state_dir: {state}\nsocket: {SOCK}\n"
            f"rules:\n  paths: [{rules_file}]\n"
            f"outputs:\n  - type: file\n    path: {tmp}/memory-events.json\n"
        )
    log = os.path.join(tmp, "memory.log")
    p = subprocess.Popen([binary, "--config", cfg], stderr=open(log, "w"))
    st = None  # a daemon that stopped at start (e.g. an older build that knows no `rules:`) says why below
    for _ in range(600):
        try:
            st = status()
            break
        except OSError:
            if p.poll() is not None:
                break
            time.sleep(0.05)
    else:
        st = None
    if st is None:
        raise SystemExit(f"kansokud did not start: {open(log).read()}")
    return p, st.get("rules", {}).get("rules")


def settle(timeout=120):
    """Posture's first snapshot and walk done (its one-off start-up cost is not the steady state)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = status().get("posture")
        if not p or (p.get("snapshots", 0) >= 1 and p.get("walks", 0) >= 1 and not p.get("walking")):
            return
        time.sleep(0.2)
    print(f"  posture did not settle in {timeout} s; measuring anyway", file=sys.stderr)


def vm(pid):
    with open(f"/proc/{pid}/status") as f:
        kv = dict(line.split(":", 1) for line in f)
    return int(kv["VmRSS"].split()[0]) / 1024, int(kv["VmHWM"].split()[0]) / 1024


def split(pid):
    """VmRSS by kind of mapping, MiB."""
    kinds = {"rings": 0, "bpf": 0, "anon": 0, "files": 0}
    name, size = "", 0
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and not head[0].endswith(":"):
                lo, hi = (int(x, 16) for x in head[0].split("-"))
                name, size = (head[5] if len(head) > 5 else ""), hi - lo
            elif head[0] == "Rss:":
                if name == "anon_inode:bpf-map":
                    kind = "rings" if size >= RING_MIN else "bpf"
                elif name.startswith("/"):
                    kind = "files"
                else:
                    kind = "anon"
                kinds[kind] += int(head[1])
    return {k: v / 1024 for k, v in kinds.items()}


def measure(p):
    rss, hwm = vm(p.pid)
    return {"VmRSS": rss, "VmHWM": hwm, **split(p.pid)}


def one_round(binary, rules_file):
    p, n_rules = start_daemon(binary, rules_file)
    settle()
    time.sleep(2)
    r = {"idle": measure(p), "idle_conns": status()["network"]["connections"]}
    base = status()["processes"]
    h = subprocess.Popen([sys.executable, HELPER, "procs", str(PROCS), "100"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    h.stdout.readline()
    deadline = time.monotonic() + 180
    while status()["processes"] < base + PROCS and time.monotonic() < deadline:
        time.sleep(0.5)
    held = status()["processes"] - base
    time.sleep(3)  # the Launch events written, the recent ring full
    r["procs"] = measure(p)
    r["conns"] = status()["network"]["connections"]
    h.stdin.close()
    h.wait()
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=120)
    return r, n_rules, held


COLS = ["VmRSS", "VmHWM", "rings", "bpf", "anon", "files"]


def show(label, state, rounds):
    cells = []
    for c in COLS:
        v = sorted(r[state][c] for r in rounds)
        cells.append(f"{v[0]:.1f}/{statistics.median(v):.1f}/{v[-1]:.1f}")
    print(f"| {label} | {state} | " + " | ".join(cells) + " |", flush=True)


def main():
    rules_file = os.path.join(tmp, "memory-rules.yaml")
    with open(rules_file, "w") as f:
        f.write(generated_rules(RULES))
    builds = [("this", os.path.join(build, "kansokud"))]
    builds += [(d, os.path.join(d, "kansokud")) for d in COMPARE]
    res = {label: [] for label, _ in builds}
    notes = []
    for i in range(ROUNDS):
        order = builds if i % 2 == 0 else builds[::-1]  # ABBA: all see the same machine noise
        for label, binary in order:
            r, n_rules, held = one_round(binary, rules_file)
            res[label].append(r)
            notes.append(f"round {i + 1} {label}: rules {n_rules}; VmRSS idle {r['idle']['VmRSS']:.1f} with "
                         f"{r['idle_conns']} connections in the model, with {held}/{PROCS} processes held "
                         f"{r['procs']['VmRSS']:.1f} with {r['conns']} connections")
    print(f"== memory (default config + {RULES} generated rules; idle, then {PROCS} live processes; "
          f"{ROUNDS} rounds; MiB, cells: min/median/max)")
    print("| build | state | " + " | ".join(COLS) + " |")
    print("|---|---|" + "---|" * len(COLS))
    for label, _ in builds:
        for state in ("idle", "procs"):
            show(label, state, res[label])
    print("  the host's connections are in the model too and cost memory (~100-200 bytes each): per round,")
    for n in notes:
        print("  " + n)
    worst = max(r["procs"]["VmRSS"] for r in res["this"])
    print(f"  memory: VmRSS with {PROCS} processes and {RULES} rules, worst round {worst:.1f} MiB (target < 64)")


main()
