# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Network workloads for the live tests, each in processes of its own so attribution can be checked.

tcp FAMILY N M   listener in this process, accept in a forked child, connect from another child that sends
                 N bytes and reads M; prints {"listener", "acceptor", "client", "port"} as JSON.
refused          connect to a port nothing listens on; prints {"client", "port", "errno"}.
listen SECONDS   listen on 127.0.0.1 (random port), print {"pid", "port"}, hold for SECONDS (or until stdin closes).
dns NAME HOST    send one AAAA query for NAME to HOST:53 and wait for the answer; prints {"pid"}.
"""
import json
import os
import socket
import struct
import sys


def recv_exact(s, n):
    got = 0
    while got < n:
        chunk = s.recv(min(65536, n - got))
        if not chunk:
            raise SystemExit(f"peer closed after {got} of {n} bytes")
        got += len(chunk)


def tcp(family, n, m):
    fam, host = (socket.AF_INET6, "::1") if family == "6" else (socket.AF_INET, "127.0.0.1")
    srv = socket.socket(fam, socket.SOCK_STREAM)
    srv.bind((host, 0))
    srv.listen(8)
    port = srv.getsockname()[1]
    r, w = os.pipe()
    acceptor = os.fork()
    if acceptor == 0:
        os.close(r)
        conn, _ = srv.accept()
        os.write(w, b"a")
        recv_exact(conn, n)
        conn.sendall(b"y" * m)
        conn.recv(1)  # the client's FIN: a clean close on both sides
        conn.close()
        os._exit(0)
    client = os.fork()
    if client == 0:
        c = socket.socket(fam, socket.SOCK_STREAM)
        c.connect((host, port))
        c.sendall(b"x" * n)
        recv_exact(c, m)
        c.close()
        os._exit(0)
    os.close(w)
    os.read(r, 1)
    for pid in (client, acceptor):
        _, status = os.waitpid(pid, 0)
        assert status == 0, f"child {pid} failed: {status}"
    srv.close()
    print(json.dumps({"listener": os.getpid(), "acceptor": acceptor, "client": client, "port": port}))


def refused():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # bound, never listening: nothing answers on it
    c = socket.socket()
    err = c.connect_ex(("127.0.0.1", port))
    print(json.dumps({"client": os.getpid(), "port": port, "errno": err}))


def listen(seconds):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    print(json.dumps({"pid": os.getpid(), "port": s.getsockname()[1]}), flush=True)
    sys.stdin.read() if seconds == "stdin" else __import__("time").sleep(float(seconds))
    s.close()


def dns(name, host):
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    q = struct.pack(">HHHHHH", 0x4b53, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack(">HH", 28, 1)
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.settimeout(5)
    c.sendto(q, (host, 53))
    c.recv(512)
    print(json.dumps({"pid": os.getpid()}))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "tcp":
        tcp(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "refused":
        refused()
    elif cmd == "listen":
        listen(sys.argv[2])
    elif cmd == "dns":
        dns(sys.argv[2], sys.argv[3])
