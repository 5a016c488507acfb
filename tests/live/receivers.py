# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Real receivers for the output tests, started by the tests on loopback: Debian's rsyslogd (plain TCP,
TLS with the ossl driver, RELP with rsyslog-relp), certificates made with openssl, and a strict HTTP
receiver that checks each body byte for byte against the published formats (NDJSON, Elasticsearch
_bulk, Splunk HEC, Loki push) and answers like those servers do, including partial failures and 429/503."""
import gzip
import http.server
import json
import os
import re
import socket
import subprocess
import threading
import time

from conformance import COLLECTOR


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_certs(d):
    """A CA, a server certificate for 127.0.0.1/localhost, a client certificate (mutual TLS), and an
    unrelated CA the server's certificate does not chain to."""
    d = str(d)

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    for ca in ("ca", "other-ca"):
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=kansoku test {ca}",
            "-keyout", f"{ca}.key", "-out", f"{ca}.pem")
    for name, san in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"), ("client", "subjectAltName=DNS:client")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-addext", san)
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(san + "\n")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext")
    return d


RFC5424 = re.compile(r'^<(\d+)>1 (\S+) (\S+) (\S+) (\S+) (\S+) ((?:\[[^\]]*\])+|-) (.*)$')


class Server:
    """A receiver process a test starts on a loopback port (self.port, self.proc)."""

    def listening(self, name, why):
        """Waits until it accepts connections; if it exits first, says why (its log)."""
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise AssertionError(f"{name} exited: {why()}")
                time.sleep(0.05)
        raise AssertionError(f"{name} did not listen")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


class Rsyslog(Server):
    """rsyslogd in the foreground on a private config; every message goes to one file, raw."""

    def __init__(self, tmp, kind, certs=None, mtls=False, out=None):
        self.dir = os.path.join(str(tmp), f"rsyslog-{kind}")
        os.makedirs(self.dir, exist_ok=True)
        self.kind, self.port, self.out = kind, free_port(), os.path.join(self.dir, "messages")
        self.proc = None
        g = f'global(workDirectory="{self.dir}" maxMessageSize="4m"'
        if kind == "tls":
            g += (f' DefaultNetstreamDriver="ossl" DefaultNetstreamDriverCAFile="{certs}/ca.pem"'
                  f' DefaultNetstreamDriverCertFile="{certs}/server.pem" DefaultNetstreamDriverKeyFile="{certs}/server.key"')
        g += ")\n"
        if kind == "tcp":
            inp = f'module(load="imtcp")\ninput(type="imtcp" port="{self.port}" address="127.0.0.1")\n'
        elif kind == "tls":
            mode = "x509/certvalid" if mtls else "anon"
            inp = (f'module(load="imtcp" StreamDriver.Name="ossl" StreamDriver.Mode="1" StreamDriver.Authmode="{mode}")\n'
                   f'input(type="imtcp" port="{self.port}" address="127.0.0.1")\n')
        elif kind == "relp":
            inp = f'module(load="imrelp")\ninput(type="imrelp" port="{self.port}" address="127.0.0.1" maxDataSize="4m")\n'
        elif kind == "relp-tls":
            inp = (f'module(load="imrelp")\ninput(type="imrelp" port="{self.port}" address="127.0.0.1" maxDataSize="4m"'
                   f' tls="on" tls.cacert="{certs}/ca.pem" tls.mycert="{certs}/server.pem"'
                   f' tls.myprivkey="{certs}/server.key" tls.authmode="certvalid")\n')
        else:
            raise ValueError(kind)
        # out: somewhere else to write (a benchmark writes to tmpfs: it measures the sender, not this disk)
        if out:
            self.out = out
        act = f'*.* action(type="omfile" file="{self.out}" template="raw")\n'
        with open(os.path.join(self.dir, "rsyslog.conf"), "w") as f:
            f.write(g + inp + 'template(name="raw" type="string" string="%rawmsg%\\n")\n' + act)

    def start(self):
        self.log = open(os.path.join(self.dir, "rsyslogd.log"), "a")
        self.proc = subprocess.Popen(["rsyslogd", "-n", "-f", os.path.join(self.dir, "rsyslog.conf"),
                                      "-i", os.path.join(self.dir, "pid")], stdout=self.log, stderr=subprocess.STDOUT)
        return self.listening("rsyslogd", lambda: open(self.log.name).read())

    def messages(self):
        """Parsed RFC 5424 messages: (header dict, event). rsyslog writes each one as received."""
        out = []
        if not os.path.exists(self.out):
            return out
        with open(self.out, encoding="utf-8") as f:
            for line in f:
                m = RFC5424.match(line.rstrip("\n"))
                assert m, f"not RFC 5424: {line[:200]!r}"
                hdr = dict(zip(("pri", "time", "host", "app", "procid", "msgid", "sd"), m.groups()[:7]))
                out.append((hdr, json.loads(m.group(8))))
        return out


class HttpReceiver:
    """A strict receiver. mode: ndjson | elastic-bulk | splunk-hec | loki. answers: a list of callables
    (request index, docs) -> (status, body, headers) consulted in order, then 2xx."""

    def __init__(self, mode, token=None, bearer=None):
        self.mode, self.token, self.bearer = mode, token, bearer
        self.docs, self.requests, self.errors, self.answers = [], 0, [], []
        self.lock = threading.Lock()
        self.port = free_port()
        self.server = None

    def start(self):
        recv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                status, body, headers = recv.handle(self)
                data = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def fail(self, why):
        self.errors.append(why)
        return 400, json.dumps({"error": why}), {"Content-Type": "application/json"}

    def handle(self, h):
        raw = h.rfile.read(int(h.headers.get("Content-Length", "0")))
        if h.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        body = raw.decode("utf-8")  # strict: invalid UTF-8 raises
        if self.bearer and h.headers.get("Authorization") != f"Bearer {self.bearer}":
            return 401, '{"error":"unauthorized"}', {}
        with self.lock:
            idx = self.requests
            self.requests += 1
        if self.mode in ("ndjson", "elastic-bulk"):
            if h.headers.get("Content-Type") != "application/x-ndjson":
                return self.fail("Content-Type must be application/x-ndjson")
            if not body.endswith("\n"):
                return self.fail("the body must end with a newline")
            lines = body[:-1].split("\n")
            if self.mode == "ndjson":
                docs = [json.loads(line) for line in lines]
            else:
                if len(lines) % 2:
                    return self.fail("_bulk: action and source lines must pair")
                docs, actions = [], []
                for a, d in zip(lines[0::2], lines[1::2]):
                    act = json.loads(a)
                    if list(act) != ["create"] or "_index" not in act["create"] or "_id" not in act["create"]:
                        return self.fail(f"_bulk: bad action line {a}")
                    actions.append(act["create"])
                    docs.append(json.loads(d))
        elif self.mode == "splunk-hec":
            if h.path != "/services/collector/event":
                return 404, '{"text":"The requested URL was not found on this server.","code":404}', {}
            if h.headers.get("Authorization") != f"Splunk {self.token}":
                return 403, '{"text":"Invalid token","code":4}', {}
            dec, pos, docs = json.JSONDecoder(), 0, []
            while pos < len(body):
                while pos < len(body) and body[pos] in " \n":
                    pos += 1
                if pos >= len(body):
                    break
                obj, pos = dec.raw_decode(body, pos)
                if set(obj) - {"time", "host", "source", "sourcetype", "index", "event"} or "event" not in obj:
                    return 400, '{"text":"Invalid data format","code":6}', {}
                if not isinstance(obj["time"], (int, float)):
                    return 400, '{"text":"Invalid data format","code":6}', {}
                docs.append(obj["event"])
        elif self.mode == "loki":
            if h.path != "/loki/api/v1/push" or h.headers.get("Content-Type") != "application/json":
                return self.fail("loki: POST /loki/api/v1/push with application/json")
            push = json.loads(body)
            docs = []
            for st in push["streams"]:
                assert all(isinstance(v, str) for v in st["stream"].values())
                for ts, line in st["values"]:
                    if not (isinstance(ts, str) and ts.isdigit() and len(ts) >= 19):
                        return self.fail(f"loki: timestamp must be a string of nanoseconds: {ts!r}")
                    docs.append(json.loads(line))
        for answer in list(self.answers):
            r = answer(idx, docs)
            if r:
                return r
        with self.lock:
            self.docs.extend(docs)
        for d in docs:
            COLLECTOR.check(d)
        if self.mode == "elastic-bulk":
            items = [{"create": {"_index": a["_index"], "_id": a["_id"], "status": 201, "result": "created"}}
                     for a in actions]
            return 200, json.dumps({"took": 1, "errors": False, "items": items}), {"Content-Type": "application/json"}
        if self.mode == "splunk-hec":
            return 200, '{"text":"Success","code":0}', {"Content-Type": "application/json"}
        if self.mode == "loki":
            return 204, b"", {}
        return 200, "{}", {"Content-Type": "application/json"}


class Nginx(Server):
    """nginx from Debian in front of the HTTP output, optionally over TLS (the test's certificates), with
    mutual TLS and basic authentication. keep=True keeps every request body as nginx received it (the body
    is read by proxying it to a second server block that answers 200; client_body_in_file_only keeps the
    file) and logs the status, user and client certificate of each request; keep=False answers 200 at
    once (the benchmark)."""

    def __init__(self, tmp, certs=None, mtls=False, basic=None, keep=True):
        self.dir = os.path.join(str(tmp), "nginx")
        self.body_dir = os.path.join(self.dir, "body")
        os.makedirs(self.body_dir, exist_ok=True)
        self.port, back, self.proc = free_port(), free_port(), None
        d = self.dir
        temps = "".join(f"{k}_temp_path {d}/{k};\n" for k in ("proxy", "fastcgi", "uwsgi", "scgi"))
        listen = f"listen 127.0.0.1:{self.port}" + (" ssl" if certs else "") + ";\n"
        if certs:
            listen += f"ssl_certificate {certs}/server.pem;\nssl_certificate_key {certs}/server.key;\n"
            if mtls:
                listen += f"ssl_client_certificate {certs}/ca.pem;\nssl_verify_client on;\n"
        auth = ""
        if basic:
            pw = subprocess.run(["openssl", "passwd", "-apr1", basic[1]], check=True, capture_output=True,
                                text=True).stdout.strip()
            with open(os.path.join(d, "htpasswd"), "w") as f:
                f.write(f"{basic[0]}:{pw}\n")
            auth = f'auth_basic "kansoku"; auth_basic_user_file {d}/htpasswd;\n'
        if keep:
            ingest = (f"client_body_in_file_only on; client_body_buffer_size 64k;\n"
                      f"proxy_pass http://127.0.0.1:{back}; proxy_http_version 1.1;\n")
            backend = f'server {{ listen 127.0.0.1:{back}; access_log off; location / {{ return 200 "{{}}"; }} }}\n'
        else:
            ingest, backend = 'client_body_buffer_size 16m; return 200 "{}";\n', ""
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            # the worker stays root: pytest's directories are 0700, nginx's default user could not read them
            f.write(f"daemon off;\nuser root;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n"
                    "events { worker_connections 64; }\n"
                    "http {\n"
                    "log_format ks '$status \"$remote_user\" \"$ssl_client_s_dn\" $request_length';\n"
                    f"access_log {d}/access.log ks;\nclient_body_temp_path {self.body_dir};\n{temps}"
                    f"server {{\n{listen}location /ingest {{\nclient_max_body_size 64m;\n{auth}{ingest}}}\n}}\n"
                    f"{backend}}}\n")

    def start(self):
        self.proc = subprocess.Popen(["nginx", "-c", os.path.join(self.dir, "nginx.conf"), "-p", self.dir],
                                     stderr=subprocess.PIPE)
        return self.listening("nginx", lambda: self.proc.stderr.read().decode())

    def docs(self):
        """Every NDJSON document of every request body nginx kept, in arrival order: the bodies of the
        requests it has answered 200 (logged once complete), each of which must parse."""
        out = []
        done = sum(1 for r in self.requests() if r[0] == "200")
        for name in sorted(os.listdir(self.body_dir))[:done]:
            with open(os.path.join(self.body_dir, name), "rb") as f:
                raw = f.read()
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            out += [json.loads(line) for line in raw.decode("utf-8").split("\n") if line]
        return out

    def requests(self):
        """(status, user, client certificate subject) per request, from nginx's access log."""
        path = os.path.join(self.dir, "access.log")
        if not os.path.exists(path):
            return []
        return [tuple(re.match(r'^(\d+) "([^"]*)" "([^"]*)"', line).groups()) for line in open(path)]
