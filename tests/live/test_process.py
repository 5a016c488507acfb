# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Process lifecycle, end to end: real BPF programs, real workloads, assertions on the daemon's output file
and on the CLI."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import HELPERS, KANSOKU, KANSOKUD, ROOT, Daemon, launches, terminates

SPAWN_CHAIN = os.path.join(HELPERS, "spawn_chain")
PROC_HELPER = os.path.join(HELPERS, "proc_helper")


def run(args, **kw):
    """subprocess.run that also tells the pid."""
    p = subprocess.Popen(args, **kw)
    p.wait()
    return p


def by_pid(pid):
    return lambda e: e.get("process", {}).get("pid") == pid


def test_exec_of_copied_binary_with_hostile_args(daemon, tmp_path):
    bindir = tmp_path / "bin dir"
    bindir.mkdir()
    exe = bindir / "my echo"
    shutil.copy("/bin/echo", exe)
    args = [b"a b", b'quote"s and \\back', b"new\nline", b"bad\xff\xfeutf8", b"\x01ctl"]
    # run through a relative path from its own directory: the kernel must still give the canonical path
    p = subprocess.run([b"./my echo", *args], cwd=bindir, stdout=subprocess.DEVNULL)
    assert p.returncode == 0
    (ev,) = daemon.wait_for(launches(daemon, lambda e: e["process"]["file"]["path"] == str(exe)), what="launch")
    proc = ev["process"]
    assert proc["name"] == "my echo"
    assert proc["user"] == {"uid": "0", "name": "root", "type_id": 2}
    expected = ["./my echo"] + [a.decode("utf-8", errors="replace") for a in args]
    assert ev["unmapped"]["args"] == expected
    # nothing lost: the raw bytes travel in hex when they are not UTF-8
    raw = bytes.fromhex(ev["unmapped"]["args_hex"])
    assert raw.split(b"\0") == [b"./my echo", *args]
    assert proc["cmd_line"] == " ".join(expected)
    assert ev["type_uid"] == 100701 and ev["severity_id"] == 1
    assert ev["metadata"]["product"]["name"] == "kansoku" and ev["metadata"]["sequence"] > 0
    assert ev["device"]["uid"] and ev["device"]["hostname"]
    assert proc["created_time"] <= ev["time"]
    assert proc["parent_process"]["pid"] == os.getpid()
    # the Terminate of the same process carries the same stable id
    (t,) = daemon.wait_for(terminates(lambda e: e["process"]["uid"] == proc["uid"]), what="terminate")
    assert t["exit_code"] == 0


def test_argv_longer_than_limit_is_marked_truncated(daemon_factory):
    d = daemon_factory("process:\n  argv_max: 64\n")
    long_arg = "x" * 500
    p = subprocess.Popen(["/bin/echo", "marker-trunc", long_arg], stdout=subprocess.DEVNULL)
    p.wait()
    (ev,) = d.wait_for(launches(d, by_pid(p.pid)))
    assert ev["unmapped"]["argv"]["truncated"] is True
    assert ev["unmapped"]["argv"]["bytes"] == len("/bin/echo") + len("marker-trunc") + len(long_arg) + 3
    assert len("\0".join(ev["unmapped"]["args"])) <= 64


def test_argv_max_at_its_bound_is_really_used(daemon_factory, tmp_path):
    """process.argv_max has one bound, 4095: taken and used by the kernel side as given; 4096 refused."""
    d = daemon_factory("process:\n  argv_max: 4095\n")
    head = ["/bin/echo", "marker-4095"]
    fill = 4095 - sum(len(a) + 1 for a in head) - 1  # argv bytes with their NULs: exactly 4095
    runs = {}
    for extra in (0, 1):  # 4095 bytes fit whole; 4096 are cut at 4095
        p = run([*head, "z" * (fill + extra)], stdout=subprocess.DEVNULL)
        runs[extra] = p.pid
    (whole,) = d.wait_for(launches(d, by_pid(runs[0])))
    (cut,) = d.wait_for(launches(d, by_pid(runs[1])))
    assert whole["unmapped"]["argv"] == {"bytes": 4095, "truncated": False}
    assert whole["unmapped"]["args"] == [*head, "z" * fill]
    assert cut["unmapped"]["argv"] == {"bytes": 4096, "truncated": True}
    assert len("\0".join(cut["unmapped"]["args"])) == 4095
    bad = tmp_path / "argv4096.yaml"
    bad.write_text("process:\n  argv_max: 4096\n")
    r = subprocess.run([KANSOKUD, "--check-config", "--config", str(bad)], capture_output=True)
    assert r.returncode == 1
    assert f"{bad}:2:13: key 'process.argv_max': 4096 is out of range (0 to 4095)".encode() in r.stderr


def test_lineage_of_five_nested_processes(daemon):
    p = subprocess.run([SPAWN_CHAIN, "5", PROC_HELPER, "exit", "0"])
    assert p.returncode == 0
    (leaf,) = daemon.wait_for(launches(daemon, lambda e: e["process"]["file"]["path"] == PROC_HELPER))
    ancestry = leaf["process"]["ancestry"]
    assert [a["path"] for a in ancestry[:5]] == [SPAWN_CHAIN] * 5, ancestry
    assert ancestry[0]["uid"] == leaf["process"]["parent_process"]["uid"]
    # walk the parent pids through the Launch events: each level's parent is the level above
    chain = daemon.wait_for(launches(daemon, lambda e: e["process"]["file"]["path"] == SPAWN_CHAIN), count=6)
    pid_of = {e["process"]["pid"]: e for e in chain}
    cur = leaf["process"]["parent_process"]["pid"]
    depth = 0
    while cur in pid_of:
        depth += 1
        cur = pid_of[cur]["process"]["parent_process"]["pid"]
    assert depth >= 5
    assert leaf["process"]["parent_process"]["file"]["path"] == SPAWN_CHAIN


def test_launch_from_a_thread_names_the_process_that_started_it(daemon):
    """A child forked by a thread other than the main one: its parent is the process (the thread's group),
    named as the actor with the same uid as the process's own events."""
    marker = f"from-thread-{os.getpid()}"
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("p", run(["/bin/echo", marker], stdout=subprocess.DEVNULL)))
    t.start()
    t.join()
    (ev,) = daemon.wait_for(launches(daemon, by_pid(box["p"].pid)), what="launch from a thread")
    assert ev["actor"]["process"]["pid"] == os.getpid()
    assert ev["actor"]["process"]["file"]["path"] == os.path.realpath(sys.executable)
    assert ev["process"]["parent_process"]["uid"] == ev["actor"]["process"]["uid"]
    assert "actor_unknown" not in ev["unmapped"]


def test_exit_code_signal_and_threads(daemon, tmp_path):
    p = subprocess.run([PROC_HELPER, "exit", "7"])
    assert p.returncode == 7
    (t,) = daemon.wait_for(terminates(lambda e: e["process"].get("file", {}).get("path") == PROC_HELPER
                                      and e["exit_code"] == 7))
    assert "signal" not in t["unmapped"]

    sleeper = tmp_path / "sleeper"
    shutil.copy("/bin/sleep", sleeper)
    s = subprocess.Popen([sleeper, "30"])
    time.sleep(0.2)
    s.send_signal(signal.SIGKILL)
    s.wait()
    (t,) = daemon.wait_for(terminates(by_pid(s.pid)))
    assert t["exit_code"] == 128 + 9
    assert t["unmapped"]["signal"]["name"] == "SIGKILL"
    assert t["process"]["file"]["path"] == str(sleeper)

    th = subprocess.Popen([PROC_HELPER, "threads", "4", "3"])
    assert th.wait() == 3
    daemon.wait_for(terminates(lambda e: e["process"]["pid"] == th.pid))
    time.sleep(0.5)  # any per-thread duplicate would have arrived by now
    hits = [e for e in daemon.read_events() if terminates(by_pid(th.pid))(e)]
    assert len(hits) == 1, "one Terminate per process, not per thread"
    assert hits[0]["exit_code"] == 3


def test_script_with_shebang(daemon, tmp_path):
    script = tmp_path / "run me.sh"
    script.write_text("#!/bin/sh\nexit 5\n")
    script.chmod(0o755)
    p = run(["./run me.sh", "arg1"], cwd=tmp_path)
    assert p.returncode == 5
    (ev,) = daemon.wait_for(launches(daemon, by_pid(p.pid)))
    assert ev["unmapped"]["script_path"] == str(script)
    assert ev["process"]["file"]["path"] == os.path.realpath("/bin/sh")
    assert ev["unmapped"]["args"] == ["/bin/sh", "./run me.sh", "arg1"]
    (t,) = daemon.wait_for(terminates(by_pid(p.pid)))
    assert t["exit_code"] == 5


def test_exec_of_deleted_file_and_memfd(daemon, tmp_path):
    gone = tmp_path / "gone-binary"
    p = run([PROC_HELPER, "exec-deleted", "/bin/true", str(gone)])
    assert p.returncode == 0
    (ev,) = daemon.wait_for(launches(daemon, lambda e: e["process"]["pid"] == p.pid
                                     and e["unmapped"].get("exe_deleted")))
    assert ev["process"]["file"]["path"] == str(gone)

    m = run([PROC_HELPER, "exec-memfd", "/bin/true", "kansoku-test"])
    assert m.returncode == 0
    (ev,) = daemon.wait_for(launches(daemon, lambda e: e["process"]["pid"] == m.pid
                                     and e["process"]["file"]["path"].startswith("/memfd:kansoku-test")))
    assert ev["unmapped"]["exe_deleted"] is True


def test_process_started_before_daemon(daemon_factory, tmp_path):
    early = tmp_path / "early-shell"
    shutil.copy("/bin/sh", early)
    s = subprocess.Popen([early, "-c", "sleep 300; exit 0", "with space"])
    try:
        d = daemon_factory()
        ps = d.cli_json("ps")["processes"]
        (entry,) = [p for p in ps if p["pid"] == s.pid]
        assert entry["exe"] == str(early)
        assert entry["args"] == [str(early), "-c", "sleep 300; exit 0", "with space"]
        assert entry["seeded"] is True
        assert entry["ppid"] == os.getpid()
        tree = d.cli("ps", "--tree").stdout.decode()
        assert str(early) in tree
        # kernel threads only with --all, as ps users expect; flagged in the JSON
        assert [p for p in ps if p["pid"] == 2][0]["kernel_thread"] is True
        assert "kthreadd" not in tree and "kthreadd" not in d.cli("ps").stdout.decode()
        everything = d.cli("ps", "--tree", "--all").stdout.decode()
        assert "kthreadd" in everything and str(early) in everything
    finally:
        s.kill()
        s.wait()
    (t,) = d.wait_for(terminates(by_pid(s.pid)))
    assert t["process"]["file"]["path"] == str(early)
    assert t["unmapped"]["seeded"] is True


def test_login_uid_survives_sudo(daemon):
    # a login session for uid 1000, then root work inside it (what sudo does): the actor is still 1000
    try:
        with open("/proc/self/loginuid") as f:
            f.read()
    except OSError:
        pytest.skip("kernel without audit login uids")
    cmd = "echo 1000 > /proc/self/loginuid && exec /bin/true loginuid-marker"
    p = subprocess.run(["/bin/sh", "-c", cmd], stderr=subprocess.PIPE)
    if p.returncode != 0:
        pytest.skip(f"cannot set a login uid here: {p.stderr.decode().strip()}")
    (ev,) = daemon.wait_for(launches(daemon, lambda e: "loginuid-marker" in e["unmapped"]["args"]))
    assert ev["process"]["user"]["uid"] == "0"
    assert ev["actor"]["user"]["uid"] == "1000"
    assert ev["unmapped"]["loginuid"] == 1000
    assert "sessionid" in ev["unmapped"]


def test_status_reports_hooks_counts_and_outputs(daemon):
    subprocess.run(["/bin/true"])
    daemon.wait_for(launches(daemon, lambda e: e["process"]["file"]["path"] == os.path.realpath("/bin/true")))
    st = daemon.cli_json("status")
    assert st["hook_flavour"] == "tp_btf"
    attached = {h["attach"] for h in st["hooks"]}
    assert {"tp_btf/sched_process_exec", "tp_btf/sched_process_fork", "tp_btf/sched_process_exit"} <= attached
    assert st["events"]["exec"]["received"] >= 1 and st["events"]["exec"]["dropped"] == 0
    assert st["kernel_drops"] == 0
    assert st["outputs"][0]["healthy"] is True and st["outputs"][0]["lost"] == 0
    assert st["processes"] > 10 and st["seeded"] > 10
    table = daemon.cli("status").stdout.decode()
    assert "tp_btf/sched_process_exec" in table and "dropped" in table


def test_raw_tp_fallback_is_complete(daemon_factory, tmp_path):
    d = daemon_factory("process:\n  hooks: raw_tp\n")
    st = d.cli_json("status")
    assert st["hook_flavour"] == "raw_tp"
    flavoured = [h for h in st["hooks"] if not h["attach"].startswith("tracepoint/")]
    process_hooks = {h["attach"] for h in flavoured if not h["program"].startswith("ks_net_")}
    assert process_hooks == {"raw_tp/sched_process_exec", "raw_tp/sched_process_fork", "raw_tp/sched_process_exit"}
    # the network programs follow the same flavour
    assert {h["attach"] for h in flavoured if h["program"].startswith("ks_net_")} == {
        "raw_tp/inet_sock_set_state", "raw_tp/net_dev_queue"}
    exe = tmp_path / "raw tp exe"
    shutil.copy("/bin/true", exe)
    p = run([exe, "x y"])
    (ev,) = d.wait_for(launches(d, by_pid(p.pid)))
    assert ev["process"]["file"]["path"] == str(exe)
    assert ev["unmapped"]["args"] == [str(exe), "x y"]
    d.wait_for(terminates(by_pid(p.pid)))


def test_events_cli_recent_and_follow(daemon):
    subprocess.run(["/bin/true", "recent-marker"])
    daemon.wait_for(launches(daemon, lambda e: "recent-marker" in e["unmapped"]["args"]))
    out = daemon.cli("events", "--type", "process", "--json").stdout.decode().splitlines()
    evs = [json.loads(x) for x in out[1:]]
    assert all(e["class_uid"] == 1007 for e in evs)
    assert any("recent-marker" in e["unmapped"]["args"] for e in evs)
    text = daemon.cli("events").stdout.decode()
    assert "recent-marker" in text and "Launch" in text

    f = subprocess.Popen([KANSOKU, "--socket", daemon.socket, "events", "--follow", "--type", "process", "--json"],
                         stdout=subprocess.PIPE)
    try:
        time.sleep(0.3)
        subprocess.run(["/bin/true", "follow-marker"])
        deadline = time.time() + 10
        found = False
        while time.time() < deadline and not found:
            line = f.stdout.readline()
            if not line:
                break
            found = line.startswith(b"{") and b"follow-marker" in line
        assert found, "a followed event must arrive live"
    finally:
        f.terminate()
        f.wait()


def test_cli_errors(daemon, tmp_path):
    r = subprocess.run([KANSOKU, "--socket", str(tmp_path / "nope.sock"), "status"], capture_output=True)
    assert r.returncode == 1 and b"not running" in r.stderr
    r = subprocess.run([KANSOKU, "frobnicate"], capture_output=True)
    assert r.returncode == 2 and b"unknown command" in r.stderr
    r = daemon.cli("events", "--type", "bogus", check=False)
    assert r.returncode == 1 and b"unknown event type" in r.stderr
    # malformed and unknown requests on the raw socket: an error reply, the daemon stays up
    for req in (b"this is not json\n", b'{"cmd": 5}\n', b'{"cmd":"rm -rf"}\n', b"[1,2]\n"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(daemon.socket)
        s.sendall(req)
        reply = json.loads(s.makefile().readline())
        s.close()
        assert reply["ok"] is False and reply["error"]
    assert daemon.cli("status").returncode == 0
    mode = os.stat(daemon.socket).st_mode & 0o777
    assert mode == 0o600


def test_socket_refuses_non_root_peer(daemon):
    os.chmod(daemon.tmp, 0o755)
    os.chmod(daemon.socket, 0o666)  # even with the mode opened up, the peer check refuses
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", KANSOKU, "--socket",
                        daemon.socket, "status"], capture_output=True)
    assert r.returncode == 1
    assert b"root only" in r.stderr or b"permission denied" in r.stderr.lower()


def test_sighup_reopens_and_sigterm_stops_cleanly(daemon):
    rotated = daemon.events_path + ".1"
    os.rename(daemon.events_path, rotated)
    daemon.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    subprocess.run(["/bin/true", "after-hup"])
    daemon._offset = 0
    daemon.seen = []
    daemon.wait_for(launches(daemon, lambda e: "after-hup" in e["unmapped"]["args"]))
    assert daemon.stop() == 0
    last = daemon.read_events()[-1]
    assert last["class_uid"] == 6002 and last["activity_name"] == "Stop"
    assert not os.path.exists(daemon.socket), "the socket is removed on exit"


def test_heartbeat_carries_counters(daemon_factory):
    d = daemon_factory("heartbeat_interval: 1\n")
    (hb,) = d.wait_for(lambda e: e.get("class_uid") == 6002 and e.get("activity_id") == 99, timeout=5)[:1]
    assert hb["type_uid"] == 600299
    assert "exec" in hb["unmapped"]["events"] and "dropped" in hb["unmapped"]["events"]["exec"]


def test_daemon_refuses_bad_config_and_non_root(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("state_dir: /tmp\nprocess:\n  argv_maxx: 10\n")
    r = subprocess.run([KANSOKUD, "--config", str(bad)], capture_output=True)
    assert r.returncode == 1
    assert f"{bad}:3:3: unknown key 'argv_maxx' in 'process'".encode() in r.stderr
    good = Daemon(str(tmp_path))
    os.chmod(tmp_path, 0o755)
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", KANSOKUD, "--config",
                        good.config], capture_output=True)
    assert r.returncode == 1
    assert b"must run as root" in r.stderr


def test_full_disk_counts_losses_keeps_whole_lines_and_recovers(tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(small)], check=True)
    # posture off: its first snapshot alone (~1 MB of inventory events) would fill this small disk
    d = Daemon(str(tmp_path), "posture:\n  enabled: false\n")
    try:
        d.events_path = str(small / "events.json")
        with open(d.config) as f:
            cfg = f.read().replace(str(tmp_path / "events.json"), d.events_path)
        with open(d.config, "w") as f:
            f.write(cfg)
        d.start()
        filler = small / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)  # fill the disk
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        os.close(fd)
        for i in range(300):
            subprocess.run(["/bin/true", f"disk-full-{i}"])
        deadline = time.time() + 10
        while time.time() < deadline:
            out = d.cli_json("status")["outputs"][0]
            if out["lost"] > 0:
                break
            time.sleep(0.1)
        assert out["lost"] > 0 and out["healthy"] is False and "space" in out["error"]
        os.unlink(filler)
        subprocess.run(["/bin/true", "after-space-freed"])
        d.wait_for(launches(d, lambda e: "after-space-freed" in e["unmapped"]["args"]))
        assert d.cli_json("status")["outputs"][0]["healthy"] is True
        d.read_events()  # every line in the file is whole, valid JSON (read_events asserts it)
        assert d.stop() == 0
    finally:
        if d.proc and d.proc.poll() is None:
            d.stop()
        subprocess.run(["umount", "-l", str(small)])  # lazy: a late reader must not leak the mount


def test_restart_after_sigkill(daemon_factory, tmp_path):
    d = daemon_factory()
    d.proc.kill()
    d.proc.wait()
    assert os.path.exists(d.socket), "a killed daemon leaves its socket behind"
    d2 = Daemon(str(tmp_path))
    d2.start()  # a stale socket nobody answers on is replaced
    try:
        assert d2.cli_json("status")["pid"] == d2.proc.pid
    finally:
        assert d2.stop() == 0


def test_kernel_drops_are_counted_and_announced(daemon_factory):
    # a 64 KiB ring that the daemon drains only every 3 s: a burst of execs must overflow it
    d = daemon_factory("ringbuf:\n  process_kb: 64\n  wakeup_bytes: 1048576\n  poll_ms: 3000\n")
    subprocess.run(["/bin/sh", "-c", "for i in $(seq 800); do /bin/true; done"], check=True)
    alerts = d.wait_for(lambda e: e.get("class_uid") == 6002 and e.get("activity_name") == "Events Dropped",
                        timeout=15)
    total = alerts[-1]["unmapped"]["dropped_total"]
    assert alerts[0]["severity_id"] == 4 and total > 0
    assert sum(sum(a["unmapped"]["dropped"].values()) for a in alerts) == total
    st = d.cli_json("status")
    assert st["kernel_drops"] >= total and st["events"]["exec"]["dropped"] > 0
