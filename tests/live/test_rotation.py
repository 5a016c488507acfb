# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""File output rotation by size: N kept, gzip-compressed, not one event lost or split between files."""
import gzip
import json
import os
import subprocess
import time


def all_events(path, keep):
    """Events of the kept rotated files (oldest first) and the current file, in order."""
    lines = []
    for i in range(keep, 0, -1):
        for name, opener in ((f"{path}.{i}.gz", gzip.open), (f"{path}.{i}", open)):
            if os.path.exists(name):
                with opener(name, "rb") as f:
                    lines += f.read().splitlines()
    with open(path, "rb") as f:
        lines += f.read().splitlines()
    return [json.loads(raw.decode("utf-8")) for raw in lines]  # strict: a split line would fail here


def test_rotation_by_size_keeps_n_gzipped_files_and_loses_nothing(daemon_factory, tmp_path):
    d = daemon_factory(output_extra="    max_size_kb: 64\n    keep: 2\n")
    marker = f"rot-{os.getpid()}"
    subprocess.run(["/bin/sh", "-c", f"for i in $(seq 400); do /bin/true {marker}-$i; done"], check=True)
    last = [f"/bin/true", f"{marker}-400"]
    deadline = time.time() + 20
    while True:
        evs = all_events(d.events_path, 2)
        if any(e.get("unmapped", {}).get("args") == last for e in evs) and not os.path.exists(d.events_path + ".1"):
            break  # the last event is written and no compression is still running
        assert time.time() < deadline, "the last launch never appeared"
        time.sleep(0.2)

    assert os.path.exists(d.events_path + ".1.gz") and os.path.exists(d.events_path + ".2.gz")
    assert not os.path.exists(d.events_path + ".3.gz"), "only `keep` rotated files are kept"
    for i in (1, 2):
        assert os.stat(f"{d.events_path}.{i}.gz").st_mode & 0o777 == 0o640
        with gzip.open(f"{d.events_path}.{i}.gz", "rb") as f:  # whole, valid gzip
            raw = f.read()
        assert raw.endswith(b"\n") and 48 * 1024 < len(raw) < 64 * 1024 + 300 * 1024
    # what is kept is one unbroken run: sequence numbers step by one across the files
    seqs = [e["metadata"]["sequence"] for e in evs]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    st = d.cli_json("status")
    assert st["outputs"][0]["rotations"] >= 4 and st["outputs"][0]["lost"] == 0
