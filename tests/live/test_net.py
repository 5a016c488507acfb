# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Network observation, end to end: real sockets on loopback and in a network namespace, real BPF."""
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest

HELPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "net_helper.py")


def helper(*args, netns=None):
    cmd = ["/usr/bin/python3", HELPER, *map(str, args)]
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    r = subprocess.run(cmd, capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return json.loads(r.stdout)


def net(activity, pred=lambda e: True):
    return lambda e: e.get("class_uid") == 4001 and e.get("activity_name") == activity and pred(e)


def port_is(port, side):
    return lambda e: (e.get(side) or {}).get("port") == port


def actor_pid(e):
    return e["actor"]["process"]["pid"]


# Every connection its own Open and its own Close (short-lived connections are folded by default): for the
# tests of what an Open says, whatever the connection's length.
UNFOLDED = "network:\n  short_lived_ms: 0\n"


@pytest.fixture
def daemon_unfolded(daemon_factory):
    return daemon_factory(UNFOLDED)


@pytest.mark.parametrize("family,host", [("4", "127.0.0.1"), ("6", "::1")])
def test_tcp_connect_accept_close_with_processes_and_exact_bytes(daemon_unfolded, family, host):
    daemon = daemon_unfolded
    n, m = 123457, 54321
    r = helper("tcp", family, n, m)
    port = r["port"]
    to_srv = port_is(port, "dst_endpoint")

    listen = daemon.wait_for(net("Listen", port_is(port, "dst_endpoint")), what="Listen")[0]
    assert actor_pid(listen) == r["listener"]
    assert listen["dst_endpoint"]["ip"] == host

    opens = daemon.wait_for(net("Open", to_srv), count=2, what="two Opens")
    out = [e for e in opens if e["connection_info"]["direction_id"] == 2]
    inn = [e for e in opens if e["connection_info"]["direction_id"] == 1]
    assert len(out) == 1 and len(inn) == 1
    assert actor_pid(out[0]) == r["client"]
    # inbound: the process that accepted it, and the one that owns the listening socket
    assert actor_pid(inn[0]) == r["acceptor"]
    assert inn[0]["unmapped"]["listener_process"]["pid"] == r["listener"]
    assert inn[0]["unmapped"]["accepted"] is True
    for e in opens:
        assert e["src_endpoint"]["ip"] == host and e["dst_endpoint"]["ip"] == host
        assert e["connection_info"]["protocol_name"] == "tcp"
        assert e["connection_info"]["protocol_ver_id"] == int(family)
    assert out[0]["src_endpoint"]["port"] == inn[0]["src_endpoint"]["port"] != 0
    assert out[0]["unmapped"]["connect_us"] > 0  # the handshake's duration, from connect() to established

    conn_close = lambda e: to_srv(e) and not e["unmapped"].get("listener")
    closes = daemon.wait_for(net("Close", conn_close), count=2, what="two Closes")
    by_pid = {actor_pid(e): e for e in closes}
    assert set(by_pid) == {r["client"], r["acceptor"]}
    # exact application bytes from the kernel's own counters (SYN and FIN taken out)
    assert by_pid[r["client"]]["traffic"]["bytes_out"] == n
    assert by_pid[r["client"]]["traffic"]["bytes_in"] == m
    assert by_pid[r["acceptor"]]["traffic"]["bytes_in"] == n
    assert by_pid[r["acceptor"]]["traffic"]["bytes_out"] == m
    for e in closes:
        assert e["duration"] >= 0 and e["start_time"] <= e["end_time"]
        assert e["connection_info"]["uid"] in {o["connection_info"]["uid"] for o in opens}

    # the listener closed with its process: a Close of the listener, and it is gone from `ports`
    daemon.wait_for(net("Close", lambda e: e.get("unmapped", {}).get("listener") and to_srv(e)), what="unlisten")
    assert all(p["local_port"] != port for p in daemon.cli_json("ports")["ports"])


def test_ipv4_peer_of_a_dual_stack_socket_is_shown_as_ipv4(daemon_unfolded):
    daemon = daemon_unfolded
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    srv.bind(("::", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    c = subprocess.Popen(["/usr/bin/python3", "-c",
                          f"import socket; s=socket.create_connection(('127.0.0.1',{port})); s.recv(1)"])
    conn, _ = srv.accept()
    conn.close()
    c.wait(timeout=10)
    srv.close()
    opens = daemon.wait_for(net("Open", port_is(port, "dst_endpoint")), count=2, what="Opens")
    for e in opens:
        assert e["connection_info"]["protocol_ver_id"] == 4
        assert e["src_endpoint"]["ip"] == "127.0.0.1" and e["dst_endpoint"]["ip"] == "127.0.0.1"
    listen = daemon.wait_for(net("Listen", port_is(port, "dst_endpoint")), what="Listen")[0]
    assert listen["dst_endpoint"]["ip"] == "::"  # the listener itself is an IPv6 socket


def test_connect_to_closed_port_is_refused(daemon):
    r = helper("refused")
    assert r["errno"] == 111
    e = daemon.wait_for(net("Refuse", port_is(r["port"], "dst_endpoint")), what="Refuse")[0]
    assert actor_pid(e) == r["client"]
    assert e["status_detail"] == "ECONNREFUSED" and e["status_id"] == 2
    assert e["connection_info"]["direction_id"] == 2


def test_connection_uid_is_unique_across_reused_sockets(daemon):
    """The kernel reuses a closed socket's memory for the next one: each listener still has its own uid,
    shared by its Listen and its Close, and a refused connect on a reused socket another."""
    ports = []
    for _ in range(20):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        ports.append(s.getsockname()[1])
        s.close()
    r = helper("refused")
    listens = [daemon.wait_for(net("Listen", port_is(p, "dst_endpoint")), what=f"Listen {p}")[0] for p in ports]
    closes = [daemon.wait_for(net("Close", port_is(p, "dst_endpoint")), what=f"Close {p}")[0] for p in ports]
    refuse = daemon.wait_for(net("Refuse", port_is(r["port"], "dst_endpoint")), what="Refuse")[0]
    uids = [e["connection_info"]["uid"] for e in listens]
    assert len(set(uids)) == len(ports), uids
    assert [e["connection_info"]["uid"] for e in closes] == uids
    assert refuse["connection_info"]["uid"] not in uids
    for e in listens + closes:  # required by OCSF: a listener waits for inbound connections
        assert e["connection_info"]["direction_id"] == 1 and e["connection_info"]["direction"] == "Inbound"
    assert refuse["status_code"] == "111"


def test_ports_shows_listeners_whose_owner_it_cannot_see(daemon_factory):
    """A listener no process holds (its only descriptor is in flight in a Unix socket): the task iterator
    cannot find an owner, /proc/net (and ss) still list it; ports shows it, the owner unknown."""
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen()
    port = lst.getsockname()[1]
    a, b = socket.socketpair()
    socket.send_fds(a, [b"x"], [lst.fileno()])
    lst.close()  # the socket lives on, held by no process
    try:
        d = daemon_factory()
        ports = d.cli_json("ports")["ports"]
        (entry,) = [p for p in ports if p["local_port"] == port]
        assert entry["owner_unknown"] is True and entry["pid"] == 0 and "user" not in entry
        text = d.cli("ports").stdout.decode()
        (line,) = [l for l in text.splitlines() if f"127.0.0.1:{port} " in l]
        assert "(owner not visible)" in line and "root" not in line
    finally:
        a.close()
        b.close()


def test_connect_attempts_as_events_when_asked(daemon_factory):
    d = daemon_factory("network:\n  connect_events: true\n")
    r = helper("refused")
    attempt = d.wait_for(net("Connect", port_is(r["port"], "dst_endpoint")), what="Connect")[0]
    refuse = d.wait_for(net("Refuse", port_is(r["port"], "dst_endpoint")), what="Refuse")[0]
    assert attempt["activity_id"] == 99 and actor_pid(attempt) == r["client"]
    assert attempt["time"] <= refuse["time"]
    assert attempt["connection_info"]["uid"] == refuse["connection_info"]["uid"]


def test_listener_started_before_the_daemon_is_in_ports(daemon_factory):
    p = subprocess.Popen(["/usr/bin/python3", HELPER, "listen", "stdin"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    try:
        info = json.loads(p.stdout.readline())
        d = daemon_factory()
        ports = d.cli_json("ports")["ports"]
        mine = [x for x in ports if x["local_port"] == info["port"]]
        assert len(mine) == 1, ports
        assert mine[0]["pid"] == info["pid"] and mine[0]["protocol"] == "tcp"
        assert mine[0]["user"] == "root" and mine[0]["before_kansokud"] is True
        assert mine[0]["exe"].endswith(os.path.basename(os.path.realpath("/usr/bin/python3")))
        text = d.cli("ports").stdout.decode()
        assert f"127.0.0.1:{info['port']}" in text
    finally:
        p.stdin.close()
        p.wait(timeout=10)


def open_pair(nbytes):
    """A listener here, a client process that connects and sends nbytes then waits on stdin, the accepted
    socket with those bytes read: (listener, accepted socket, client process, port)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    c = subprocess.Popen(["/usr/bin/python3", "-c",
                          f"import socket,sys; s=socket.create_connection(('127.0.0.1',{port})); "
                          f"s.sendall(b'p'*{nbytes}); sys.stdin.read()"], stdin=subprocess.PIPE)
    conn, _ = srv.accept()
    got = 0
    while got < nbytes:
        got += len(conn.recv(65536))
    return srv, conn, c, port


def test_connection_made_before_the_daemon_has_direction_and_exact_bytes(daemon_factory):
    srv, conn, c, port = open_pair(500)
    try:
        d = daemon_factory()
        conns = d.cli_json("conns")["connections"]
        client = [x for x in conns if x["remote_port"] == port]
        server = [x for x in conns if x["local_port"] == port]
        assert len(client) == 1 and len(server) == 1, conns
        assert client[0]["direction"] == "outbound" and client[0]["pid"] == c.pid
        assert server[0]["direction"] == "inbound" and server[0]["pid"] == os.getpid()
        assert client[0]["before_kansokud"] is True
        assert client[0]["bytes_out"] == 500 and server[0]["bytes_in"] == 500  # no SYN counted
    finally:
        c.stdin.close()
        c.wait(timeout=10)
        conn.close()
        srv.close()


def test_listener_started_and_stopped_while_running(daemon):
    p = subprocess.Popen(["/usr/bin/python3", HELPER, "listen", "stdin"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    info = json.loads(p.stdout.readline())
    e = daemon.wait_for(net("Listen", port_is(info["port"], "dst_endpoint")), what="Listen")[0]
    assert actor_pid(e) == info["pid"]
    ports = daemon.cli_json("ports")["ports"]
    assert [x["pid"] for x in ports if x["local_port"] == info["port"]] == [info["pid"]]
    p.stdin.close()
    p.wait(timeout=10)
    daemon.wait_for(net("Close", port_is(info["port"], "dst_endpoint")), what="unlisten")
    assert all(x["local_port"] != info["port"] for x in daemon.cli_json("ports")["ports"])


def test_established_connection_is_in_conns_with_bytes(daemon):
    srv, conn, c, port = open_pair(777)
    conn.sendall(b"q" * 99)
    try:
        daemon.wait_for(net("Open", port_is(port, "dst_endpoint")), count=2, what="Opens")
        conns = daemon.cli_json("conns")["connections"]
        client = [x for x in conns if x["remote_port"] == port]
        server = [x for x in conns if x["local_port"] == port]
        assert len(client) == 1 and len(server) == 1, conns
        assert client[0]["pid"] == c.pid and client[0]["direction"] == "outbound"
        assert server[0]["pid"] == os.getpid() and server[0]["direction"] == "inbound"
        assert client[0]["bytes_out"] == 777 and server[0]["bytes_in"] == 777
        assert server[0]["bytes_out"] == 99
        assert client[0]["age_s"] >= 0 and client[0]["user"] == "root"
        assert "127.0.0.1:%d" % port in daemon.cli("conns").stdout.decode()
    finally:
        c.stdin.close()
        c.wait(timeout=10)
        conn.close()
        srv.close()


class DnsResponder:
    """A real UDP DNS responder on HOST:53 answering NXDOMAIN to every query (the test's resolver)."""

    def __init__(self, host):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 53))
        self.sock.settimeout(0.2)
        self.stop = False
        self.t = threading.Thread(target=self.run)
        self.t.start()

    def run(self):
        while not self.stop:
            try:
                q, addr = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            self.sock.sendto(q[:2] + b"\x81\x83" + q[4:], addr)

    def close(self):
        self.stop = True
        self.t.join()
        self.sock.close()


def test_dns_query_name_and_type_with_the_querying_process(daemon):
    host = "127.53.0.1"
    name = f"kansoku-{uuid.uuid4().hex[:8]}.example.invalid"
    responder = DnsResponder(host)
    try:
        r = helper("dns", name, host)
    finally:
        responder.close()
    e = daemon.wait_for(lambda e: e.get("class_uid") == 4003 and e["query"]["hostname"] == name, what="DNS")[0]
    assert e["activity_id"] == 1 and e["query"]["type"] == "AAAA"
    assert actor_pid(e) == r["pid"]
    assert e["dst_endpoint"] == {"ip": host, "port": 53}
    assert e["connection_info"]["protocol_name"] == "udp"
    # the responder's bind to port 53 is a UDP listener, and its close ends it
    daemon.wait_for(net("Listen", lambda e: e["connection_info"]["protocol_name"] == "udp"
                        and e["dst_endpoint"] == {"ip": host, "port": 53}), what="UDP listen")
    # UDP has no close hook: the daemon notices the bound socket is gone within a few seconds
    daemon.wait_for(net("Close", lambda e: e["connection_info"]["protocol_name"] == "udp"
                        and e["dst_endpoint"] == {"ip": host, "port": 53}), timeout=8, what="UDP unlisten")
    # the first datagram to a new destination is a Traffic event for the process
    daemon.wait_for(net("Traffic", lambda e: actor_pid(e) == os.getpid() and e["dst_endpoint"]["ip"] == "127.0.0.1"),
                    what="UDP flow of the responder")


def test_connection_inside_a_network_namespace(daemon_unfolded, netns):
    daemon = daemon_unfolded
    inode = os.stat(f"/run/netns/{netns}").st_ino
    host_ns = os.stat("/proc/self/ns/net").st_ino
    assert inode != host_ns
    r = helper("tcp", "4", 1000, 2000, netns=netns)
    opens = daemon.wait_for(net("Open", port_is(r["port"], "dst_endpoint")), count=2, what="Opens in the netns")
    for e in opens:
        assert e["unmapped"]["net_ns"] == inode
    closes = daemon.wait_for(net("Close", lambda e: port_is(r["port"], "dst_endpoint")(e)
                                 and not e["unmapped"].get("listener")), count=2, what="Closes")
    assert {actor_pid(e) for e in closes} == {r["client"], r["acceptor"]}
    assert all(e["unmapped"]["net_ns"] == inode for e in closes)


def test_short_connection_is_one_event_per_side_by_default(daemon):
    """The default (network.short_lived_ms: 200): a connection closed within the window is one Close per
    side carrying both times and the exact bytes, and no Open ever follows it."""
    n, m = 4321, 1234
    r = helper("tcp", "4", n, m)
    to_srv = port_is(r["port"], "dst_endpoint")
    conn_close = lambda e: to_srv(e) and not e["unmapped"].get("listener")
    closes = daemon.wait_for(net("Close", conn_close), count=2, what="two Closes")
    by_pid = {actor_pid(e): e for e in closes}
    assert set(by_pid) == {r["client"], r["acceptor"]}
    out, inn = by_pid[r["client"]], by_pid[r["acceptor"]]
    # each Close says what its Open would have: both times, exact bytes, acceptor and listener, handshake
    for e in closes:
        assert e["unmapped"]["short_lived"] is True
        assert e["start_time"] <= e["end_time"] and 0 <= e["duration"] <= 200
    assert out["traffic"]["bytes_out"] == n and out["traffic"]["bytes_in"] == m
    assert inn["traffic"]["bytes_in"] == n and inn["traffic"]["bytes_out"] == m
    assert out["unmapped"]["connect_us"] > 0 and out["connection_info"]["direction_id"] == 2
    assert inn["unmapped"]["accepted"] is True and inn["connection_info"]["direction_id"] == 1
    assert inn["unmapped"]["listener_process"]["pid"] == r["listener"]
    assert out["connection_info"]["uid"] != inn["connection_info"]["uid"]
    time.sleep(1)  # well past the window: no Open follows a folded Close
    assert not [e for e in daemon.read_events() if net("Open", to_srv)(e)]
    assert daemon.cli_json("status")["network"]["short_lived_folded"] >= 2


def test_connection_outliving_the_short_lived_window_has_its_open_in_time(daemon):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    c = socket.create_connection(("127.0.0.1", port))
    a, _ = srv.accept()
    t0 = time.time()
    try:
        opens = daemon.wait_for(net("Open", port_is(port, "dst_endpoint")), count=2, timeout=5, what="two Opens")
        assert time.time() - t0 < 2, "an Open must follow within the window (and a poll period)"
        assert {e["connection_info"]["direction_id"] for e in opens} == {1, 2}
        assert [e for e in opens if e["connection_info"]["direction_id"] == 1][0]["unmapped"]["accepted"] is True
        for e in opens:  # written at the window's end, but timed when the connection opened
            assert "short_lived" not in e["unmapped"] and e["time"] <= t0 * 1000 + 50
    finally:
        c.close()
        a.close()
        srv.close()
    closes = daemon.wait_for(net("Close", lambda e: port_is(port, "dst_endpoint")(e) and not e["unmapped"].get("listener")),
                             count=2, what="two Closes")
    assert not [e for e in closes if e["unmapped"].get("short_lived")]
    assert {e["connection_info"]["uid"] for e in closes} == {e["connection_info"]["uid"] for e in opens}


# A connection to a mining pool port (default rule KS-NET-002, which ignores loopback): in a private network
# namespace whose loopback also answers on 198.51.100.7 (TEST-NET-2), so it never leaves the host. The
# client says when it is connected, holds the connection HOLD seconds, then closes both ends.
MINER = (
    "import socket,sys,time\n"
    "s=socket.socket(); s.bind(('198.51.100.7', 3333)); s.listen(1)\n"
    "c=socket.create_connection(('198.51.100.7', 3333), timeout=3); a,_=s.accept()\n"
    "print('connected', flush=True); time.sleep(float(sys.argv[1])); a.close(); c.close()\n"
)


def miner(hold):
    prog = ("ip link set lo up && ip addr add 198.51.100.7/32 dev lo"
            f" && exec /usr/bin/python3 -c \"$KS_PY\" {hold}")
    return subprocess.Popen(["unshare", "-n", "sh", "-c", prog], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, KS_PY=MINER))


def rule_row(d, rule_id):
    (row,) = [r for r in d.cli_json("rules", "list") if r["id"] == rule_id]
    return row


def mining_finding(pid):
    return lambda e: (e.get("class_uid") == 2004 and e["finding_info"]["analytic"]["uid"] == "KS-NET-002"
                      and e["evidences"][-1]["actor"]["process"]["pid"] == pid)


def test_rule_on_an_open_fires_for_a_short_connection_with_the_open_as_evidence(daemon):
    """Folding on (the default), a rule on connection Opens still sees every Open when it happens, once:
    the finding carries the Open, written just before it (so the evidence names an event in the stream);
    the connection's Close is then an ordinary one, and the rule counts one match."""
    before = rule_row(daemon, "KS-NET-002")
    p = miner(0)
    assert p.stdout.readline().strip() == "connected"
    assert p.wait(timeout=20) == 0
    (f,) = daemon.wait_for(mining_finding(p.pid), what="the KS-NET-002 finding")
    to_pool = lambda e: port_is(3333, "dst_endpoint")(e) and actor_pid(e) == p.pid
    ev = f["evidences"][-1]
    assert ev["data"]["activity_name"] == "Open" and ev["dst_endpoint"]["port"] == 3333
    closes = daemon.wait_for(net("Close", lambda e: to_pool(e) and not e["unmapped"].get("listener")), count=2,
                             what="the two sides' Closes")
    opens = [e for e in daemon.read_events() if net("Open", to_pool)(e)]
    (out_open,) = [e for e in opens if e["connection_info"]["direction_id"] == 2]
    assert ev["data"]["event_uid"] == out_open["metadata"]["uid"]
    assert out_open["metadata"]["sequence"] < f["metadata"]["sequence"]
    out_close = [e for e in closes if e["connection_info"]["direction_id"] == 2][0]
    assert "short_lived" not in out_close["unmapped"]
    assert out_close["connection_info"]["uid"] == out_open["connection_info"]["uid"] == ev["connection_info"]["uid"]
    # the inbound side matched nothing: folded as usual
    assert [e["unmapped"].get("short_lived") for e in closes if e["connection_info"]["direction_id"] == 1] == [True]
    time.sleep(1)
    assert len([e for e in daemon.read_events() if mining_finding(p.pid)(e)]) == 1  # no Update: judged once
    after = rule_row(daemon, "KS-NET-002")
    assert after["matches"] - before["matches"] == 1 and after["deduped"] == before["deduped"]
    assert daemon.cli_json("status")["network"]["opens_written_for_findings"] >= 1


def test_rule_on_a_held_open_fires_before_the_window_ends(daemon_factory):
    """With a long window the Open of a live connection is held 3 s, but its finding is out at once."""
    d = daemon_factory("network:\n  short_lived_ms: 3000\n")
    p = miner(2.5)
    try:
        assert p.stdout.readline().strip() == "connected"
        t0 = time.time()
        (f,) = d.wait_for(mining_finding(p.pid), timeout=2, what="the KS-NET-002 finding")
        assert p.poll() is None and time.time() - t0 < 2, "judged while the connection is open"
        assert f["evidences"][-1]["data"]["activity_name"] == "Open"
    finally:
        assert p.wait(timeout=20) == 0
