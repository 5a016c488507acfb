# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Live-test fixtures: a real kansokud with the real BPF programs, on a private config and temp dir."""
import json
import os
import signal
import subprocess
import time
import uuid

import pytest

from conformance import COLLECTOR, STRICT

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("KS_BUILD", os.path.join(ROOT, "build"))
KANSOKUD = os.path.join(BUILD, "kansokud")
KANSOKU = os.path.join(BUILD, "kansoku")
HELPERS = os.path.join(BUILD, "tests")


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="live tests load BPF programs and need root: run ./tests/run.sh as root (or with sudo)")
        for item in items:
            if "needs_no_root" not in item.keywords:
                item.add_marker(skip)


class Daemon:
    def __init__(self, tmp, extra="", output_extra="", wrap=()):
        self.tmp = tmp
        self.wrap = list(wrap)  # a command prefix, e.g. a private mount namespace (test_device.py)
        self.events_path = os.path.join(tmp, "events.json")
        self.socket = os.path.join(tmp, "ctl.sock")
        self.config = os.path.join(tmp, "kansoku.yaml")
        self.log_path = os.path.join(tmp, "kansokud.log")
        with open(self.config, "w") as f:
            f.write(
                f"state_dir: {tmp}/state\n"
                f"socket: {self.socket}\n"
                + ("" if "ringbuf:" in extra else "ringbuf:\n  poll_ms: 20\n")
                + f"{extra}"
                "outputs:\n"
                f"  - type: file\n    path: {self.events_path}\n"
                + output_extra
            )
        self.proc = None
        self._file, self._pending = None, b""
        self.seen = []

    def start(self):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([*self.wrap, KANSOKUD, "--config", self.config], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"kansokud exited with {self.proc.returncode}: {self.read_log()}")
            if os.path.exists(self.socket) and self.cli("status", check=False).returncode == 0:
                return self
            time.sleep(0.05)
        raise AssertionError(f"kansokud did not come up: {self.read_log()}")

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("kansokud did not stop within 15 s of SIGTERM")
        self.log.close()
        return self.proc.returncode

    def cli(self, *args, check=True):
        r = subprocess.run([KANSOKU, "--socket", self.socket, *args], capture_output=True, timeout=30)
        if check and r.returncode != 0:
            raise AssertionError(f"kansoku {' '.join(args)} failed: {r.stderr.decode(errors='replace')}")
        return r

    def cli_json(self, *args):
        return json.loads(self.cli(*args, "--json").stdout)

    def _read_new(self):
        """The bytes written since the last call. The file output rotates at max_size_kb, which the whole
        host's activity (other tests, benchmarks) can reach within a test: the open file is read to its
        end before following the path to the new one, so no event is lost and no line read from its
        middle."""
        data = b""
        while True:
            if self._file is None:
                try:
                    self._file = open(self.events_path, "rb")
                except FileNotFoundError:
                    return data
            data += self._file.read()
            try:
                same = os.stat(self.events_path).st_ino == os.fstat(self._file.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return data
            data += self._file.read()  # rotated: what was written before the rename, then the new file
            self._file.close()
            self._file = None

    def read_events(self):
        """All events so far; every line must be one valid JSON object."""
        data = self._pending + self._read_new()
        cut = data.rfind(b"\n") + 1
        self._pending = data[cut:]
        for raw in data[:cut].splitlines():
            ev = json.loads(raw.decode("utf-8"))  # strict: raises on invalid UTF-8 or broken JSON
            assert isinstance(ev, dict)
            COLLECTOR.check(ev)
            self.seen.append(ev)
        return self.seen

    def wait_for(self, pred, timeout=10, count=1, what="event"):
        deadline = time.time() + timeout
        while True:
            hits = [e for e in self.read_events() if pred(e)]
            if len(hits) >= count:
                return hits
            if time.time() > deadline:
                raise AssertionError(f"timed out waiting for {count} x {what}; saw {len(hits)}")
            time.sleep(0.05)


@pytest.fixture
def daemon_factory(tmp_path):
    started = []

    def make(extra="", start=True, output_extra="", wrap=()):
        d = Daemon(str(tmp_path), extra, output_extra, wrap)
        started.append(d)
        return d.start() if start else d

    yield make
    for d in started:
        if d.proc and d.proc.poll() is None:
            assert d.stop() == 0, "kansokud must exit 0 on SIGTERM"
        try:
            d.read_events()  # the rest (Stop...) goes through the validator too
        except (OSError, ValueError):
            pass  # no file, or a rotated one read from the old offset: the test itself checks the file


@pytest.fixture(autouse=True)
def conformance():
    """Fails the test when an event its daemon wrote (or a receiver got) is not valid OCSF/ECS."""
    COLLECTOR.take()
    yield
    bad = COLLECTOR.take()
    if STRICT and bad:
        more = f"\n... and {len(bad) - 5} more" if len(bad) > 5 else ""
        pytest.fail(f"{len(bad)} event(s) fail OCSF/ECS validation (tests/ocsf_validate.py):\n"
                    + "\n".join(bad[:5]) + more, pytrace=False)


def pytest_terminal_summary(terminalreporter):
    n, text = COLLECTOR.summary()
    if COLLECTOR.seen:
        terminalreporter.section(f"OCSF/ECS conformance: {n} error(s)")
        terminalreporter.write_line(text)


@pytest.fixture
def daemon(daemon_factory):
    return daemon_factory()


def launches(d, pred=lambda e: True):
    return lambda e: e.get("class_uid") == 1007 and e.get("activity_id") == 1 and pred(e)


def terminates(pred=lambda e: True):
    return lambda e: e.get("class_uid") == 1007 and e.get("activity_id") == 2 and pred(e)


@pytest.fixture
def netns():
    """A named network namespace (ip netns) with loopback up, deleted after the test."""
    name = f"ks-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)
