# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Many connections or processes at once, for the scale tests and bench/scale.py.

The open-file hard limit here is 20,000 and root may lack CAP_SYS_RESOURCE, so connections are held in
several worker processes (each end of a connection is one descriptor).

conns N          N loopback TCP connections to one listener, held by workers. Prints {"port", "listener", "workers": [pids], "n"} once all are established; then a
                 line "close" on stdin closes them all at once (a burst) and prints {"closed": N}; EOF
                 ends everything.
forkconns N      N processes forked as fast as bash can, each connecting at once to a listener here (its
                 fork record and its connection race through different ring buffers); prints {"port",
                 "children": [pids]} once all are forked; EOF ends them.
procs N LEN      N sleeping processes whose command line is LEN bytes; prints {"pids": [...]}; EOF ends them.
"""
import json
import os
import resource
import signal
import socket
import subprocess
import sys

PER_WORKER = 4000  # connections per worker: 8,000 descriptors, well under the 20,000 limit


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def worker(srv, port, n, ready_w, cmd_r, done_w, index):
    """Makes n connections, reports, waits for 'close', closes all. Each worker connects from its own
    loopback address: one address has only ~28,000 ephemeral ports."""
    held = []
    for _ in range(n):
        c = socket.create_connection(("127.0.0.1", port), source_address=(f"127.0.{index // 250}.{2 + index % 250}", 0))
        s, _ = srv.accept()
        held.append((c, s))
    srv.close()
    os.write(ready_w, b"%d\n" % os.getpid())
    if os.read(cmd_r, 1) == b"c":
        for c, s in held:
            c.close()
            s.close()
        os.write(done_w, b"d")
    os._exit(0)


def listener():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4096)
    return srv, srv.getsockname()[1]


def conns(n):
    raise_nofile()
    srv, port = listener()
    ready_r, ready_w = os.pipe()
    cmd_r, cmd_w = os.pipe()
    done_r, done_w = os.pipe()
    workers, left = [], n
    while left > 0:
        k = min(PER_WORKER, left)
        left -= k
        pid = os.fork()
        if pid == 0:
            os.close(cmd_w)
            worker(srv, port, k, ready_w, cmd_r, done_w, len(workers))
        workers.append(pid)
    os.close(cmd_r)
    holders = []
    with os.fdopen(ready_r) as ready:
        for _ in workers:
            holders.append(int(ready.readline()))
    print(json.dumps({"port": port, "listener": os.getpid(), "workers": holders, "n": n}), flush=True)
    for line in sys.stdin:
        if line.strip() == "close":
            os.write(cmd_w, b"c" * len(workers))
            for _ in workers:
                os.read(done_r, 1)
            print(json.dumps({"closed": n}), flush=True)
    os.close(cmd_w)
    for pid in workers:
        os.waitpid(pid, 0)


def forkconns(n):
    """bash forks the children as fast as it can (Python forks too slowly to race the daemon's drains)."""
    raise_nofile()
    srv, port = listener()
    script = (
        f"for i in $(seq {n}); do (exec 3<>/dev/tcp/127.0.0.1/{port} && read -r _) & echo $!; done; "
        "echo done; wait"
    )
    sh = subprocess.Popen(["/bin/bash", "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    children = []
    for line in sh.stdout:
        if line.strip() == "done":
            break
        children.append(int(line))
    print(json.dumps({"port": port, "children": children}), flush=True)
    sys.stdin.read()
    sh.stdin.close()  # the children read their stdin: EOF ends them
    sh.wait()
    srv.close()


def procs(n, length):
    """sh waiting on a pipe nobody writes to, its command line padded to length bytes by $1."""
    arg = "x" * max(1, length - len("/bin/sh -c read x sh "))
    hold_r, hold_w = os.pipe()
    actions = [(os.POSIX_SPAWN_DUP2, hold_r, 0)]
    pids = []
    for _ in range(n):
        pids.append(os.posix_spawn("/bin/sh", ["/bin/sh", "-c", "read x", "sh", arg], os.environ, file_actions=actions))
    print(json.dumps({"pids": pids}), flush=True)
    sys.stdin.read()
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    for pid in pids:
        os.waitpid(pid, 0)


if __name__ == "__main__":
    if sys.argv[1] == "conns":
        conns(int(sys.argv[2]))
    elif sys.argv[1] == "forkconns":
        forkconns(int(sys.argv[2]))
    elif sys.argv[1] == "procs":
        procs(int(sys.argv[2]), int(sys.argv[3]))
    else:
        raise SystemExit(__doc__)
