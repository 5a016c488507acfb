#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Output throughput (make bench, WORKLOADS=outputs): for each network output (rsyslog over TLS, rsyslog
over RELP, HTTP NDJSON), a loopback connection storm fills its durable queue while the receiver is down
(the file output writes the same events as they come: its rate is the storm's), then the receiver starts
and the queue drains: events per second of the drain, with kansokud's CPU during it. Then 60 s of steady
events with the receiver down: kansokud's RSS must stay flat (the queue is on disk).
usage: outputs.py BUILD TMPDIR"""
import gzip
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "live"))
from receivers import Rsyslog, free_port, make_certs  # noqa: E402

build, tmp = sys.argv[1], sys.argv[2]
CONNS = int(os.environ.get("OUT_CONNS", "40000"))
OUTAGE_S = int(os.environ.get("OUT_OUTAGE_S", "60"))
HZ = os.sysconf("SC_CLK_TCK")


class CountingHttp:
    """A fast receiver for the benchmark: counts NDJSON lines (the strict one is in the tests)."""

    def __init__(self):
        self.port, self.count, self.server = free_port(), 0, None
        self.lock = threading.Lock()

    def start(self):
        rx = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                with rx.lock:
                    rx.count += body.count(b"\n")
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Nginx:
    """nginx from Debian: takes each POST, reads the body, answers 200 (the daemon counts what it delivered)."""

    def __init__(self, d):
        self.dir, self.port, self.proc = d, free_port(), None
        os.makedirs(os.path.join(d, "body"), exist_ok=True)
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(f"daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n"
                    "events { worker_connections 64; }\n"
                    f"http {{ access_log off; client_body_temp_path {d}/body;\n"
                    f"  server {{ listen 127.0.0.1:{self.port};\n"
                    "    location /ingest { client_max_body_size 64m; client_body_buffer_size 16m; return 200 \"{}\"; } } }\n")

    def start(self):
        self.proc = subprocess.Popen(["nginx", "-c", os.path.join(self.dir, "nginx.conf"), "-p", self.dir],
                                     stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise SystemExit("nginx did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def cpu_s(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / HZ


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0


def status(sock):
    r = subprocess.run([f"{build}/kansoku", "--socket", sock, "status", "--json"], capture_output=True, timeout=30)
    return json.loads(r.stdout)


def storm(n):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1024)
    port = srv.getsockname()[1]
    srv.close()
    t = time.time()
    out = subprocess.run([f"{build}/bench/workload", "conn", str(n), str(port)], capture_output=True)
    return time.time() - t, out


def run(kind):
    d = os.path.join(tmp, f"out-{kind}")
    os.makedirs(d, exist_ok=True)
    certs = make_certs(d) if kind == "tls" else None
    if kind == "http":
        rx = Nginx(d) if shutil.which("nginx") else CountingHttp()
        out = (f"  - type: http\n    name: bench\n    url: http://127.0.0.1:{rx.port}/ingest\n    body: ndjson\n"
               f"    batch_events: 5000\n    batch_kb: 16384\n    batch_interval_ms: 50\n")  # the CRSA repository takes big batches
    else:
        rx = Rsyslog(d, kind, certs=certs, discard=True)
        out = (f"  - type: syslog\n    name: bench\n    host: 127.0.0.1\n    port: {rx.port}\n"
               f"    transport: {kind}\n" + (f"    ca_file: {certs}/ca.pem\n" if certs else ""))
    out += "    queue_max_kb: 1048576\n"  # the whole storm fits: the drain measures sending, not loss
    cfg = os.path.join(d, "k.yaml")
    sock = os.path.join(d, "ctl.sock")
    with open(cfg, "w") as f:
        f.write(f"state_dir: {d}/state\nsocket: {sock}\nheartbeat_interval: 3600\nposture:\n  enabled: false\n"
                f"files:\n  enabled: false\noutputs:\n  - type: file\n    path: {d}/events.json\n" + out)
    p = subprocess.Popen([f"{build}/kansokud", "--config", cfg], stderr=open(os.path.join(d, "log"), "w"))
    for _ in range(200):
        if os.path.exists(sock) and subprocess.run([f"{build}/kansoku", "--socket", sock, "status"],
                                                   capture_output=True).returncode == 0:
            break
        time.sleep(0.05)
    e0 = status(sock)["emitted"]
    dt, _ = storm(CONNS)
    time.sleep(1.5)
    st = status(sock)
    made = st["emitted"] - e0
    o = next(x for x in st["outputs"] if x.get("name") == "bench")
    fo = next(x for x in st["outputs"] if x["type"] == "file")
    queued = o["queued"]
    # the receiver comes up: drain
    rx.start()
    rpid = rx.proc.pid if hasattr(rx, "proc") and rx.proc else os.getpid()
    r0 = cpu_s(rpid)
    c0, t0 = cpu_s(p.pid), time.time()
    while True:
        o = next(x for x in status(sock)["outputs"] if x.get("name") == "bench")
        if o["queued"] < 200 or time.time() - t0 > 300:
            break
        time.sleep(0.05)
    drain = time.time() - t0
    cpu = (cpu_s(p.pid) - c0) / drain * 100
    rcpu = (cpu_s(rpid) - r0) / drain * 100
    rate = (queued - o["queued"]) / drain
    print(f"  {kind:5s}: {queued} events queued while the receiver was down, drained in {drain:.2f} s: "
          f"{rate:,.0f} events/s, kansokud {cpu:.0f}% of one core, the receiver {rcpu:.0f}%; lost {o['lost']}")
    file_line = (f"  file : {made} events in {dt:.2f} s of connection storm written as they came "
                 f"({made / dt:,.0f} events/s), lost {fo['lost']}")
    res = rate
    if kind == "relp" and OUTAGE_S:
        # 60 s of steady events with the receiver down: memory must stay flat
        rx.stop()
        time.sleep(2)
        samples = []
        t1 = time.time()
        while time.time() - t1 < OUTAGE_S:
            storm(3000)
            samples.append(rss_mib(p.pid))
            time.sleep(0.5)
        o = next(x for x in status(sock)["outputs"] if x.get("name") == "bench")
        print(f"  outage {OUTAGE_S} s: {o['queued']} events queued ({o['queue_bytes'] / 1048576:.0f} MiB on disk), "
              f"kansokud RSS first {samples[0]:.1f} MiB, max {max(samples):.1f}, last {samples[-1]:.1f}")
    else:
        rx.stop()
    p.terminate()
    p.wait()
    return res, file_line


rates = {}
for kind in os.environ.get("OUT_KINDS", "tls relp http").split():
    rates[kind], fl = run(kind)
print(fl)
ok = all(r >= 50000 for r in rates.values())
print("  outputs: " + ", ".join(f"{k} {v:,.0f}/s" for k, v in rates.items()) +
      f" (target >= 50,000 events/s each): {'met' if ok else 'MISSED'}")
