# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The ring buffers' reader (user/sensors/rings.c): each ring mapped once, and records that wrap past the
end of a ring's data area read whole."""
import os
import subprocess

PAGE = os.sysconf("SC_PAGE_SIZE")
RING_MIN = 64 << 10  # the smallest ring the configuration allows; the other BPF maps mmapped are smaller


def ring_mappings(pid):
    """(size, Rss, permissions) in bytes of each BPF map mapping of at least RING_MIN in /proc/PID/smaps."""
    out, cur = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and not head[0].endswith(":"):
                lo, hi = (int(x, 16) for x in head[0].split("-"))
                name = head[5] if len(head) > 5 else ""
                cur = [hi - lo, 0, head[1]] if name == "anon_inode:bpf-map" and hi - lo >= RING_MIN else None
                if cur:
                    out.append(cur)
            elif head[0] == "Rss:" and cur:
                cur[1] = int(head[1]) * 1024
    return out


def test_each_ring_is_mapped_once(daemon_factory):
    # three sizes, so each ring is recognised by its own: 1, 2 and 4 MiB
    d = daemon_factory(
        "ringbuf:\n  process_kb: 1024\n  poll_ms: 20\nfiles:\n  ringbuf_kb: 2048\nnetwork:\n  ringbuf_kb: 4096\n"
    )
    maps = ring_mappings(d.proc.pid)
    # the producer page and the data area, once, read-only (libbpf mapped the data twice: 2 x size + page)
    assert sorted(m[0] for m in maps) == [(1 << 20) + PAGE, (2 << 20) + PAGE, (4 << 20) + PAGE], maps
    assert all(m[2] == "r--s" for m in maps), maps
    # the kernel inserts every page at mmap time: all of it counts, once
    rss = sum(m[1] for m in maps)
    assert rss <= (7 << 20) + 3 * PAGE, maps
    # and the rings are read through these mappings: an exec shows up
    p = subprocess.run(["/bin/true", "mapped-once"])
    d.wait_for(lambda e: e.get("activity_name") == "Launch" and e["unmapped"].get("args") == ["/bin/true", "mapped-once"],
               what="Launch")
    assert p.returncode == 0


def test_exec_storm_through_a_64k_ring_wraps_and_loses_nothing(daemon_factory):
    # 64 KiB holds ~100 execs; 3,000 with arguments of every length from 0 to 96 bytes wrap the ring dozens
    # of times, records straddling its end at every offset. The daemon is woken every 8 KiB.
    n = 3000
    d = daemon_factory("ringbuf:\n  process_kb: 64\n  poll_ms: 20\n  wakeup_bytes: 8192\n")
    mark = f"ringstorm{os.getpid()}"
    script = f"for i in $(seq {n}); do printf -v p '%*s' $((i % 97)) ''; /bin/true {mark}-$i-${{p// /x}}; done"
    subprocess.run(["/bin/bash", "-c", script], check=True)

    def storm(e):
        args = e.get("unmapped", {}).get("args") or []
        return e.get("activity_name") == "Launch" and len(args) == 2 and args[1].startswith(mark + "-")

    hits = d.wait_for(storm, timeout=60, count=n, what="Launch of the storm")
    got = sorted(int(e["unmapped"]["args"][1].split("-")[1]) for e in hits)
    assert got == list(range(1, n + 1)), "an exec missing or recorded twice"
    for e in hits:  # each record whole: the argument that was copied from both ends of the ring is intact
        i = int(e["unmapped"]["args"][1].split("-")[1])
        assert e["unmapped"]["args"] == ["/bin/true", f"{mark}-{i}-" + "x" * (i % 97)]
        assert e["process"]["file"]["path"] == "/usr/bin/true"
    st = d.cli_json("status")
    assert st["ring_records_wrapped"] > 0
    assert st["events"]["exec"]["dropped"] == 0 and st["events"]["fork"]["dropped"] == 0
