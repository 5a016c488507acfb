# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The device id on hosts without /etc/machine-id (minimal Debian without systemd, container images): the
daemon runs in a private mount namespace where the file is empty (/dev/null bound over it: systemd treats
an empty machine-id as absent too) and /var/lib/dbus is a directory of the test's choosing. The id must
never be empty, must survive a restart, must differ between two state dirs, and status, the events and
the inventory must all say the same id and where it came from."""
import json
import os
import re
import stat
import subprocess

import pytest

from conftest import KANSOKUD, Daemon

DBUS_DIR = "/var/lib/dbus"
HEX32 = re.compile(r"^[0-9a-f]{32}$")


def private_ns(tmp, dbus_id=None):
    """A command prefix: the daemon in its own mount namespace, /etc/machine-id empty, /var/lib/dbus a
    fresh directory holding dbus_id (or nothing)."""
    fake = os.path.join(tmp, "dbus")
    os.makedirs(fake, exist_ok=True)
    if dbus_id:
        with open(os.path.join(fake, "machine-id"), "w") as f:
            f.write(dbus_id + "\n")
    script = (
        "set -e; if [ -e /etc/machine-id ]; then mount --bind /dev/null /etc/machine-id; fi; "
        f"mkdir -p {DBUS_DIR}; mount --bind {fake} {DBUS_DIR}; exec \"$@\""
    )
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]


def device_seen(d):
    """The id and its source as status, the events and the device inventory (5001) report them."""
    st = d.cli_json("status")["device"]
    start = d.wait_for(lambda e: e.get("class_uid") == 6002, timeout=10, what="the Start event")[0]
    inv = d.wait_for(lambda e: e.get("class_uid") == 5001, timeout=20, what="the device inventory")[0]
    assert start["device"]["uid"] == st["uid"], (start["device"], st)
    assert inv["device"]["uid"] == st["uid"], (inv["device"], st)
    # not an OCSF attribute of device: kept under unmapped.device (OCSF 1.8 conformance)
    assert inv["unmapped"]["device"]["machine_id_source"] == st["machine_id_source"]
    return st["uid"], st["machine_id_source"]


def start(tmp, wrap):
    os.makedirs(tmp, exist_ok=True)
    return Daemon(tmp, wrap=wrap).start()


def test_dbus_machine_id_when_etc_machine_id_is_absent(tmp_path):
    want = "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e"
    d = start(str(tmp_path / "d"), private_ns(str(tmp_path), want))
    try:
        assert device_seen(d) == (want, "/var/lib/dbus/machine-id")
        out = d.cli("status").stdout.decode()
        assert f"device      {want} (from /var/lib/dbus/machine-id)" in out, out
        assert not os.path.exists(os.path.join(d.tmp, "state", "machine-id"))  # nothing generated
    finally:
        assert d.stop() == 0


def test_generated_id_kept_across_restart(tmp_path):
    tmp = str(tmp_path / "d")
    d = start(tmp, private_ns(str(tmp_path)))
    try:
        uid, source = device_seen(d)
    finally:
        assert d.stop() == 0
    kept = os.path.join(tmp, "state", "machine-id")
    assert HEX32.match(uid), uid
    assert source == f"generated ({kept})"
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600
    assert open(kept).read() == uid + "\n"
    assert "generated" in d.read_log() and uid in d.read_log()
    # a restart (same state dir): the same id
    d2 = Daemon(tmp, wrap=private_ns(str(tmp_path))).start()
    try:
        assert device_seen(d2) == (uid, source)
    finally:
        assert d2.stop() == 0


def test_two_state_dirs_two_ids(tmp_path):
    ids = []
    for name in ("a", "b"):
        d = start(str(tmp_path / name), private_ns(str(tmp_path)))
        try:
            ids.append(d.cli_json("status")["device"]["uid"])
        finally:
            assert d.stop() == 0
    assert all(HEX32.match(i) for i in ids) and ids[0] != ids[1], ids


def test_corrupt_kept_id_stops_the_daemon_with_the_fix(tmp_path):
    tmp = str(tmp_path / "d")
    os.makedirs(os.path.join(tmp, "state"), mode=0o700)
    with open(os.path.join(tmp, "state", "machine-id"), "w") as f:
        f.write("garbage\n")
    d = Daemon(tmp)
    r = subprocess.run([*private_ns(str(tmp_path)), KANSOKUD, "--config", d.config], capture_output=True,
                       timeout=30)
    assert r.returncode == 1
    assert b"machine-id does not hold a device id" in r.stderr and b"remove it" in r.stderr, r.stderr


@pytest.mark.needs_no_root
def test_audited_image_uses_its_own_id_or_says_none(tmp_path):
    """--audit --root never shows the host's id: the image's own, D-Bus's copy in the image, or none."""
    img = tmp_path / "img"
    (img / "etc").mkdir(parents=True)
    (img / "etc" / "os-release").write_text('NAME="Image"\nVERSION_ID="1"\n')

    def audit():
        r = subprocess.run([KANSOKUD, "--audit", "--root", str(img)], capture_output=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)["inventory"]["device"], r.stdout

    dev, out = audit()
    assert "uid" not in dev and dev["machine_id_source"] == "none", dev
    for p in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        if os.path.exists(p) and open(p).read().strip():
            assert open(p).read().strip().encode() not in out, f"the host's {p} leaked into the audit"
    (img / "var/lib/dbus").mkdir(parents=True)
    (img / "var/lib/dbus/machine-id").write_text("d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0\n")
    dev, _ = audit()
    assert dev["uid"] == "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0"
    assert dev["machine_id_source"] == "/var/lib/dbus/machine-id"
    (img / "etc" / "machine-id").write_text("e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0\n")
    dev, _ = audit()
    assert (dev["uid"], dev["machine_id_source"]) == ("e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0", "/etc/machine-id")
