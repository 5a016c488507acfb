# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Load for the posture live tests, in processes of their own.

hold LISTENERS CONNS   LISTENERS sockets listening on 127.0.0.1 and CONNS established loopback connections
                       (both ends held here); prints "ready", holds until stdin closes.
listen-storm COUNT     COUNT times: listen on 0.0.0.0 (a port outside the allow-list) and close at once;
                       prints {"listens": COUNT, "seconds": S}.
"""
import json
import resource
import socket
import sys
import time


def hold(listeners, conns):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    held = []
    for _ in range(listeners):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(128)
        held.append(s)
    for i in range(conns):
        srv = held[i % listeners]
        c = socket.create_connection(srv.getsockname())
        a, _ = srv.accept()
        held += [c, a]
    print("ready", flush=True)
    sys.stdin.read()


def listen_storm(count):
    t0 = time.time()
    for _ in range(count):
        s = socket.socket()
        s.bind(("0.0.0.0", 0))
        s.listen(1)
        s.close()
    print(json.dumps({"listens": count, "seconds": time.time() - t0}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "hold":
        hold(int(sys.argv[2]), int(sys.argv[3]))
    elif sys.argv[1] == "listen-storm":
        listen_storm(int(sys.argv[2]))
    else:
        raise SystemExit(__doc__)
