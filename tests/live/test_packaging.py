# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""make install into a staging root: binaries, default config, systemd unit, all where a package wants them."""
import os
import subprocess

import pytest

from conftest import BUILD, KANSOKUD, ROOT


@pytest.mark.needs_no_root
def test_make_install_honours_destdir_and_prefix(tmp_path):
    dest = tmp_path / "stage"
    build = os.path.relpath(BUILD, ROOT)
    r = subprocess.run(["make", "-s", "install", f"BUILD={build}", f"DESTDIR={dest}", "PREFIX=/usr"], cwd=ROOT,
                       capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    assert os.access(dest / "usr/sbin/kansokud", os.X_OK)
    assert os.access(dest / "usr/bin/kansoku", os.X_OK)
    cfg = dest / "etc/kansoku/kansoku.yaml"
    assert cfg.read_text() == open(os.path.join(ROOT, "packaging/kansoku.yaml")).read()
    assert (cfg.stat().st_mode & 0o777) == 0o640
    unit = (dest / "lib/systemd/system/kansokud.service").read_text()
    assert "ExecStart=/usr/sbin/kansokud --config /etc/kansoku/kansoku.yaml" in unit
    assert "@" not in unit.split("[Service]")[1].split("\n")[1]
    # an existing config is never overwritten by an upgrade
    cfg.write_text("state_dir: /srv/kansoku\n")
    subprocess.run(["make", "-s", "install", f"BUILD={build}", f"DESTDIR={dest}", "PREFIX=/usr"], cwd=ROOT, check=True)
    assert cfg.read_text() == "state_dir: /srv/kansoku\n"


@pytest.mark.needs_no_root
def test_default_config_is_valid_and_documented():
    r = subprocess.run([KANSOKUD, "--version"], capture_output=True)
    assert r.returncode == 0 and r.stdout.startswith(b"kansokud ")
    text = open(os.path.join(ROOT, "packaging/kansoku.yaml")).read()
    readme = open(os.path.join(ROOT, "README.md")).read()
    for key in ("state_dir", "socket", "heartbeat_interval", "recent_events", "argv_max", "hooks", "process_kb",
                "wakeup_bytes", "poll_ms"):
        assert key in text and key in readme, key
