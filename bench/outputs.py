#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Output throughput (make bench, WORKLOADS=outputs). Each round, for each network output (rsyslog over
TLS, rsyslog over RELP, HTTP NDJSON to nginx): a loopback connection storm fills the output's durable
queue while the receiver is down (the file output writes the same events as they come), then the
receiver starts and the queue drains. Reported per round: the reconnect wait (set by the backoff), the
drain's length, and the sustained rate in events/s while 10% to 90% of the backlog was delivered, with
kansokud's CPU and the receiver's busiest thread over that stretch; for the file output, the storm's rate and the share of a core
kansokud's event loop used for it. Then min/median/max over the rounds.
Reference: rsyslog's own forwarders (omfwd over TLS, omrelp) send the same events into the same
receiver: what the receiver can take from a sender that is not kansoku.
Last, 60 s of steady events with the receiver down: kansokud's RSS must stay flat (the queue is on disk).
Receivers write what they get to tmpfs: the drain measures the sender and the receiver, not this disk.
usage: outputs.py BUILD TMPDIR   (OUT_ROUNDS=3 OUT_CONNS=40000 OUT_OUTAGE_S=60 OUT_KINDS="tls relp http")"""
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "live"))
from receivers import Nginx, Rsyslog, make_certs  # noqa: E402

build, tmp = sys.argv[1], sys.argv[2]
ROUNDS = int(os.environ.get("OUT_ROUNDS", "3"))
CONNS = int(os.environ.get("OUT_CONNS", "40000"))
OUTAGE_S = int(os.environ.get("OUT_OUTAGE_S", "60"))
KINDS = os.environ.get("OUT_KINDS", "tls relp http").split()
STORMS = int(os.environ.get("OUT_STORMS", "2"))  # two processes: one alone does not make events as fast as the loop writes them
HZ = os.sysconf("SC_CLK_TCK")
SHM = tempfile.mkdtemp(prefix="kansoku-bench-", dir="/dev/shm")


def stat_fields(path):
    return open(path).read().rsplit(")", 1)[1].split()


def cpu_s(pid):
    f = stat_fields(f"/proc/{pid}/stat")
    return (int(f[11]) + int(f[12])) / HZ


def threads(pid, children=False):
    """{tid: (name, cpu seconds)} for pid's threads, and its children's (nginx's worker) if asked."""
    out, todo = {}, [pid]
    if children:
        for q in os.listdir("/proc"):
            try:
                if q.isdigit() and int(stat_fields(f"/proc/{q}/stat")[1]) == pid:
                    todo.append(int(q))
            except OSError:
                pass
    for p in todo:
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                f = stat_fields(f"/proc/{p}/task/{tid}/stat")
                name = open(f"/proc/{p}/task/{tid}/comm").read().strip()
                out[tid] = (name, (int(f[11]) + int(f[12])) / HZ)
        except OSError:
            pass
    return out


def busiest(before, after, secs):
    """The thread that used most CPU between two threads() samples: (name, % of one core)."""
    best = ("-", 0.0)
    for tid, (name, t) in after.items():
        pct = (t - before.get(tid, (name, 0.0))[1]) / secs * 100
        if pct > best[1]:
            best = (name, pct)
    return best


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0


def storm(n, parallel=1):
    """n loopback connections (each one four events: both ends open and close), from `parallel` processes."""
    ports = []
    for _ in range(parallel):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        ports.append(srv.getsockname()[1])
        srv.close()
    t = time.time()
    ps = [subprocess.Popen([f"{build}/bench/workload", "conn", str(n // parallel), str(p)], stdout=subprocess.DEVNULL)
          for p in ports]
    for p in ps:
        p.wait()
    return time.time() - t


class Daemon:
    def __init__(self, d, out_yaml):
        self.sock, self.events = os.path.join(d, "ctl.sock"), os.path.join(d, "events.json")
        cfg = os.path.join(d, "k.yaml")
        with open(cfg, "w") as f:  # one file, unrotated: the reference senders replay it
            f.write(f"state_dir: {d}/state\nsocket: {self.sock}\nheartbeat_interval: 3600\nposture:\n  enabled: false\n"
                    f"files:\n  enabled: false\noutputs:\n  - type: file\n    path: {self.events}\n    max_size_kb: 0\n"
                    + out_yaml + "    queue_max_kb: 1048576\n")  # the whole storm fits: measures sending, not loss
        self.proc = subprocess.Popen([f"{build}/kansokud", "--config", cfg], stderr=open(os.path.join(d, "log"), "w"))
        for _ in range(200):
            if os.path.exists(self.sock) and subprocess.run([f"{build}/kansoku", "--socket", self.sock, "status"],
                                                            capture_output=True).returncode == 0:
                return
            time.sleep(0.05)
        raise SystemExit("kansokud did not start: " + open(os.path.join(d, "log")).read())

    def status(self):
        r = subprocess.run([f"{build}/kansoku", "--socket", self.sock, "status", "--json"], capture_output=True, timeout=30)
        return json.loads(r.stdout)

    def output(self, name):
        return next(x for x in self.status()["outputs"] if x.get("name") == name)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def receiver(kind, d):
    if kind == "http":
        return Nginx(d, keep=False), (f"  - type: http\n    name: bench\n    url: http://127.0.0.1:{{port}}/ingest\n    body: ndjson\n"
                          "    batch_events: 5000\n    batch_kb: 16384\n    batch_interval_ms: 50\n")
    certs = make_certs(d) if kind == "tls" else None
    rx = Rsyslog(d, kind, certs=certs, out=os.path.join(SHM, f"{kind}-messages"))
    rx.certs = certs
    return rx, (f"  - type: syslog\n    name: bench\n    host: 127.0.0.1\n    port: {{port}}\n    transport: {kind}\n"
                + (f"    ca_file: {certs}/ca.pem\n" if certs else ""))


def run(kind, rnd, outage):
    d = os.path.join(tmp, f"out-{kind}-{rnd}")
    os.makedirs(d, exist_ok=True)
    rx, out = receiver(kind, d)
    dm = Daemon(d, out.replace("{port}", str(rx.port)))
    e0 = dm.status()["emitted"]
    main0 = cpu_s(f"{dm.proc.pid}/task/{dm.proc.pid}")
    dt = storm(CONNS, STORMS)
    main_pct = (cpu_s(f"{dm.proc.pid}/task/{dm.proc.pid}") - main0) / dt * 100
    time.sleep(1.5)
    st = dm.status()
    made = st["emitted"] - e0
    fo = next(x for x in st["outputs"] if x["type"] == "file")
    queued = dm.output("bench")["queued"]
    # the receiver comes up: the sender reconnects when its backoff ends, then drains
    t0 = time.time()
    rx.start()
    d0 = dm.output("bench")["events"]
    while True:
        o = dm.output("bench")
        if o["events"] > d0 or time.time() - t0 > 60:
            break
        time.sleep(0.02)
    t1, q1, e1 = time.time(), o["queued"], o["events"]
    # the sustained rate: between 10% and 90% of the backlog delivered (the first and last stretches are the
    # session's start and, for RELP, the window's final confirmation)
    marks = {}
    while o["queued"] >= 200 and time.time() - t1 < 300:
        time.sleep(0.05)
        o = dm.output("bench")
        for m in (0.1, 0.9):
            if m not in marks and o["events"] - e1 >= m * q1:
                marks[m] = (time.time(), o["events"], cpu_s(dm.proc.pid), threads(rx.proc.pid, kind == "http"))
    drain = time.time() - t1
    (ta, ea, ca, tha), (tb, eb, cb, thb) = marks[0.1], marks[0.9]
    r = {"rate": (eb - ea) / (tb - ta), "wait": t1 - t0, "drain": drain, "kcpu": (cb - ca) / (tb - ta) * 100,
         "rx": busiest(tha, thb, tb - ta), "lost": o["lost"], "queued": queued,
         "file_rate": made / dt, "file_lost": fo["lost"], "made": made, "main_pct": main_pct, "events": dm.events}
    if outage:
        # steady events with the receiver down: memory must stay flat
        rx.stop()
        time.sleep(2)
        samples = []
        t2 = time.time()
        while time.time() - t2 < OUTAGE_S:
            storm(3000)
            samples.append(rss_mib(dm.proc.pid))
            time.sleep(0.5)
        o = dm.output("bench")
        r["outage"] = (f"outage {OUTAGE_S} s ({kind} receiver down, 3,000 connections every ~0.5 s): {o['queued']:,} events "
                       f"queued ({o['queue_bytes'] / 1048576:.0f} MiB on disk), kansokud RSS first {samples[0]:.1f} MiB, "
                       f"max {max(samples):.1f}, last {samples[-1]:.1f}")
    else:
        rx.stop()
    dm.stop()
    if rnd < ROUNDS:  # the last round's events are replayed by the reference senders
        os.unlink(dm.events)
    for f in os.listdir(SHM):
        os.unlink(os.path.join(SHM, f))
    return r


def reference(kind, events):
    """rsyslog forwarding the same events (imfile -> omfwd TLS / omrelp) into the same receiver."""
    d = os.path.join(tmp, f"ref-{kind}")
    os.makedirs(os.path.join(d, "snd"), exist_ok=True)
    rx, _ = receiver(kind, d)
    rx.start()
    g = f'global(workDirectory="{d}/snd" maxMessageSize="64k"'
    if rx.certs:
        g += f' DefaultNetstreamDriver="ossl" DefaultNetstreamDriverCAFile="{rx.certs}/ca.pem"'
    q = 'queue.type="LinkedList" queue.size="500000"'
    if kind == "relp":
        g += ')\nmodule(load="omrelp"'
        act = (f'action(type="omrelp" target="127.0.0.1" port="{rx.port}" windowSize="1024" '
               f'template="RSYSLOG_SyslogProtocol23Format" {q})\n')
    else:
        act = (f'action(type="omfwd" target="127.0.0.1" port="{rx.port}" protocol="tcp" TCP_Framing="octet-counted" '
               f'StreamDriver="ossl" StreamDriverMode="1" StreamDriverAuthMode="x509/certvalid" '
               f'template="RSYSLOG_SyslogProtocol23Format" {q})\n')
    with open(os.path.join(d, "snd.conf"), "w") as f:
        f.write(g + f')\nmodule(load="imfile")\ninput(type="imfile" File="{events}" Tag="kansoku" ruleset="fwd")\n'
                f'ruleset(name="fwd") {{\n{act}}}\n')
    want = sum(1 for _ in open(events))
    snd = subprocess.Popen(["rsyslogd", "-n", "-f", os.path.join(d, "snd.conf"), "-i", os.path.join(d, "snd.pid")],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    series, last, last_t, t0 = [], 0, time.time(), time.time()
    while time.time() - t0 < 300 and snd.poll() is None:
        size = os.path.getsize(rx.out) if os.path.exists(rx.out) else 0
        now = time.time()
        if size != last:
            last, last_t = size, now
            series.append((now, size, threads(rx.proc.pid)))
        elif size and now - last_t > 3:
            break
        time.sleep(0.05)
    if snd.poll() is not None:
        raise SystemExit(f"the reference rsyslog sender exited: rsyslogd -N1 -f {d}/snd.conf says why")
    if not series:
        raise SystemExit(f"the reference sender got nothing into the receiver: see {rx.dir}")
    got = sum(1 for _ in open(rx.out))
    # the same stretch as kansoku's: 10% to 90% of what arrived (by bytes: messages are alike)
    a = next(x for x in series if x[1] >= 0.1 * last)
    b = next(x for x in series if x[1] >= 0.9 * last)
    span = max(b[0] - a[0], 1e-3)
    snd.terminate()
    snd.wait()
    rx.stop()
    if os.path.exists(rx.out):
        os.unlink(rx.out)
    return got, want, got * (b[1] - a[1]) / last / span, busiest(a[2], b[2], span)


def spread(xs):
    return f"min {min(xs):,.0f} / median {statistics.median(xs):,.0f} / max {max(xs):,.0f}"


OUTAGE_KIND = "relp" if "relp" in KINDS else KINDS[-1]
names = {"tls": "rsyslog TLS", "relp": "rsyslog RELP", "http": "HTTP NDJSON to nginx"}
res = {k: [] for k in KINDS}
files = []
last_events = {}
try:
    for rnd in range(1, ROUNDS + 1):
        for kind in KINDS:
            r = run(kind, rnd, outage=OUTAGE_S and rnd == ROUNDS and kind == OUTAGE_KIND)
            res[kind].append(r)
            files.append(r)
            print(f"  round {rnd} {kind:4s}: {r['queued']:,} queued while the receiver was down; reconnected after "
                  f"{r['wait']:.1f} s; drained in {r['drain']:.1f} s, {r['rate']:,.0f} events/s sustained, kansokud {r['kcpu']:.0f}% of one core "
                  f"({r['kcpu'] * 1e4 / r['rate']:.1f} us per event), "
                  f"receiver's busiest thread {r['rx'][0]} {r['rx'][1]:.0f}%; lost {r['lost']}", flush=True)
            print(f"  round {rnd} file: {r['made']:,} events in the storm at {r['file_rate']:,.0f} events/s, written as they "
                  f"came; kansokud's event loop {r['main_pct']:.0f}% of one core; lost {r['file_lost']}", flush=True)
            if "outage" in r:
                print("  " + r["outage"], flush=True)
            last_events[kind] = r["events"]
    print("  summary over %d rounds (events/s):" % ROUNDS)
    for kind in KINDS:
        rs = res[kind]
        print(f"    {names[kind]:22s} {spread([r['rate'] for r in rs])}; kansokud {spread([r['kcpu'] for r in rs])} % of a core; "
              f"receiver's busiest thread up to {max(r['rx'][1] for r in rs):.0f}%")
    print(f"    {'file':22s} {spread([r['file_rate'] for r in files])} (the storm's rate); event loop "
          f"{spread([r['main_pct'] for r in files])} % of a core, so ~{statistics.median([r['file_rate'] * 100 / r['main_pct'] for r in files]):,.0f}/s at a full core")
    for kind in ("tls", "relp"):
        if kind in last_events:
            got, want, rate, (tn, tp) = reference(kind, last_events[kind])
            print(f"    reference, rsyslog's own {'omfwd TLS' if kind == 'tls' else 'omrelp (window 1024)'} into the same "
                  f"receiver: {got:,}/{want:,} events at {rate:,.0f}/s, receiver's busiest thread {tn} {tp:.0f}%")
    ok = all(statistics.median([r["rate"] for r in res[k]]) >= 50000 for k in KINDS)
    print("  outputs, median drain: " + ", ".join(f"{k} {statistics.median([r['rate'] for r in res[k]]):,.0f}/s" for k in KINDS)
          + f" (target >= 50,000 events/s each): {'met' if ok else 'MISSED'}")
finally:
    shutil.rmtree(SHM, ignore_errors=True)
