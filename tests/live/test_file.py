# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""File access, end to end: real syscalls on real files, decided in the kernel, checked in the output."""
import os
import shutil
import subprocess
import time

import pytest

from conftest import KANSOKU


def files(pred=lambda e: True):
    return lambda e: e.get("class_uid") == 1001 and pred(e)


def at(path):
    return lambda e: e["file"]["path"] == str(path)


@pytest.fixture
def watched(daemon_factory, tmp_path):
    w = tmp_path / "watched"
    w.mkdir()
    d = daemon_factory(f"files:\n  aggregate_window_ms: 1000\n  watch:\n    - {w}\n")
    d.watched = w
    return d


def py(code, cwd=None):
    """Each variant in its own process: same-process repeats would (rightly) be aggregated into one."""
    p = subprocess.Popen(["/usr/bin/python3", "-c", code], cwd=cwd)
    assert p.wait() == 0
    return p.pid


def test_relative_dirfd_symlink_and_dotdot_give_canonical_paths(watched, tmp_path):
    w = watched.watched
    (w / "sub").mkdir()
    target = w / "sub" / "target.txt"
    target.write_text("x")
    os.symlink(target, w / "link")
    pids = {
        "relative after chdir": py("open('target.txt').read()", cwd=w / "sub"),
        "openat with a dirfd": py(f"import os; d = os.open('{w}', os.O_RDONLY); os.close(os.open('sub/target.txt', "
                                  "os.O_RDONLY, dir_fd=d))"),
        "through a symlink": py(f"open('{w}/link').read()"),
        "with ..": py(f"open('{w}/sub/../sub/./target.txt').read()"),
    }
    for what, pid in pids.items():
        # the file by its inode (python also probes the cwd for modules; the dirfd open reads the directory)
        ino = str(os.stat(target).st_ino)
        (ev,) = watched.wait_for(files(lambda e: e["actor"]["process"]["pid"] == pid and e["activity_name"] == "Read"
                                       and e["file"].get("uid") == ino), what=what)
        assert ev["file"]["path"] == str(target), what
        assert ev["unmapped"]["path_source"] == "file" and ev["status_id"] == 1
    (ln,) = watched.wait_for(files(lambda e: e["unmapped"]["operation"] == "symlink"))
    assert ln["file"]["path"] == str(w / "link") and ln["file_result"]["path"] == str(target)


def test_rename_unlink_mkdir_chmod_chown_truncate(watched):
    w = watched.watched
    a = w / "a.conf"
    a.write_text("1")
    os.rename(a, w / "b.conf")
    os.chmod(w / "b.conf", 0o600)
    os.chown(w / "b.conf", 0, 0)
    os.truncate(w / "b.conf", 0)
    os.mkdir(w / "newdir")
    os.unlink(w / "b.conf")
    (c,) = watched.wait_for(files(lambda e: e["activity_name"] == "Create" and at(a)(e)))
    assert c["unmapped"]["access"] == "write"
    (r,) = watched.wait_for(files(lambda e: e["activity_name"] == "Rename"))
    assert r["file"]["path"] == str(a) and r["file_result"]["path"] == str(w / "b.conf")
    (m,) = watched.wait_for(files(lambda e: e["unmapped"]["operation"] == "chmod"))
    assert m["activity_name"] == "Set Security" and m["unmapped"]["mode_requested"] == "0600"
    watched.wait_for(files(lambda e: e["unmapped"]["operation"] == "chown" and e["unmapped"]["uid_requested"] == 0))
    watched.wait_for(files(lambda e: e["unmapped"]["operation"] == "truncate" and e["activity_name"] == "Update"))
    (k,) = watched.wait_for(files(lambda e: e["unmapped"]["operation"] == "mkdir"))
    assert k["file"]["path"] == str(w / "newdir") and k["file"]["type_id"] == 2
    (u,) = watched.wait_for(files(lambda e: e["activity_name"] == "Delete"))
    assert u["file"]["path"] == str(w / "b.conf") and u["status"] == "Success"


def test_denied_read_by_unprivileged_user_is_recorded(watched):
    secret = watched.watched / "secret"
    secret.write_text("s")
    os.chmod(secret, 0o600)
    os.chmod(watched.watched, 0o755)
    os.chmod(watched.tmp, 0o755)
    os.chmod(os.path.dirname(watched.tmp), 0o755)
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "cat", str(secret)],
                       capture_output=True)
    assert r.returncode != 0 and b"Permission denied" in r.stderr
    (ev,) = watched.wait_for(files(lambda e: at(secret)(e) and e["status_id"] == 2))
    assert ev["status_detail"] == "EACCES" and ev["status_code"] == "13" and ev["severity_id"] == 3
    assert ev["actor"]["process"]["user"]["uid"] == "65534"


def test_tmpfs_mount_and_hostile_names(watched):
    mnt = watched.watched / "mnt"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(mnt)], check=True)
    try:
        (mnt / "on-tmpfs").write_text("t")
        watched.wait_for(files(at(mnt / "on-tmpfs")))
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
    hostile = os.fsencode(watched.watched) + b'/new\nline "quote" bad\xff\xfe'
    with open(hostile, "wb") as f:
        f.write(b"h")
    (ev,) = watched.wait_for(files(lambda e: "line" in e["file"]["path"]))
    assert ev["file"]["path"] == os.fsdecode(hostile).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    assert bytes.fromhex(ev["unmapped"]["path_hex"]) == hostile


def test_path_of_4000_bytes(watched):
    d = os.fsencode(watched.watched)
    while len(d) < 3900:
        d += b"/" + b"d" * 90
    os.makedirs(d)
    leaf = d + b"/deep-file"
    with open(leaf, "w") as f:
        f.write("x")
    assert len(leaf) > 3900
    (ev,) = watched.wait_for(files(lambda e: e["file"]["path"].endswith("/deep-file")))
    assert ev["file"]["path"] == os.fsdecode(leaf)
    assert "path_truncated" not in ev["unmapped"]


def test_outside_watch_set_produces_nothing(watched, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    for i in range(50):
        (outside / f"f{i}").write_text("x")
        (outside / f"f{i}").read_text()
        os.unlink(outside / f"f{i}")
    marker = watched.watched / "marker"
    marker.write_text("m")
    watched.wait_for(files(at(marker)))  # by now anything about `outside` would have arrived
    assert not [e for e in watched.read_events() if e.get("class_uid") == 1001 and str(outside) in e["file"]["path"]]
    st = watched.cli_json("status")
    assert st["files"]["enabled"] and st["files"]["filtered_in_user_space"] == 0


def test_ten_thousand_rereads_are_one_event_with_count(watched):
    f = watched.watched / "config.ini"
    f.write_text("k=v\n")
    t0 = time.time()
    for _ in range(10000):
        with open(f) as fh:
            fh.read()
    assert time.time() - t0 < 1.0, "the loop must fit in the 1 s window for this test to mean anything"
    (ev,) = watched.wait_for(files(lambda e: at(f)(e) and e["activity_name"] == "Read"), timeout=10)
    assert ev["count"] == 10000
    time.sleep(1.5)
    assert len([e for e in watched.read_events() if files(lambda e: at(f)(e) and e["activity_name"] == "Read")(e)]) == 1


def test_failed_open_with_dotdot_is_folded(watched, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    sneaky = str(other) + "/../watched/missing"
    with pytest.raises(FileNotFoundError):
        open(sneaky)
    (ev,) = watched.wait_for(files(lambda e: e["file"]["path"] == str(watched.watched / "missing")))
    assert ev["status_detail"] == "ENOENT" and ev["unmapped"]["path_as_given"] == sneaky


def test_dot_components_are_found_at_every_offset(watched):
    """The kernel looks for "." and ".." components a word (8 bytes) at a time: each name is tried with its
    dots at 9 offsets, across word boundaries. A dotted component is folded in user space (path_as_given
    says so); a name that only starts with a dot (".git", "..x") is not a dot component and is sent as
    given."""
    w = str(watched.watched)
    folded, as_given = {}, []
    for k in range(9):
        pad = "p" * k
        folded[f"{w}/{pad}x/../missing-{k}-a"] = f"{w}/missing-{k}-a"
        folded[f"{w}/{pad}x/./missing-{k}-b"] = f"{w}/{pad}x/missing-{k}-b"
        folded[f"{w}/{pad}x/y/.."] = f"{w}/{pad}x"
        as_given += [f"{w}/{pad}x/.git/missing-{k}", f"{w}/{pad}x/..x/missing-{k}", f"{w}/{pad}x/.../missing-{k}",
                     f"{w}/{pad}x./missing-{k}"]
    for name in list(folded) + as_given:
        with pytest.raises(FileNotFoundError):
            open(name)
    for given, path in folded.items():
        (ev,) = watched.wait_for(files(lambda e: e["unmapped"].get("path_as_given") == given), what=given)
        assert ev["file"]["path"] == path and ev["status_detail"] == "ENOENT", given
    for name in as_given:
        (ev,) = watched.wait_for(files(at(name)), what=name)
        assert "path_as_given" not in ev["unmapped"], name


def test_files_cli(watched):
    f = watched.watched / "cli-target"
    f.write_text("x")
    watched.wait_for(files(at(f)))
    out = watched.cli("files", "--path", str(watched.watched)).stdout.decode()
    assert "cli-target" in out and "Create" in out
    none = watched.cli("files", "--path", "/nonexistent-prefix").stdout.decode().splitlines()
    assert len(none) == 1  # the header only
    js = watched.cli("files", "--json", "--path", str(f)).stdout.decode().splitlines()
    assert js and all('"class_uid":1001' in line for line in js)


def test_ignored_executable_is_not_reported(daemon_factory, tmp_path):
    w = tmp_path / "watched"
    w.mkdir()
    quiet = tmp_path / "quiet-cat"
    shutil.copy("/bin/cat", quiet)
    d = daemon_factory(f"files:\n  watch:\n    - {w}\n  ignore:\n    - exe: {quiet}\n")
    (w / "f").write_text("x")
    q = subprocess.Popen([quiet, str(w / "f")], stdout=subprocess.DEVNULL)
    q.wait()
    c = subprocess.Popen(["/bin/cat", str(w / "f")], stdout=subprocess.DEVNULL)
    c.wait()
    d.wait_for(files(lambda e: e["actor"]["process"]["pid"] == c.pid and at(w / "f")(e)))
    assert not [e for e in d.read_events() if files(lambda e: e["actor"]["process"]["pid"] == q.pid)(e)]
    # the actor carries its ancestry, as process events do
    (ev,) = d.wait_for(files(lambda e: e["actor"]["process"]["pid"] == c.pid and at(w / "f")(e)))
    assert ev["actor"]["process"]["parent_process"]["pid"] == os.getpid()
    assert ev["actor"]["process"]["ancestry"][0]["pid"] == os.getpid()


def test_process_gone_before_its_window_closes_is_still_named(daemon_factory, tmp_path):
    """A read is held for its aggregation window, longer here than the 5 s an exited process stays in
    the live model: the event still names the reader, its parent and its ancestry."""
    w = tmp_path / "watched"
    w.mkdir()
    d = daemon_factory(f"files:\n  aggregate_window_ms: 7000\n  watch:\n    - {w}\n")
    (w / "f").write_text("x")
    c = subprocess.Popen(["/bin/cat", str(w / "f")], stdout=subprocess.DEVNULL)
    c.wait()
    (ev,) = d.wait_for(files(lambda e: e["actor"]["process"]["pid"] == c.pid and at(w / "f")(e)), timeout=20)
    assert ev["actor"]["process"]["file"]["path"] == "/usr/bin/cat"
    assert ev["actor"]["process"]["parent_process"]["pid"] == os.getpid()
    assert ev["actor"]["process"]["ancestry"][0]["pid"] == os.getpid()


def test_wildcard_covers_directories_made_after_start(daemon_factory, tmp_path):
    homes = tmp_path / "home"
    (homes / "alice").mkdir(parents=True)
    d = daemon_factory(f"files:\n  aggregate_window_ms: 500\n  watch:\n    - {homes}/*/.ssh\n")
    ssh = homes / "newcomer" / ".ssh"  # a user added while the daemon runs
    ssh.mkdir(parents=True)
    py(f"open({str(ssh / 'authorized_keys')!r}, 'w').write('ssh-ed25519 AAAA')")
    (homes / "alice" / ".sshx").mkdir()
    py(f"open({str(homes / 'alice' / '.sshx' / 'k')!r}, 'w').write('x')")  # not the .ssh component
    py(f"open({str(homes / 'alice' / 'notes')!r}, 'w').write('x')")
    (ev,) = d.wait_for(files(at(ssh / "authorized_keys")))
    assert ev["activity_name"] == "Create"
    time.sleep(1.5)
    paths = {e["file"]["path"] for e in d.read_events() if e.get("class_uid") == 1001}
    assert not any(".sshx" in p or p.endswith("/notes") for p in paths), paths


def test_other_mount_namespace_reports_the_host_path(daemon_factory, tmp_path):
    host_dir = tmp_path / "host"
    host_dir.mkdir()
    view = tmp_path / "view"  # where the other namespace sees host_dir; empty on the host
    view.mkdir()
    d = daemon_factory(f"files:\n  aggregate_window_ms: 300\n  watch:\n    - {view}\n")
    subprocess.run(["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                    f"mount --bind {host_dir} {view} && echo x > {view}/f && sleep 1.5"], check=True)
    assert (host_dir / "f").exists() and not (view / "f").exists()
    (ev,) = d.wait_for(files(lambda e: e["activity_name"] == "Create" and e["file"]["path"] == str(host_dir / "f")))
    assert ev["unmapped"]["namespace_path"] == str(view / "f")
    assert ev["unmapped"]["host_view"] is True
    assert ev["unmapped"]["other_mount_namespace"] is True
    assert ev["unmapped"]["mnt_ns"] != os.stat("/proc/self/ns/mnt").st_ino


def churn(w, names, reps=1):
    """In one process: create, close and delete each name (reps times over), one after another; ext4 then
    hands every new file the inode the last one freed. Prints how many distinct inodes it saw."""
    code = (f"import os\ninos = set()\nfor _ in range({reps}):\n    for n in {names!r}:\n"
            f"        p = os.path.join({str(w)!r}, n)\n"
            "        fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o600)\n        inos.add(os.fstat(fd).st_ino)\n"
            "        os.close(fd)\n        os.unlink(p)\nprint(len(inos))\n")
    r = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return int(r.stdout)


def test_distinct_files_on_a_reused_inode_keep_their_names(watched):
    w = watched.watched
    names = [f"f{i}" for i in range(2000)]
    inodes = churn(w, names)
    assert inodes < len(names) / 2, "the filesystem did not reuse inodes: this test would prove nothing"
    for activity in ("Create", "Delete"):
        evs = watched.wait_for(files(lambda e: e["activity_name"] == activity and e["file"]["path"].startswith(
            f"{w}/f")), count=len(names), timeout=20, what=f"{len(names)} x {activity}")
        assert sorted(e["file"]["path"] for e in evs) == sorted(f"{w}/{n}" for n in names), activity
        assert all(e.get("count", 1) == 1 for e in evs), activity


def test_repeated_deletes_of_one_name_are_one_event_with_count(watched):
    w = watched.watched
    churn(w, ["app.lock"], reps=2000)
    deletes = lambda e: e["activity_name"] == "Delete" and at(w / "app.lock")(e)
    watched.wait_for(files(deletes), timeout=10, what="Delete")
    deadline = time.time() + 10
    while sum(e.get("count", 1) for e in watched.read_events() if files(deletes)(e)) < 2000:
        assert time.time() < deadline, "the aggregated Deletes do not add up to 2000"
        time.sleep(0.1)
    evs = [e for e in watched.read_events() if files(deletes)(e)]
    assert sum(e.get("count", 1) for e in evs) == 2000
    assert len(evs) <= 5  # one per 1 s window (the loop takes well under a second here)
