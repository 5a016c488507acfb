# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""The daemon's control socket for the benchmark scripts: one request, the whole reply read."""
import json
import socket
import time


def request(sock, req):
    """Seconds for the whole reply, and its lines."""
    t0 = time.monotonic()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    s.sendall(json.dumps(req).encode() + b"\n")
    chunks = []
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        chunks.append(b)
    s.close()
    return time.monotonic() - t0, b"".join(chunks).splitlines()
