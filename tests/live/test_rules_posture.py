# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The default rules on posture changes (Compliance Findings, class 2003, judged by the rule engine like any
other event), against real changes to this machine: ASLR turned off with sysctl, a listener on the telnet
port, a set-uid executable and a world-writable file made under a scanned directory. Each benign neighbour
is the same state already present when the daemon started: posture reports it (found_at_start true), no
rule raises a detection for it. Every case restores what it changed. Both the daemon's own Detection
Findings and the offline tester (`kansoku rules test` on the daemon's output) are checked."""
import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile

import pytest

from conftest import KANSOKU, ROOT

RULE_FILES = sorted(glob.glob(os.path.join(ROOT, "packaging", "rules", "*.yaml")))
ASLR = "/proc/sys/kernel/randomize_va_space"


def config(scan_dir):
    # snapshots on demand (`kansoku snapshot --fresh`), each with a walk of the one scanned directory
    return f"posture:\n  scan_paths: [{scan_dir}]\n  fs_scan_interval: 0\n"


def created(d, control, item=None, at_start=None, timeout=30):
    def hit(e):
        return (
            e.get("class_uid") == 2003
            and e["activity_id"] == 1
            and e["compliance"]["control"] == control
            and (item is None or e["unmapped"]["item"] == item)
            and (at_start is None or e["unmapped"]["found_at_start"] is at_start)
        )

    return d.wait_for(hit, timeout=timeout, what=f"a Compliance Finding Create of {control} {item or ''}")[0]


def detections(d, rule):
    return [
        e
        for e in d.read_events()
        if e.get("class_uid") == 2004 and e["finding_info"]["analytic"]["uid"] == rule and e["activity_id"] == 1
    ]


def detection_of(d, rule, finding, timeout=15):
    """The daemon's Detection Finding raised by rule on the posture finding's event (its evidence names the
    event and the finding)."""
    hits = d.wait_for(
        lambda e: e.get("class_uid") == 2004
        and e["activity_id"] in (1, 2)  # a Close (another detection's quiet period) has no evidence
        and e["finding_info"]["analytic"]["uid"] == rule
        and e["evidences"][-1]["data"].get("event_uid") == finding["metadata"]["uid"],
        timeout=timeout,
        what=f"{rule} on {finding['finding_info']['uid']}",
    )
    assert hits[0]["evidences"][-1]["data"]["finding_uid"] == finding["finding_info"]["uid"]
    return hits[0]


def assert_not_detected(d, rule, finding):
    bad = [e for e in detections(d, rule) if e["evidences"][-1]["data"].get("event_uid") == finding["metadata"]["uid"]]
    assert not bad, f"{rule} raised on a state present at start-up: {bad[0]['message']}"


def offline(d, tmp):
    """`kansoku rules test` on the daemon's posture findings (as read from its output, which may have rotated
    under a busy host's network events): the posture findings each rule matched (their uids)."""
    events = [e for e in d.read_events() if e.get("class_uid") == 2003]
    path = os.path.join(tmp, "events.ndjson")
    with open(path, "w") as f:
        f.write("".join(json.dumps(e) + "\n" for e in events))
    r = subprocess.run([KANSOKU, "rules", "test", *RULE_FILES, path, "--json"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    out = {}
    for m in (json.loads(x) for x in r.stdout.decode().splitlines() if x.startswith("{")):
        out.setdefault(m["rule"], set()).add(events[m["line"] - 1]["finding_info"]["uid"])
    return out


def fresh(d):
    d.cli_json("snapshot", "--fresh")


@pytest.fixture
def scan_dir():
    path = tempfile.mkdtemp(prefix="ks-posture-rules-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def set_aslr(value):
    with open(ASLR, "w") as f:
        f.write(value)


def test_aslr_turned_off_at_runtime_is_a_detection(daemon_factory, scan_dir, tmp_path):
    """KS-DEF-008 (T1562.001): off when the daemon starts is a posture finding only; turned back on and
    off again while it runs is a detection."""
    with open(ASLR) as f:
        original = f.read().strip()
    if original != "2":
        pytest.skip(f"ASLR is {original} on this host: the rule's trigger is a change from 2")
    try:
        set_aslr("0")
        d = daemon_factory(config(scan_dir))
        d.wait_for(lambda e: e["class_uid"] == 5002, timeout=30, what="the first posture snapshot")
        at_start = created(d, "KS-KRN-001", at_start=True)
        set_aslr(original)
        fresh(d)
        d.wait_for(
            lambda e: e.get("class_uid") == 2003 and e["activity_id"] == 3 and e["compliance"]["control"] == "KS-KRN-001",
            what="the Close of KS-KRN-001",
        )
        set_aslr("0")
        fresh(d)
        later = created(d, "KS-KRN-001", at_start=False)
    finally:
        set_aslr(original)
    assert later["finding_info"]["uid"] == at_start["finding_info"]["uid"]  # one control, one finding uid
    det = detection_of(d, "KS-DEF-008", later)
    assert det["severity_id"] == 4 and det["attacks"][0]["sub_technique"]["uid"] == "T1562.001"
    assert det["evidences"][-1]["data"]["control"] == "KS-KRN-001"
    assert det["evidences"][-1]["data"]["class_uid"] == 2003
    assert "KS-KRN-001" in det["message"] and "now 0" in det["message"]
    assert det["unmapped"]["area"] == "device"
    assert_not_detected(d, "KS-DEF-008", at_start)
    assert len([e for e in detections(d, "KS-DEF-008") if e["evidences"][-1]["data"]["control"] == "KS-KRN-001"]) == 1
    off = offline(d, str(tmp_path))
    assert later["finding_info"]["uid"] in off.get("KS-DEF-008", set())
    # offline sees two Creates of one uid: the one found at start must not be the one that matched
    creates = [
        e
        for e in d.read_events()
        if e.get("class_uid") == 2003 and e["activity_id"] == 1 and e["compliance"]["control"] == "KS-KRN-001"
    ]
    assert [c["unmapped"]["found_at_start"] for c in creates] == [True, False]


def listen(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen()
    return s


def free(port):
    try:
        listen(port).close()
        return True
    except OSError:
        return False


def test_telnet_listener_at_runtime_is_a_detection(daemon_factory, scan_dir, tmp_path):
    """KS-PERSIST-015: a listener on the telnet port opened while the daemon runs; neighbours: one on the
    FTP port already listening at start, and one on a port that is no cleartext protocol's. The detection
    closes after its quiet period (1 s here) like any other."""
    if not (free(23) and free(21)):
        pytest.skip("ports 21 and 23 must be free on this host")
    ftp = listen(21)
    telnet = other = None
    try:
        d = daemon_factory(config(scan_dir) + "rules:\n  quiet_period: 1\n")
        d.wait_for(lambda e: e["class_uid"] == 5002, timeout=30, what="the first posture snapshot")
        ftp_finding = created(d, "KS-NET-017", "tcp/0.0.0.0:21", at_start=True)
        other = listen(0)
        oport = other.getsockname()[1]
        other_finding = created(d, "KS-NET-017", f"tcp/0.0.0.0:{oport}", at_start=False)
        telnet = listen(23)
        telnet_finding = created(d, "KS-NET-017", "tcp/0.0.0.0:23", at_start=False)
        det = detection_of(d, "KS-PERSIST-015", telnet_finding)
        listed = {f["item"]: f for f in d.cli_json("findings") if f["check"] == "KS-NET-017"}
    finally:
        for s in (ftp, telnet, other):
            if s:
                s.close()
    assert listed["tcp/0.0.0.0:23"]["found_at_start"] is False  # `kansoku findings` says it too
    assert listed["tcp/0.0.0.0:21"]["found_at_start"] is True
    assert det["severity_id"] == 4 and det["attacks"][0]["technique"]["uid"] == "T1133"
    assert det["evidences"][-1]["data"]["item"] == "tcp/0.0.0.0:23"
    assert f"by pid {os.getpid()}" in det["message"]  # the owner, from the network model
    assert_not_detected(d, "KS-PERSIST-015", ftp_finding)
    assert_not_detected(d, "KS-PERSIST-015", other_finding)
    closed = d.wait_for(
        lambda e: e.get("class_uid") == 2004
        and e["activity_id"] == 3
        and e["finding_info"]["uid"] == det["finding_info"]["uid"],
        what="the detection's Close after its quiet period",
    )[0]
    assert "KS-PERSIST-015 closed: quiet period over (1 match, on a posture finding)" == closed["message"]
    off = offline(d, str(tmp_path))
    assert off.get("KS-PERSIST-015") == {telnet_finding["finding_info"]["uid"]}


def test_setid_and_world_writable_files_at_runtime_are_detections(daemon_factory, scan_dir, tmp_path):
    """KS-PRIV-007 (a set-uid executable no package owns) and KS-DEF-009 (a world-writable file) made under
    a scanned directory while the daemon runs; neighbours: the same kinds of file present at start."""
    old_suid, old_ww = os.path.join(scan_dir, "old-suid"), os.path.join(scan_dir, "old-ww")
    new_suid, new_ww = os.path.join(scan_dir, "new-suid"), os.path.join(scan_dir, "new-ww")
    for path, mode in ((old_suid, 0o4755), (old_ww, 0o666)):
        shutil.copy("/usr/bin/true", path)
        os.chmod(path, mode)
    d = daemon_factory(config(scan_dir))
    # the first walk's results: the neighbours, found at start (the walk checks wait for the walk)
    old_suid_f = created(d, "KS-FS-004", old_suid, at_start=True)
    old_ww_f = created(d, "KS-FS-002", old_ww, at_start=True)
    for path, mode in ((new_suid, 0o4755), (new_ww, 0o666)):
        shutil.copy("/usr/bin/true", path)
        os.chmod(path, mode)
    fresh(d)  # a snapshot starts a walk; its end re-runs the walk checks
    new_suid_f = created(d, "KS-FS-004", new_suid, at_start=False)
    new_ww_f = created(d, "KS-FS-002", new_ww, at_start=False)
    suid_det = detection_of(d, "KS-PRIV-007", new_suid_f)
    ww_det = detection_of(d, "KS-DEF-009", new_ww_f)
    assert suid_det["attacks"][0]["sub_technique"]["uid"] == "T1548.001" and new_suid in suid_det["message"]
    assert ww_det["attacks"][0]["sub_technique"]["uid"] == "T1222.002" and new_ww in ww_det["message"]
    assert_not_detected(d, "KS-PRIV-007", old_suid_f)
    assert_not_detected(d, "KS-DEF-009", old_ww_f)
    off = offline(d, str(tmp_path))
    assert off.get("KS-PRIV-007") == {new_suid_f["finding_info"]["uid"]}
    assert off.get("KS-DEF-009") == {new_ww_f["finding_info"]["uid"]}
