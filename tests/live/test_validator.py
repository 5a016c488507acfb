# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The validator itself (tests/ocsf_validate.py), on small hand-made events: no root, no daemon."""
import copy
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from ocsf_validate import ECS, ECS_VERSIONS, OCSF, main, shape

pytestmark = pytest.mark.needs_no_root

T = 1796143873655
USER = {"uid": "0", "name": "root", "type_id": 2, "type": "Admin"}
LAUNCH = {
    "class_uid": 1007, "class_name": "Process Activity", "category_uid": 1, "category_name": "System Activity",
    "activity_id": 1, "activity_name": "Launch", "type_uid": 100701, "severity_id": 1,
    "time": T,
    "metadata": {"version": "1.8.0", "uid": "1a48", "product": {"name": "kansoku", "vendor_name": "kansoku"}},
    "device": {"type_id": 1, "hostname": "vm", "os": {"name": "Debian GNU/Linux", "type_id": 200}},
    "process": {"pid": 2, "uid": "8688", "name": "mkdir", "file": {"path": "/usr/bin/mkdir", "name": "mkdir",
                "type_id": 1}, "user": USER, "created_time": T},
    "actor": {"process": {"pid": 1, "name": "bash"}, "user": USER},
    "observables": [{"name": "process.file.path", "type_id": 45, "value": "/usr/bin/mkdir"}],
    "unmapped": {"anything": [1, {"goes": None}]},
}
LISTEN = dict(copy.deepcopy(LAUNCH), class_uid=4001, class_name="Network Activity", category_uid=4,
              category_name="Network Activity", activity_id=7, activity_name="Listen", type_uid=400107)
for k in ("process", "observables"):
    del LISTEN[k]
LISTEN["metadata"]["profiles"] = ["host"]
LISTEN["dst_endpoint"] = {"ip": "127.0.0.1", "port": 22}
LISTEN["connection_info"] = {"uid": "1", "protocol_num": 6, "direction_id": 1, "direction": "Inbound"}


@pytest.fixture(scope="module")
def ocsf():
    return OCSF()


def with_(ev, path, value):
    """A copy of ev with the attribute at dotted path set (or deleted when value is DELETE)."""
    ev = copy.deepcopy(ev)
    *parents, last = path.split(".")
    o = ev
    for p in parents:
        o = o[p]
    if value is DELETE:
        del o[last]
    else:
        o[last] = value
    return ev


DELETE = object()


def test_good_events_pass(ocsf):
    assert ocsf.validate(LAUNCH) == []
    assert ocsf.validate(LISTEN) == []


@pytest.mark.parametrize("path,value,error", [
    ("colour", "red", "colour: not an attribute of process_activity"),
    ("process.file.colour", 1, "process.file.colour: not an attribute of file"),
    ("process.user.uid", 0, "process.user.uid: not string_t"),
    ("process.created_time", T // 1000, "process.created_time: not a time in milliseconds"),
    ("time", 1.5, "time: not timestamp_t"),
    ("process.pid", True, "process.pid: not integer_t"),
    ("severity_id", 7, "severity_id: not one of"),
    ("activity_name", "Start", "activity_name: not the caption of activity_id 1, 'Launch'"),
    ("process.user.type", "User", "process.user.type: not the caption of type_id 2, 'Admin'"),
    ("severity_id", 99, "severity: required when severity_id is 99 (Other)"),
    ("type_uid", 100702, "type_uid: not class_uid * 100 + activity_id"),
    ("category_uid", 4, "category_uid: not 1"),
    ("class_name", "Process", "class_name: not 'Process Activity'"),
    ("metadata.version", "1.3.0", "metadata.version: not 1.8.0"),
    ("metadata.product", DELETE, "metadata.product: required in metadata, missing"),
    ("process", DELETE, "process: required in process_activity, missing"),
    ("process.user", {"type_id": 1}, "process.user: needs at least one of"),
    ("risk_score", 5, "risk_score: belongs to profile security_control, not declared"),
    ("metadata.profiles", ["no_such"], "metadata.profiles: not a profile of process_activity"),
    ("process.lineage", ["/bin/sh"], "process.lineage: deprecated"),
    ("process.user.groups", ["root"], "process.user.groups[]: must be an object (group)"),
    ("process.user.groups", {"name": "root"}, "process.user.groups: must be an array"),
    ("device.ip", "1.2.3", "device.ip: does not match ip_t"),
    ("observables", [{"name": "process.file.path", "type_id": 45, "value": "/bin/x"}], "observables[]: value of"),
    ("observables", [{"name": "process.hash", "type_id": 8, "value": "x"}], "observables[]: names 'process.hash'"),
    ("unmapped", "text", "unmapped: must be an object"),
])
def test_bad_launch_fails(ocsf, path, value, error):
    errors = ocsf.validate(with_(LAUNCH, path, value))
    assert any(e.startswith(error) for e in errors), errors


@pytest.mark.parametrize("path,value,error", [
    ("metadata.profiles", DELETE, "device: belongs to profile host, not declared"),
    ("connection_info.direction_id", DELETE, "connection_info.direction_id: required"),
    ("dst_endpoint.port", 70000, "dst_endpoint.port: outside [0, 65535]"),
    ("status_code", 111, "status_code: not string_t"),
])
def test_bad_listen_fails(ocsf, path, value, error):
    errors = ocsf.validate(with_(LISTEN, path, value))
    assert any(e.startswith(error) for e in errors), errors


ECS_START = {
    "@timestamp": "2026-12-01T16:50:17.123Z",
    "ecs": {"version": "8.17.0"},
    "event": {"kind": "event", "category": ["process"], "type": ["start"], "action": "Launch"},
    "agent": {"type": "kansoku", "name": "vm", "version": "0.1.0"},
    "host": {"id": "3d12", "name": "vm", "ip": ["192.0.2.2"]},
    "process": {"pid": 2, "executable": "/usr/bin/mkdir", "args": ["mkdir", "-p"], "parent": {"pid": 1}},
    "kansoku": {"ocsf": LAUNCH, "anything": 1},
}


@pytest.mark.parametrize("version", ECS_VERSIONS)
def test_ecs_good_event_passes(version):
    assert ECS(version).validate(ECS_START) == []


@pytest.mark.parametrize("path,value,error", [
    ("event.count", 3, "event.count: not an ECS field"),
    ("colour", "red", "colour: not an ECS field"),
    ("event.category", "process", "event.category: ECS normalizes it to an array"),
    ("event.kind", "happening", "event.kind: not an allowed value"),
    ("event.category", ["configuration"], "event.type: not expected for category ['configuration']"),
    ("process.pid", "2", "process.pid: not an ECS long"),
    ("host.ip", ["192.0.2.300"], "host.ip: not an IP address"),
    ("@timestamp", "yesterday", "@timestamp: not an ECS date"),
    ("@timestamp", DELETE, "@timestamp: required, missing"),
])
@pytest.mark.parametrize("version", ECS_VERSIONS)
def test_ecs_bad_event_fails(version, path, value, error):
    errors = ECS(version).validate(with_(ECS_START, path, value))
    assert any(e.startswith(error) for e in errors), errors


def test_deprecated_kept_only_where_listed(ocsf):
    inv = {"class_uid": 5020, "class_name": "Software Inventory Info", "category_uid": 5,
           "category_name": "Discovery", "activity_id": 2, "activity_name": "Collect", "type_uid": 502002,
           "severity_id": 1, "time": T, "metadata": LAUNCH["metadata"], "device": LAUNCH["device"],
           "package": {"name": "bash", "version": "5.2", "type_id": 2, "type": "Operating System"}}
    assert ocsf.validate(inv) == []
    assert ocsf.validate(with_(inv, "package.type", "deb"))[0].startswith("package.type: not the caption")


def test_shapes():
    assert shape(LAUNCH) == "1007/1 Process Activity: Launch"
    assert shape(ECS_START) == "ecs 1007/1 Process Activity: Launch"


def test_command_line(tmp_path, capsys):
    import json

    good, bad = tmp_path / "good.ndjson", tmp_path / "bad.ndjson"
    good.write_text(json.dumps(LAUNCH) + "\n" + json.dumps(ECS_START) + "\n")
    bad.write_text(json.dumps(with_(LAUNCH, "colour", 1)) + "\n")
    assert main([str(good)]) == 0
    assert main([str(bad)]) == 1
    out = capsys.readouterr().out
    assert "1 x colour: not an attribute of process_activity" in out


def test_docs_events_md_is_what_the_samples_make():
    """docs/events.md is generated from real events; each is valid OCSF and the page is not stale."""
    import gen_events_doc

    samples = gen_events_doc.load(gen_events_doc.SAMPLES)
    assert samples, "tests/fixtures/event_samples.ndjson is empty"
    ocsf = OCSF()
    for ev in samples:
        assert ocsf.validate(ev) == [], shape(ev)
    assert gen_events_doc.main(["--check"]) == 0, "docs/events.md is stale: run tests/gen_events_doc.py"


SOURCES = os.environ.get("KS_SCHEMA_SOURCES", os.path.join(ROOT, "..", "shared", "schemas"))


@pytest.mark.skipif(not os.path.isdir(SOURCES), reason="the official schema files are not beside the repository (KS_SCHEMA_SOURCES)")
def test_vendored_schemas_are_what_reduce_py_makes(tmp_path):
    """The committed reductions are exactly what the committed script makes from the official files."""
    import shutil

    d = tmp_path / "schemas"
    shutil.copytree(os.path.join(ROOT, "tests", "schemas"), d)
    subprocess.run([sys.executable, str(d / "reduce.py"), SOURCES], check=True)
    for f in ("ocsf-1.8.0.json", "ecs-8.17.0.json", "ecs-9.4.0.json"):
        assert (d / f).read_bytes() == open(os.path.join(ROOT, "tests", "schemas", f), "rb").read(), f
