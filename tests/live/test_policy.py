# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Access policies in the daemon: real programs reading a watched file and connecting out, judged against
allow-lists; `kansoku policy learn` proposes a policy from what a program does, and the proposal, loaded
back, stays quiet for the same behaviour and reports new behaviour."""
import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import KANSOKU

HAS_SYSTEMD = os.path.isdir("/run/systemd/system") and shutil.which("systemd-run")


def cgroup2_root():
    with open("/proc/mounts") as f:
        for line in f:
            dev, mnt, fstype = line.split()[:3]
            if fstype == "cgroup2":
                return mnt
    return None


class Unit:
    """Runs programs in a unit of their own: `systemd-run --scope` under systemd, else a cgroup v2 directory
    named as systemd names scopes (kansoku-test.slice/NAME.scope), which is all kansoku reads of a unit."""

    def __init__(self, name):
        self.name = f"{name}-{os.getpid()}.scope"
        self.dir = None
        if HAS_SYSTEMD:
            self.prefix = ["systemd-run", "--quiet", "--scope", "--unit", self.name]
            return
        root = cgroup2_root()
        if not root:
            pytest.skip("neither systemd nor a cgroup v2 hierarchy to make a unit in")
        self.dir = os.path.join(root, "kansoku-test.slice", self.name)
        try:
            os.makedirs(self.dir, exist_ok=True)
        except OSError as e:
            pytest.skip(f"cannot make a cgroup for a test unit: {e}")
        self.prefix = ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', self.dir]

    def close(self):
        if self.dir:
            for _ in range(50):  # the last process may still be exiting
                try:
                    os.rmdir(self.dir)
                    break
                except OSError:
                    time.sleep(0.1)


def outside(policy_id, pred=lambda e: True):
    return lambda e: (e.get("class_uid") == 2004 and e["finding_info"]["analytic"]["uid"] == policy_id
                      and pred(e))


def run(*argv):
    p = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL)
    assert p.wait() == 0
    return p.pid


def private_copy(tmp_path, src, name):
    """A copy of a program under its own path: policies name executables by path."""
    dst = tmp_path / "bin" / name
    dst.parent.mkdir(exist_ok=True)
    shutil.copy2(src, dst)
    if subprocess.run([str(dst), "--version"], capture_output=True).returncode != 0:
        pytest.skip(f"{tmp_path} does not allow executing programs")
    return str(dst)


def start(daemon_factory, tmp_path, text):
    """A daemon with the policy file in policy.d (rules.policy_paths) and an empty rules.d."""
    for sub in ("rules.d", "policy.d"):
        (tmp_path / sub).mkdir(exist_ok=True)
    (tmp_path / "policy.d" / "policy.yaml").write_text(text)
    w = tmp_path / "watched"
    w.mkdir(exist_ok=True)
    # larger rings: the daemon observes the whole host, and other workloads on it must not crowd out
    # the test's own events
    return daemon_factory(
        "posture:\n  enabled: false\n"
        "ringbuf:\n  poll_ms: 20\n  process_kb: 32768\n"
        "network:\n  ringbuf_kb: 16384\n"
        f"files:\n  aggregate_window_ms: 0\n  ringbuf_kb: 32768\n  watch:\n    - {w}\n"
        f"rules:\n  builtin: false\n  paths: [{tmp_path}/rules.d/*.yaml]\n"
        f"  policy_paths: [{tmp_path}/policy.d/*.yaml]\n")


def drops(d):
    """Events the daemon could not deliver: dropped in the kernel (rings full) or to a slow follower; None
    when the daemon, on a loaded host, did not answer (then nothing is known to be complete)."""
    r = d.cli("status", "--json", check=False)
    if r.returncode != 0:
        return None
    st = json.loads(r.stdout)
    return st.get("kernel_drops", 0) + st.get("follower_drops", 0)


def learn_while(d, args, behave, tries=3):
    """`policy learn ARGS` while behave() runs; again when the daemon dropped events meanwhile (a busy host:
    what was dropped cannot be learned), at most `tries` times. Returns the proposal."""
    error = None
    for _ in range(tries):
        before = drops(d)
        learn = subprocess.Popen([KANSOKU, "--socket", d.socket, "policy", "learn", *args],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # it says so once it follows the stream: what is done from then on is learned
        first = learn.stderr.readline()
        if "learning for" not in first:  # e.g. the daemon, on a loaded host, did not answer in time
            error = first + learn.communicate(timeout=60)[1]
            continue
        behave()
        proposal, err = learn.communicate(timeout=60)
        assert learn.returncode == 0, err
        after = drops(d)
        if before is not None and after == before:
            return proposal
        error = None
    if error:
        raise AssertionError(f"policy learn did not start in {tries} runs: {error}")
    pytest.skip(f"the host is too busy: the daemon dropped events in each of {tries} learning runs")


def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    return s, s.getsockname()[1]


def test_file_policy_allowed_reader_quiet_other_reader_is_a_finding(daemon_factory, tmp_path):
    reader = private_copy(tmp_path, "/usr/bin/cat", "allowed-reader")
    w = tmp_path / "watched"
    w.mkdir()
    secret = w / "secret"
    secret.write_text("hashes\n")
    d = start(daemon_factory, tmp_path, f"""
policies:
  - id: P-SECRET
    title: Only the allowed reader reads the secret
    description: a test policy
    files: [{secret}]
    operations: [read]
    severity: high
    allow:
      - exe: {reader}
""")
    allowed = run(reader, str(secret))
    other = run("/usr/bin/head", "-c1", str(secret))
    (f,) = d.wait_for(outside("P-SECRET"), what="a finding for head's read")
    assert f["finding_info"]["analytic"] == {"uid": "P-SECRET", "name": "Only the allowed reader reads the secret",
                                             "type_id": 99, "type": "Access Policy"}
    assert f["finding_info"]["types"] == ["Access Outside Policy"]
    assert f["policy"] == {"uid": "P-SECRET", "name": "Only the allowed reader reads the secret",
                           "desc": "a test policy", "type": "Access Policy", "is_applied": False,
                           "data": {"resource": f"files {secret} (read)"}}
    assert f["severity_id"] == 4 and f["unmapped"]["policy_resource"] == f"files {secret} (read)"
    assert f["message"].startswith(f"access outside policy P-SECRET: /usr/bin/head (pid {other}, uid 0,")
    assert f["message"].endswith(f"Read {secret}")
    assert f["evidences"][-1]["actor"]["process"]["pid"] == other
    # the allowed reader did read it (the event is there), and raised nothing
    d.wait_for(lambda e: e.get("class_uid") == 1001 and e["actor"]["process"]["pid"] == allowed
               and e["file"]["path"] == str(secret), what="the allowed read")
    time.sleep(0.5)
    assert len([e for e in d.read_events() if outside("P-SECRET")(e)]) == 1
    # a write is not an operation this policy governs
    run("/usr/bin/touch", str(secret))
    (row,) = [r for r in d.cli_json("rules", "list") if r["id"] == "P-SECRET"]
    assert row["kind"] == "policy" and row["matches"] == 1 and row["resource"] == f"files {secret} (read)"
    st = d.cli_json("status")["rules"]
    assert st["rules"] == 1 and st["policies"] == 1
    assert "(1 access policies)" in d.cli("status").stdout.decode()
    # offline: the daemon's own output judged by `kansoku rules test` finds the same access, and only it
    out = subprocess.run([KANSOKU, "rules", "test", str(tmp_path / "policy.d" / "policy.yaml"), d.events_path],
                         capture_output=True, text=True, check=True).stdout
    hits = [ln for ln in out.splitlines() if "access outside policy P-SECRET" in ln]
    assert len(hits) == 1 and "/usr/bin/head" in hits[0], out


def test_network_policy_allowed_destination_quiet_other_port_is_a_finding(daemon_factory, tmp_path):
    client = private_copy(tmp_path, "/usr/bin/bash", "netclient")
    ok_srv, ok_port = listener()
    bad_srv, bad_port = listener()
    unit = Unit("ks-policy-egress")
    d = start(daemon_factory, tmp_path, f"""
policies:
  - id: P-EGRESS
    title: The client talks to its database only
    subject: {{unit: {unit.name}}}
    network: all
    allow:
      - {{cidr: 127.0.0.0/8, ports: [{ok_port}, 1-2]}}
""")
    def connect(port):
        return run(*unit.prefix, client, "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}; exec 3>&-")

    connect(ok_port)
    connect(bad_port)
    # the same program connecting from outside the unit is not this policy's business
    run(client, "-c", f"exec 3<>/dev/tcp/127.0.0.1/{bad_port}; exec 3>&-")
    (f,) = d.wait_for(outside("P-EGRESS"), what="a finding for the connection to the other port")
    assert f"-> 127.0.0.1:{bad_port} tcp" in f["message"] and "Outbound Open" in f["message"]
    assert f["evidences"][-1]["dst_endpoint"]["port"] == bad_port
    d.wait_for(lambda e: e.get("class_uid") == 4001 and e.get("dst_endpoint", {}).get("port") == ok_port
               and e["activity_name"] == "Open", what="the allowed connection")
    time.sleep(0.5)
    assert len([e for e in d.read_events() if outside("P-EGRESS")(e)]) == 1
    assert f["actor"]["process"]["file"]["path"] == client and f"unit {unit.name})" in f["message"]
    ok_srv.close()
    bad_srv.close()
    unit.close()


def test_a_bad_policy_is_refused_with_its_position_and_changes_nothing(daemon_factory, tmp_path):
    d = start(daemon_factory, tmp_path, "policies:\n  - id: P-OK\n    files: [/x]\n    allow: []\n")
    bad = tmp_path / "policy.d" / "policy.yaml"
    bad.write_text("policies:\n  - id: P-BAD\n    files: [/x]\n    allow:\n      - exe: '/usr/bin/py.*'\n")
    r = subprocess.run([KANSOKU, "rules", "check", str(bad)], capture_output=True, text=True)
    assert r.returncode == 1
    assert f"{bad}:5:15: policy 'P-BAD': '/usr/bin/py.*'" in r.stderr
    r = d.cli("rules", "reload", check=False)
    assert r.returncode != 0 and b"policy 'P-BAD'" in r.stderr
    assert [x["id"] for x in d.cli_json("rules", "list")] == ["P-OK"]


@pytest.mark.parametrize("by", ["exe", "unit"])
def test_policy_learn_proposes_what_ran_and_the_proposal_judges_new_behaviour(daemon_factory, tmp_path, by):
    prog = private_copy(tmp_path, "/usr/bin/bash", "learned-prog")
    unit = Unit("ks-learn") if by == "unit" else None
    prefix, subject = (unit.prefix, unit.name) if unit else ([], prog)
    tag = "learned-prog" if by == "exe" else unit.name
    w = tmp_path / "watched"
    w.mkdir()
    for name in ("a", "b", "c"):
        (w / name).write_text(name + "\n")
    srv1, port1 = listener()
    srv2, port2 = listener()
    d = start(daemon_factory, tmp_path, "policies: []\n")

    def behave(files, port, program):
        script = "".join(f"read -r x < {w / f}; " for f in files)
        # the program runs before the connection: not the last command, so bash forks for it
        script += f"{program} >/dev/null; exec 3<>/dev/tcp/127.0.0.1/{port}; exec 3>&-; true"
        return run(*prefix, prog, "-c", script)

    proposal = learn_while(d, ["--for", "3s", f"--{by}", subject], lambda: behave(["a", "b"], port1, "/usr/bin/true"))
    assert f"subject: {{{by}: '{subject}'}}" in proposal
    assert f"'{w / 'a'}'" in proposal and f"'{w / 'b'}'" in proposal and f"'{w / 'c'}'" not in proposal
    assert "'/usr/bin/true'" in proposal
    assert f"{{protocol: tcp, ports: [{port1}], cidr: ['127.0.0.1']}}" in proposal
    learned = tmp_path / "rules.d" / "learned.yaml"
    learned.write_text(proposal)
    r = subprocess.run([KANSOKU, "rules", "check", str(learned)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + proposal
    d.cli("rules", "reload")
    ids = {x["id"] for x in d.cli_json("rules", "list")}
    assert {f"learned-{tag}-file-reads", f"learned-{tag}-exec",
            f"learned-{tag}-net-connect"} <= ids, ids

    def learned_findings():
        return [e for e in d.read_events() if e.get("class_uid") == 2004
                and e["finding_info"]["analytic"]["uid"].startswith("learned-")]

    before = drops(d)
    same = behave(["a", "b"], port1, "/usr/bin/true")
    new = behave(["c"], port2, "/usr/bin/id")
    try:
        d.wait_for(lambda e: e.get("class_uid") == 2004, count=3, what="findings for the new behaviour")
    except AssertionError:
        after = drops(d)
        if before is None or after != before:
            pytest.skip("the host is too busy: the daemon dropped events of the new behaviour")
        raise
    time.sleep(1.0)
    got = learned_findings()
    # every finding is the new behaviour's (the messages name the subject's pid: the reader, the client,
    # the program that ran /usr/bin/id), none the learned one's
    assert all(f"(pid {new}," in e["message"] for e in got), [e["message"] for e in got]
    assert not [e for e in got if f"(pid {same}," in e["message"]]
    by_id = {e["finding_info"]["analytic"]["uid"]: e for e in got}
    assert set(by_id) == {f"learned-{tag}-file-reads", f"learned-{tag}-net-connect",
                          f"learned-{tag}-exec"}, [e["message"] for e in got]
    assert len(got) == 3
    assert by_id[f"learned-{tag}-file-reads"]["message"].endswith(f"Read {w / 'c'}")
    assert f"-> 127.0.0.1:{port2} tcp" in by_id[f"learned-{tag}-net-connect"]["message"]
    assert by_id[f"learned-{tag}-exec"]["message"].endswith("ran /usr/bin/id")
    srv1.close()
    srv2.close()
    if unit:
        unit.close()


def test_policy_learn_folds_many_siblings_and_unspellable_names_into_their_directory(daemon_factory, tmp_path):
    prog = private_copy(tmp_path, "/usr/bin/bash", "reader")
    w = tmp_path / "watched"
    for sub in ("many", "odd", "few"):
        (w / sub).mkdir(parents=True)
    files = [w / "many" / f"f{i}" for i in range(5)] + [w / "odd" / "we*ird[1]", w / "few" / "one"]
    for f in files:
        f.write_text("x\n")
    d = start(daemon_factory, tmp_path, "policies: []\n")
    proposal = learn_while(d, ["--for", "2s", "--exe", prog],
                           lambda: run(prog, "-c", "".join(f"read -r x < '{f}'; " for f in files) + "true"))
    (reads,) = [ln for ln in proposal.splitlines() if ln.strip().startswith("- path:")]
    assert f"'{w / 'many'}/**'" in reads and f"'{w / 'odd'}/**'" in reads and f"'{w / 'few' / 'one'}'" in reads
    assert "f0" not in reads and "weird" not in reads, reads
    learned = tmp_path / "rules.d" / "learned.yaml"
    learned.write_text(proposal)
    assert subprocess.run([KANSOKU, "rules", "check", str(learned)], capture_output=True).returncode == 0
