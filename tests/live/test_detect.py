# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Detection rules in the daemon: real actions judged live, findings (2004), reload, dedupe, state, cost."""
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import KANSOKUD


def findings(rule_id, pred=lambda e: True):
    return lambda e: (e.get("class_uid") == 2004 and e["finding_info"]["analytic"]["uid"] == rule_id and pred(e))


def run(*argv):
    p = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL)
    assert p.wait() == 0
    return p.pid


@pytest.fixture
def rules_d(tmp_path):
    d = tmp_path / "rules.d"
    d.mkdir()
    return d


def start(daemon_factory, tmp_path, rules_d, text, extra=""):
    (rules_d / "local.yaml").write_text(text)
    w = tmp_path / "watched"
    w.mkdir(exist_ok=True)
    return daemon_factory(
        "posture:\n  enabled: false\n"
        f"files:\n  aggregate_window_ms: 0\n  watch:\n    - {w}\n"
        f"rules:\n  builtin: false\n  paths: [{rules_d}/*.yaml]\n{extra}")


# unique to this run: other runs on the host (another checkout's tests) must not count here
MARKER = f"kansoku-marker-{os.getpid()}"
EXEC_RULE = """
rules:
  - id: T-EXEC
    title: true run with a marker
    description: a test rule
    condition: class_uid = 1007 and activity_name = Launch and process.file.path = /usr/bin/true and process.args contains MARKER
    severity: high
    tags: [T1059.004, execution]
    area: system
    output: "%{process.file.path} ran as %{actor.user.name} (pid %{process.pid})"
    remediation: nothing to do, it is a test
""".replace("MARKER", MARKER)


def test_a_real_exec_becomes_a_detection_finding(daemon_factory, tmp_path, rules_d):
    d = start(daemon_factory, tmp_path, rules_d, EXEC_RULE)
    neighbour = run("/usr/bin/true", "no-marker")
    pid = run("/usr/bin/true", MARKER)
    (f,) = d.wait_for(findings("T-EXEC"), what="a finding for the marked exec")
    assert f["type_uid"] == 200401 and f["activity_name"] == "Create" and f["severity_id"] == 4
    assert f["finding_info"]["title"] == "true run with a marker" and f["finding_info"]["uid"]
    assert f["finding_info"]["analytic"] == {"uid": "T-EXEC", "name": "true run with a marker", "type_id": 1,
                                             "type": "Rule"}
    assert f["attacks"] == [{"technique": {"uid": "T1059"}, "sub_technique": {"uid": "T1059.004"},
                             "tactic": {"uid": "TA0002", "name": "Execution"}}]
    assert f["message"] == f"/usr/bin/true ran as root (pid {pid})"
    assert f["remediation"]["desc"] == "nothing to do, it is a test"
    ev = f["evidences"][-1]
    assert ev["process"]["pid"] == pid and ev["process"]["file"]["path"] == "/usr/bin/true"
    assert ev["data"]["class_uid"] == 1007 and ev["data"]["activity_name"] == "Launch"
    assert f["actor"]["user"]["uid"] == "0" and f["unmapped"]["area"] == "system"
    # the triggering event itself is in the stream too, and the finding points at it
    (launch,) = d.wait_for(lambda e: e.get("class_uid") == 1007 and e["activity_id"] == 1
                           and e["process"]["pid"] == pid)
    assert ev["data"]["event_uid"] == launch["metadata"]["uid"]
    time.sleep(0.5)
    assert not [e for e in d.read_events() if findings("T-EXEC")(e)
                and e["evidences"][-1]["process"]["pid"] == neighbour]
    # the CLI: alerts, rules list with counters, status
    alerts = d.cli("alerts").stdout.decode()
    assert "T-EXEC" in alerts and "/usr/bin/true ran as root" in alerts
    (row,) = [r for r in d.cli_json("rules", "list") if r["id"] == "T-EXEC"]
    assert row["matches"] == 1 and row["evaluations"] >= 2 and row["enabled"]
    st = d.cli_json("status")["rules"]
    assert st["rules"] == 1 and st["findings_created"] == 1 and st["events_judged"] > 0


def test_same_rule_same_process_is_one_finding_that_grows(daemon_factory, tmp_path, rules_d):
    d = start(daemon_factory, tmp_path, rules_d, """
rules:
  - id: T-READ
    title: watched file read
    condition: class_uid = 1001 and activity_name = Read and file.name startswith secret
""")
    w = tmp_path / "watched"
    for i in range(5):
        (w / f"secret{i}").write_text("x")
    pid = run("/usr/bin/python3", "-c", f"import time\nfor i in range(5): open('{w}/secret%d' % i).read(); "
              "time.sleep(0.05)")
    # the count grows with every match; the finding is re-sent when it reaches 2, 4, 8...: a storm of N
    # repeats costs log2(N) updates
    evs = d.wait_for(findings("T-READ"), count=3, what="create + 2 updates")
    time.sleep(0.5)
    evs = [e for e in d.read_events() if findings("T-READ")(e)]
    assert [e["activity_name"] for e in evs] == ["Create", "Update", "Update"]
    assert [e["count"] for e in evs] == [1, 2, 4]
    (row,) = [r for r in d.cli_json("rules", "list") if r["id"] == "T-READ"]
    assert row["matches"] == 5 and row["deduped"] == 4
    assert len({e["finding_info"]["uid"] for e in evs}) == 1, "an update keeps the finding's uid"
    assert all(e["evidences"][-1]["actor"]["process"]["pid"] == pid for e in evs)


def test_sequence_read_then_connect_by_the_same_process(daemon_factory, tmp_path, rules_d):
    d = start(daemon_factory, tmp_path, rules_d, """
rules:
  - id: T-SEQ
    title: read a watched file, then connect out
    sequence:
      within: 30s
      steps:
        - condition: class_uid = 1001 and activity_name = Read and file.name = loot
        - condition: class_uid = 4001 and activity_name = Open and connection_info.direction = Outbound
    tags: [T1041, exfiltration]
""")
    w = tmp_path / "watched"
    (w / "loot").write_text("x")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    # the neighbour connects without reading first: no finding
    run("/usr/bin/python3", "-c", f"import socket; socket.create_connection(('127.0.0.1', {port})).close()")
    pid = run("/usr/bin/python3", "-c", f"import socket, time; open('{w}/loot').read(); time.sleep(1); "
              f"socket.create_connection(('127.0.0.1', {port})).close()")
    (f,) = d.wait_for(findings("T-SEQ"), what="the sequence's finding")
    srv.close()
    steps = f["evidences"]
    assert len(steps) == 2 and steps[0]["data"]["step"] == 1 and steps[1]["data"]["step"] == 2
    assert steps[0]["data"]["class_uid"] == 1001 and steps[0]["data"]["pid"] == pid
    assert steps[1]["dst_endpoint"]["port"] == port and steps[1]["actor"]["process"]["pid"] == pid
    assert f["attacks"][0]["tactic"]["name"] == "Exfiltration"


def test_threshold_port_scan(daemon_factory, tmp_path, rules_d):
    d = start(daemon_factory, tmp_path, rules_d, """
rules:
  - id: T-SCAN
    title: many refused connections
    condition: class_uid = 4001 and activity_name = Refuse
    threshold: {count: 20, within: 10s, by: process}
    tags: [T1046, discovery]
""")
    free = []
    for _ in range(25):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        free.append(s.getsockname()[1])
        s.close()
    quiet = run("/usr/bin/python3", "-c", "import socket\nfor p in %r:\n  try: socket.create_connection(('127.0.0.1', "
                "p)).close()\n  except OSError: pass" % (free[:5],))
    scanner = run("/usr/bin/python3", "-c", "import socket\nfor p in %r:\n  try: socket.create_connection(("
                  "'127.0.0.1', p)).close()\n  except OSError: pass" % (free,))
    (f,) = d.wait_for(findings("T-SCAN"), what="the scan's finding")
    assert f["unmapped"]["threshold_count"] == 20
    assert f["evidences"][-1]["actor"]["process"]["pid"] == scanner
    time.sleep(0.5)
    assert not [e for e in d.read_events() if findings("T-SCAN")(e)
                and e["evidences"][-1]["actor"]["process"]["pid"] == quiet]


def test_reload_swaps_whole_sets_and_a_broken_file_changes_nothing(daemon_factory, tmp_path, rules_d):
    d = start(daemon_factory, tmp_path, rules_d, EXEC_RULE)
    (rules_d / "broken.yaml").write_text("rules:\n  - id: T-BAD\n    title: bad\n"
                                         "    condition: process.pid startswith 1\n")
    r = d.cli("rules", "reload", check=False)
    err = r.stderr.decode()
    assert r.returncode != 0 and "broken.yaml:4:" in err and "startswith" in err, err
    # the running rules still work, and the error is in status and in the log
    pid = run("/usr/bin/true", MARKER)
    d.wait_for(findings("T-EXEC", lambda e: e["evidences"][-1]["process"]["pid"] == pid))
    assert "broken.yaml:4:" in d.cli_json("status")["rules"]["last_load_error"]
    assert "rules not reloaded" in d.read_log()
    # a good set replaces the old one whole: T-EXEC is gone, T-NEW is there
    (rules_d / "broken.yaml").unlink()
    (rules_d / "local.yaml").write_text(EXEC_RULE.replace("T-EXEC", "T-NEW"))
    d.cli("rules", "reload")
    assert [r["id"] for r in d.cli_json("rules", "list")] == ["T-NEW"]
    pid = run("/usr/bin/true", MARKER)
    d.wait_for(findings("T-NEW", lambda e: e["evidences"][-1]["process"]["pid"] == pid))
    # SIGHUP reloads too
    (rules_d / "local.yaml").write_text(EXEC_RULE.replace("T-EXEC", "T-HUP"))
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline and [r["id"] for r in d.cli_json("rules", "list")] != ["T-HUP"]:
        time.sleep(0.1)
    assert [r["id"] for r in d.cli_json("rules", "list")] == ["T-HUP"]


def test_a_broken_rule_file_stops_the_start_with_its_position(tmp_path, rules_d):
    (rules_d / "x.yaml").write_text("rules:\n  - id: T-1\n    title: t\n    condition: proc.name = x\n")
    cfg = tmp_path / "k.yaml"
    cfg.write_text(f"state_dir: {tmp_path}/state\nsocket: {tmp_path}/s.sock\nrules:\n  paths: [{rules_d}/*.yaml]\n"
                   f"outputs:\n  - type: file\n    path: {tmp_path}/e.json\n")
    r = subprocess.run([KANSOKUD, "--config", str(cfg)], capture_output=True, timeout=30)
    err = r.stderr.decode()
    assert r.returncode == 1 and "x.yaml:4:16: unknown field or undefined macro 'proc.name'" in err, err
    assert not os.path.exists(tmp_path / "e.json") or "class_uid" not in (tmp_path / "e.json").read_text()


def test_disabled_rule_and_rate_limit(daemon_factory, tmp_path, rules_d):
    marker = f"kansoku-rate-{os.getpid()}"  # other processes on the host run true too
    d = start(daemon_factory, tmp_path, rules_d, EXEC_RULE + f"""
  - id: T-ANY
    title: true with this test's marker
    condition: class_uid = 1007 and activity_name = Launch and process.args contains {marker}
""", extra="  disable: [T-EXEC]\n  rate: 1\n  rate_burst: 5\n")
    for _ in range(30):
        run("/usr/bin/true", MARKER, marker)
    d.wait_for(findings("T-ANY"), what="T-ANY's findings")
    time.sleep(1)
    rows = {r["id"]: r for r in d.cli_json("rules", "list")}
    assert not rows["T-EXEC"]["enabled"] and rows["T-EXEC"]["matches"] == 0
    created = [e for e in d.read_events() if findings("T-ANY")(e) and e["activity_name"] == "Create"]
    assert rows["T-ANY"]["matches"] == 30
    assert rows["T-ANY"]["rate_dropped"] > 0 and len(created) + rows["T-ANY"]["rate_dropped"] == 30
    assert not [e for e in d.read_events() if findings("T-EXEC")(e)]


def test_open_detections_score_into_their_area_and_close_when_quiet(daemon_factory, tmp_path, rules_d):
    (rules_d / "local.yaml").write_text(EXEC_RULE.replace("area: system", "area: user"))
    d = daemon_factory(f"rules:\n  builtin: false\n  paths: [{rules_d}/*.yaml]\n  quiet_period: 3\n")
    pid = run("/usr/bin/true", MARKER)
    (f,) = d.wait_for(findings("T-EXEC", lambda e: e["activity_name"] == "Create"), what="the finding")
    # while open it scores into its area like a posture finding: high = weight 7, age factor 1
    det = d.cli_json("posture")["detections"]
    assert det["areas"]["user"] == {"score": 7.0, "open": 1} and det["host"] == 7.0, det
    assert "detections: risk score 7.0 from 1 open" in d.cli("posture").stdout.decode()
    # the rule does not match the process again: after the quiet period the same finding closes
    (c,) = d.wait_for(findings("T-EXEC", lambda e: e["activity_name"] == "Close"), timeout=15, what="the Close")
    assert c["finding_info"]["uid"] == f["finding_info"]["uid"] and c["type_uid"] == 200403
    assert c["status_detail"] == "quiet period over" and c["count"] == 1
    assert c["finding_info"]["first_seen_time"] <= c["finding_info"]["last_seen_time"] <= c["time"]
    assert f"pid {pid}" in c["message"]
    det = d.cli_json("posture")["detections"]
    assert det["open"] == 0 and det["host"] == 0.0
    assert d.cli_json("status")["rules"]["findings_closed"] == 1
