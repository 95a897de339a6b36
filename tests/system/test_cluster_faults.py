# SPDX-License-Identifier: MIT
"""berth's cluster when things go wrong: nodes killed or stopped, a name taken
twice, etcd stopped (shorter and longer than the lease TTL), a member of three
lost, compaction under a running watch, hostile values under the prefix, and
etcd with auth.

Every node is a real berth on loopback ports with a lease TTL of 3 s, and no
Docker: it publishes a hosts dir and manual services (the HTTP API). etcd is
real (etcd_env); the outage longer than the TTL goes through Gate, a loopback
TCP relay the test cuts, so that etcd itself runs on and expires the leases.
Every address answered is a TEST-NET one; all traffic stays on 127.0.0.1.
Every wait is bounded; the times that matter are printed.
"""
import base64
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import dns.rcode
import pytest

from cluster_env import PROPAGATE, kill9, nodes  # noqa: F401
from conftest import LOOP4, free_port, wait_until
from etcd_env import (GRPC_OUT_OF_RANGE, EtcdClient, EtcdError,  # noqa: F401 (fixtures)
                      EtcdPermissionDenied, etcd, etcd3, prefix_end, until_ok)

TTL = 3
TOKEN = "faults-test-token"
ADV = {"a": "203.0.113.1", "b": "203.0.113.2", "c": "203.0.113.3"}
# Each node's own hosts-file name and address.
HOST = {"a": ("a-host.docker", "192.0.2.11"), "b": ("b-host.docker", "192.0.2.12"),
        "c": ("c-host.docker", "192.0.2.13")}
UNREACHABLE = "etcd unreachable"


# --------------------------------------------------------------------------
# helpers

def start(nodes, tmp_path, name, urls, args=(), **kw):  # noqa: F811
    """A node that publishes its hosts dir (its HOST name) and manual services."""
    d = tmp_path / ("hosts-" + name)
    d.mkdir(exist_ok=True)
    (d / "main").write_text("%s %s\n" % (HOST[name][1], HOST[name][0]))
    argv = ["--hosts-dir", str(d), "--publish", "hosts,manual", "--api-token", TOKEN]
    return nodes(name, urls, ADV[name], args=argv + list(args), ttl=TTL, **kw)


def put_service(node, sid, name, ip):
    st, body = node.http("PUT", "/services/" + sid,
                         {"name": name, "image": name, "ips": [ip], "ttl": 10}, token=TOKEN)
    assert st in (200, 201), (st, body)


def delete_service(node, sid):
    st, body = node.http("DELETE", "/services/" + sid, token=TOKEN)
    assert st in (200, 204), (st, body)


def rcode(node, name, rdtype="A"):
    return node.ask(name, rdtype).rcode()


def wait_nxdomain(node, name, timeout):
    """Seconds until name is NXDOMAIN on node (AssertionError after timeout)."""
    t0 = time.monotonic()
    seen = wait_until(lambda: rcode(node, name) == dns.rcode.NXDOMAIN, timeout=timeout,
                      interval=0.02)
    took = time.monotonic() - t0
    assert seen, "node %s: %s still answers after %.1f s\n%s" % (node.name, name, took,
                                                                   node.stderr()[-3000:])
    return took


def peer(node, name):
    """node's /dns/cluster entry for name, or None."""
    for n in node.cluster()["nodes"]:
        if n["name"] == name:
            return n
    return None


def unreachable_lines(node):
    return [l for l in node.stderr().splitlines() if UNREACHABLE in l]


def skipped_lines(node, key):
    return [l for l in node.stderr().splitlines() if ("etcd key %s skipped" % key) in l]


def health(node):
    st, body = node.http("GET", "/health")
    return st, json.loads(body)


def wait_degraded(node, timeout=5.0):
    ok = wait_until(lambda: (node.etcd_source() or {}).get("state") == "degraded",
                    timeout=timeout)
    assert ok, "node %s: etcd source is %r, not degraded\n%s" % (
        node.name, node.etcd_source(), node.stderr()[-3000:])


def b64(data):
    return base64.b64encode(data).decode()


def a_record(name, ip, ttl=10):
    return {"name": name, "type": "A", "ttl": ttl, "data": b64(socket.inet_aton(ip))}


def value(node, origin, records, v=1):
    """A value in berth's format (value.h)."""
    return json.dumps({"v": v, "node": node, "origin": origin,
                       "stamp": int(time.time() * 1000), "records": records})


class Gate:
    """A loopback TCP relay in front of one etcd member. cut() resets every
    connection through it and stops listening (new ones are refused, as by a
    stopped etcd, while etcd itself runs on); reopen() listens again on the same
    port. hold(marker) keeps the next request that starts with marker (say
    b"POST /v3/watch") from reaching etcd until release(): the test acts in
    between."""

    def __init__(self, target_url):
        self.target = int(target_url.rsplit(":", 1)[1])
        self.port = free_port(LOOP4)
        self.url = "http://%s:%d" % (LOOP4, self.port)
        self._lock = threading.Lock()
        self._conns = set()
        self._stop = None
        self._marker = None
        self.held = threading.Event()      # a request is being held
        self._released = threading.Event()
        self.reopen()

    def hold(self, marker):
        self._released.clear()
        self.held.clear()
        self._marker = marker

    def release(self):
        self._marker = None
        self._released.set()

    def reopen(self):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((LOOP4, self.port))
        ls.listen(64)
        ls.settimeout(0.1)
        self._stop = threading.Event()
        threading.Thread(target=self._accept, args=(ls, self._stop), daemon=True).start()

    def _accept(self, ls, stop):
        try:
            while not stop.is_set():
                try:
                    c, _ = ls.accept()
                except socket.timeout:
                    continue
                except OSError:
                    return
                try:
                    u = socket.create_connection((LOOP4, self.target), timeout=2)
                except OSError:
                    c.close()
                    continue
                c.settimeout(None)
                u.settimeout(None)
                with self._lock:
                    self._conns.update((c, u))
                for src, dst, up in ((c, u, True), (u, c, False)):
                    threading.Thread(target=self._pump, args=(src, dst, up),
                                     daemon=True).start()
        finally:
            ls.close()

    def _pump(self, src, dst, up):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                marker = self._marker
                at = data.find(marker) if up and marker is not None else -1
                if at >= 0:
                    dst.sendall(data[:at])
                    self.held.set()
                    self._released.wait(30)
                    data = data[at:]
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        self._stop.set()
        time.sleep(0.2)               # the accept loop has closed the listener
        with self._lock:
            conns, self._conns = self._conns, set()
        for s in conns:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.release()
        self.cut()


@pytest.fixture
def gates():
    """Factory: gates(etcd_client_url) -> an open Gate; all closed at the end."""
    made = []

    def make(url):
        g = Gate(url)
        made.append(g)
        return g

    yield make
    for g in made:
        g.close()


# --------------------------------------------------------------------------
# 1. nodes that go away

def test_killed_node_vanishes_within_ttl_stopped_node_at_once(tmp_path, etcd, nodes):  # noqa: F811
    a = start(nodes, tmp_path, "a", etcd.urls)
    b = start(nodes, tmp_path, "b", etcd.urls)
    c = start(nodes, tmp_path, "c", etcd.urls)
    for n in (a, b, c):
        for other in "abc":
            n.wait_texts(HOST[other][0], "A", {HOST[other][1]})

    # kill -9: nobody revokes the lease; it expires within the TTL.
    kill9(c)
    t0 = time.monotonic()
    for n in (a, b):
        wait_nxdomain(n, HOST["c"][0], TTL + 1.0)
    took = time.monotonic() - t0
    print("kill -9 of c -> NXDOMAIN on a and b: %.2f s (TTL %d s)" % (took, TTL))
    assert took <= TTL + 1.0
    for n in (a, b):
        assert wait_until(lambda: (peer(n, "c") or {}).get("state") == "lease expired",
                          timeout=1.0), n.cluster()
        assert n.texts(HOST["a"][0]) == {HOST["a"][1]}

    # SIGTERM: b revokes its lease on the way out; it is gone from a at once.
    t0 = time.monotonic()
    b.send_signal(signal.SIGTERM)
    took = wait_nxdomain(a, HOST["b"][0], 1.0)
    print("SIGTERM of b -> NXDOMAIN on a: %.0f ms" % (took * 1e3))
    assert took < 1.0
    assert b.proc.wait(5) == 0
    assert wait_until(lambda: (peer(a, "b") or {}).get("state") == "lease expired",
                      timeout=1.0), a.cluster()
    assert "lease" in b.stderr() and "revoked" in b.stderr(), b.stderr()[-2000:]
    assert time.monotonic() - t0 < 2.0


# --------------------------------------------------------------------------
# 2. one name, two nodes

def test_duplicate_live_node_exits_2_restart_after_kill_joins(tmp_path, etcd, nodes):  # noqa: F811
    a = start(nodes, tmp_path, "a", etcd.urls)
    b = start(nodes, tmp_path, "b", etcd.urls)
    b.wait_texts(HOST["a"][0], "A", {HOST["a"][1]})

    # A second live "a": refused with exit code 2 once it has watched the
    # holder's lease for a while (bounded here at TTL + 8 s).
    dup = nodes("a", etcd.urls, ADV["c"], ttl=TTL, wait=False)
    dup.expect_rc = 2
    t0 = time.monotonic()
    try:
        rc = dup.proc.wait(TTL + 8)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.monotonic() - t0
    print("duplicate --node a refused after %.1f s: rc %s" % (took, rc))
    assert rc == 2, "duplicate node: rc %s after %.1f s\n%s" % (rc, took, dup.stderr()[-3000:])
    err = dup.stderr()
    assert re.search(r"node name a is taken", err), err[-3000:]
    assert "alive" in err, err[-3000:]
    # The first a was not disturbed.
    assert a.alive() and (a.etcd_source() or {}).get("state") == "ok"
    assert b.texts(HOST["a"][0]) == {HOST["a"][1]}
    assert (peer(b, "a") or {}).get("address") == ADV["a"]

    # kill -9 of a, and a new a at once: it waits out the stale lease, then joins.
    put_service(a, "s1", "svc-a", "192.0.2.21")
    b.wait_texts("svc-a.docker", "A", {"192.0.2.21"})
    kill9(a)
    t0 = time.monotonic()
    a2 = start(nodes, tmp_path, "a", etcd.urls, wait=False)
    a2.wait_ready()
    a2.wait_joined(timeout=TTL + 8)
    took = time.monotonic() - t0
    print("a restarted after kill -9: joined after %.1f s" % took)
    assert "waiting to see whether its node is alive" in a2.stderr(), a2.stderr()[-3000:]
    assert "is gone" in a2.stderr(), a2.stderr()[-3000:]
    # Its records are back on b (the manual service from its state dir too).
    b.wait_texts(HOST["a"][0], "A", {HOST["a"][1]})
    b.wait_texts("svc-a.docker", "A", {"192.0.2.21"})
    assert wait_until(lambda: (peer(b, "a") or {}).get("state") == "alive", timeout=PROPAGATE)
    # The new a sees b.
    a2.wait_texts(HOST["b"][0], "A", {HOST["b"][1]})


# --------------------------------------------------------------------------
# 3. etcd out of reach

def assert_answers(a, b, extra=()):
    """a and b answer their own hosts names and each other's (and extra)."""
    for n in (a, b):
        for other in "ab":
            assert n.texts(HOST[other][0]) == {HOST[other][1]}, (n.name, other)
        for name, ip in extra:
            assert n.texts(name) == {ip}, (n.name, name)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_etcd_stopped_nodes_answer_on_and_catch_up(tmp_path, etcd, nodes, sig):  # noqa: F811
    a = start(nodes, tmp_path, "a", etcd.urls)
    b = start(nodes, tmp_path, "b", etcd.urls)
    put_service(a, "old", "old-a", "192.0.2.31")
    for n, other in ((a, "b"), (b, "a")):
        n.wait_texts(HOST[other][0], "A", {HOST[other][1]})
        n.wait_texts("old-a.docker", "A", {"192.0.2.31"})
    assert unreachable_lines(a) == [] and unreachable_lines(b) == []

    (m,) = etcd.members
    m.stop(sig)
    t0 = time.monotonic()
    for n in (a, b):
        wait_degraded(n)
    print("etcd %s -> both nodes degraded after %.2f s" % (signal.Signals(sig).name,
                                                             time.monotonic() - t0))
    for n in (a, b):
        st, h = health(n)
        assert st == 200 and h["status"] == "degraded", (st, h)
        assert h.get("problems") and any("etcd" in p for p in h["problems"]), h
        assert n.cluster()["etcd"]["state"] == "unreachable", n.cluster()["etcd"]

    # A change during the outage: answered on a at once, on b once etcd is back.
    put_service(a, "new", "new-a", "192.0.2.32")
    delete_service(a, "old")
    a.wait_texts("new-a.docker", "A", {"192.0.2.32"})     # published on the next loop turn
    a.wait_texts("old-a.docker", "A", set())

    # Two seconds of outage: several retries, one line. (However long etcd is
    # stopped, it gives every lease a full TTL again when it starts: the leases
    # live on. The expired lease is the next test's.)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        assert_answers(a, b)
        assert b.texts("old-a.docker") == {"192.0.2.31"}, "b keeps what it knew"
        time.sleep(0.2)
    for n in (a, b):
        lines = unreachable_lines(n)
        assert len(lines) == 1, "node %s: %d lines:\n%s" % (n.name, len(lines), "\n".join(lines))

    t0 = time.monotonic()
    m.restart()     # same ports, same data dir
    b.wait_texts("new-a.docker", "A", {"192.0.2.32"}, timeout=10)
    b.wait_texts("old-a.docker", "A", set(), timeout=10)
    print("etcd started again -> a's outage changes on b after %.2f s" % (time.monotonic() - t0))
    for n in (a, b):
        assert wait_until(lambda: (n.etcd_source() or {}).get("state") == "ok", timeout=10), \
            n.etcd_source()
        st, h = health(n)
        assert st == 200 and h["status"] == "healthy", h
        assert "etcd reachable again" in n.stderr()
        lines = unreachable_lines(n)
        assert len(lines) == 1, "node %s: %d lines:\n%s" % (n.name, len(lines), "\n".join(lines))
    assert_answers(a, b, [("new-a.docker", "192.0.2.32")])
    # And the cluster works as before: a change on b reaches a.
    put_service(b, "after", "after-b", "192.0.2.33")
    a.wait_texts("after-b.docker", "A", {"192.0.2.33"})


def test_etcd_out_of_reach_longer_than_ttl_renews_and_republishes(tmp_path, etcd, nodes,  # noqa: F811
                                                                  gates):
    """Both nodes reach etcd through a gate; cut, etcd runs on and expires both
    leases (and with them every key); when the gate opens again each node gets a
    new lease and writes all its records again, and b drops what a removed."""
    (m,) = etcd.members
    ga, gb = gates(m.client_url), gates(m.client_url)
    a = start(nodes, tmp_path, "a", [ga.url])
    b = start(nodes, tmp_path, "b", [gb.url])
    put_service(a, "s1", "gone-a", "192.0.2.41")
    put_service(a, "s2", "kept-a", "192.0.2.42")
    for n, other in ((a, "b"), (b, "a")):
        n.wait_texts(HOST[other][0], "A", {HOST[other][1]})
    b.wait_texts("gone-a.docker", "A", {"192.0.2.41"})
    b.wait_texts("kept-a.docker", "A", {"192.0.2.42"})
    lease_a = a.cluster()["etcd"]["lease"]
    etc = EtcdClient(etcd.urls)
    assert etc.get_prefix("/berth/v1/records/a/")

    ga.cut()
    gb.cut()
    t0 = time.monotonic()
    for n in (a, b):
        wait_degraded(n)
    delete_service(a, "s1")
    put_service(a, "s3", "new-a", "192.0.2.43")
    # etcd expires both leases: nothing of a or b is left in it.
    assert wait_until(lambda: not etc.get_prefix("/berth/v1/"), timeout=TTL + 2), \
        etc.get_prefix("/berth/v1/").keys()
    print("gates cut -> leases expired in etcd after %.1f s" % (time.monotonic() - t0))
    # Meanwhile both answer everything they knew.
    assert_answers(a, b, [("kept-a.docker", "192.0.2.42")])
    assert b.texts("gone-a.docker") == {"192.0.2.41"}
    assert a.texts("new-a.docker") == {"192.0.2.43"}
    time.sleep(1.0)
    for n in (a, b):
        assert len(unreachable_lines(n)) == 1, unreachable_lines(n)

    ga.reopen()
    gb.reopen()
    t0 = time.monotonic()
    b.wait_texts("new-a.docker", "A", {"192.0.2.43"}, timeout=10)
    b.wait_texts("gone-a.docker", "A", set(), timeout=10)
    b.wait_texts("kept-a.docker", "A", {"192.0.2.42"}, timeout=10)
    a.wait_texts(HOST["b"][0], "A", {HOST["b"][1]}, timeout=10)
    print("gates open -> converged after %.2f s" % (time.monotonic() - t0))
    for n in (a, b):
        assert wait_until(lambda: (n.etcd_source() or {}).get("state") == "ok", timeout=10), \
            n.etcd_source()
        assert re.search(r"lease \w+ expired", n.stderr()), n.stderr()[-3000:]
        assert n.metric("berth_cluster_lease_renewals_total") >= 1
        assert len(unreachable_lines(n)) == 1, unreachable_lines(n)
    assert a.cluster()["etcd"]["lease"] not in ("", lease_a)
    assert wait_until(lambda: (peer(b, "a") or {}).get("state") == "alive", timeout=PROPAGATE)
    assert wait_until(lambda: (peer(a, "b") or {}).get("state") == "alive", timeout=PROPAGATE)
    assert_answers(a, b, [("kept-a.docker", "192.0.2.42"), ("new-a.docker", "192.0.2.43")])
    keys = {k.decode() for k in etc.get_prefix("/berth/v1/")}
    assert "/berth/v1/nodes/a" in keys and "/berth/v1/nodes/b" in keys, keys


# --------------------------------------------------------------------------
# 4. three etcd members, one lost

def test_first_member_of_three_killed_changes_still_propagate(tmp_path, etcd3, nodes):  # noqa: F811
    """The first member of every node's list is the leader (the harder case: a
    write made during the election that follows is dropped by etcd)."""
    first = etcd3.leader()
    urls = [first.client_url] + [m.client_url for m in etcd3.members if m is not first]
    a = start(nodes, tmp_path, "a", urls)
    b = start(nodes, tmp_path, "b", urls)
    for n, other in ((a, "b"), (b, "a")):
        n.wait_texts(HOST[other][0], "A", {HOST[other][1]})
    for n in (a, b):
        assert n.cluster()["etcd"]["endpoint"] == first.client_url, n.cluster()["etcd"]

    first.kill()
    t0 = time.monotonic()
    # They answer on, all the while.
    for _ in range(5):
        assert_answers(a, b)
        time.sleep(0.1)
    put_service(a, "x", "moved-a", "192.0.2.51")
    took = b.wait_texts("moved-a.docker", "A", {"192.0.2.51"}, timeout=10)
    print("leader %s killed -> a's change on b after %.2f s (%.2f s since the kill)"
          % (first.name, took, time.monotonic() - t0))
    put_service(b, "y", "moved-b", "192.0.2.52")
    took = a.wait_texts("moved-b.docker", "A", {"192.0.2.52"}, timeout=10)
    print("and b's change on a after %.2f s" % took)
    for n in (a, b):
        assert wait_until(lambda: (n.etcd_source() or {}).get("state") == "ok", timeout=10), \
            n.etcd_source()
        assert n.cluster()["etcd"]["endpoint"] in urls[1:], n.cluster()["etcd"]
    assert_answers(a, b, [("moved-a.docker", "192.0.2.51"), ("moved-b.docker", "192.0.2.52")])
    # Their leases are kept alive through the others: nothing expires.
    time.sleep(TTL + 0.5)
    assert_answers(a, b, [("moved-a.docker", "192.0.2.51"), ("moved-b.docker", "192.0.2.52")])
    assert (peer(a, "b") or {}).get("state") == "alive" and \
        (peer(b, "a") or {}).get("state") == "alive"


# --------------------------------------------------------------------------
# 5. compaction

def test_member_without_a_leader_is_left_at_once(tmp_path, etcd3, nodes):  # noqa: F811
    """A member that loses its leader (here: the other two stopped) refuses calls and ends
    the watch it holds (etcd's "hasleader" metadata, which berth sends), rather than
    keeping a watch open that hears nothing while a majority elsewhere goes on. When a
    quorum is back, changes flow again."""
    m0, m1, m2 = etcd3.members
    urls = [m.client_url for m in (m0, m1, m2)]
    a = start(nodes, tmp_path, "a", urls)
    b = start(nodes, tmp_path, "b", urls)
    for n, other in ((a, "b"), (b, "a")):
        n.wait_texts(HOST[other][0], "A", {HOST[other][1]})
    assert b.cluster()["etcd"]["endpoint"] == m0.client_url
    m1.stop()
    m2.stop()
    t0 = time.monotonic()
    assert wait_until(lambda: "no leader" in b.stderr(), timeout=10, interval=0.05), \
        b.stderr()[-2000:]
    print("quorum lost -> b told \"no leader\" after %.2f s" % (time.monotonic() - t0))
    assert_answers(a, b)
    m1.restart()
    put_service(a, "q", "quorum-a", "192.0.2.53")
    took = b.wait_texts("quorum-a.docker", "A", {"192.0.2.53"}, timeout=20)
    print("quorum back -> a's change on b after %.2f s" % took)
    for n in (a, b):
        assert wait_until(lambda: (n.etcd_source() or {}).get("state") == "ok", timeout=10), \
            n.etcd_source()


def test_a_stalled_member_is_left_by_the_watch_too(tmp_path, etcd3, nodes):  # noqa: F811
    """A member that stalls (SIGSTOP: its connections stay open, nothing answers) keeps a
    quiet watch open as if nothing changed. Once a node's calls give up on it and go to
    the next member, its watch moves there too, so a change made meanwhile arrives."""
    m0 = etcd3.members[0]
    urls = [m.client_url for m in etcd3.members]
    a = start(nodes, tmp_path, "a", urls)
    b = start(nodes, tmp_path, "b", urls)
    for n, other in ((a, "b"), (b, "a")):
        n.wait_texts(HOST[other][0], "A", {HOST[other][1]})
    assert b.cluster()["etcd"]["endpoint"] == m0.client_url
    os.kill(m0.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        put_service(a, "s", "stalled-a", "192.0.2.54")
        took = b.wait_texts("stalled-a.docker", "A", {"192.0.2.54"}, timeout=15)
        print("member stopped -> a's change on b after %.2f s (%.2f s since the stop)"
              % (took, time.monotonic() - t0))
        assert "watching there" in b.stderr()
        assert b.cluster()["etcd"]["endpoint"] != m0.client_url
        assert_answers(a, b, [("stalled-a.docker", "192.0.2.54")])
    finally:
        os.kill(m0.pid, signal.SIGCONT)


def compact_now(etc):
    """Compact at the current revision (nothing to do if it is compacted already)."""
    try:
        etc.compact(etc.revision())
    except EtcdError as e:
        if e.code != GRPC_OUT_OF_RANGE:
            raise


def test_compaction_under_watch_then_broken_watch_converges(tmp_path, etcd, nodes):  # noqa: F811
    a = start(nodes, tmp_path, "a", etcd.urls)
    b = start(nodes, tmp_path, "b", etcd.urls)
    etc = EtcdClient(etcd.urls)
    for i in range(5):
        put_service(a, "c%d" % i, "comp%d" % i, "192.0.2.%d" % (60 + i))
    for i in range(5):
        b.wait_texts("comp%d.docker" % i, "A", {"192.0.2.%d" % (60 + i)})
    reads = b.metric("berth_cluster_full_reads_total")

    # Compacted at the current revision while b watches: the watch goes on.
    rev = etc.revision()
    etc.compact(rev)
    for i in range(5):
        put_service(a, "c%d" % i, "comp%d" % i, "192.0.2.%d" % (70 + i))
    delete_service(a, "c4")
    for i in range(4):
        b.wait_texts("comp%d.docker" % i, "A", {"192.0.2.%d" % (70 + i)})
    b.wait_texts("comp4.docker", "A", set())
    assert b.metric("berth_cluster_full_reads_total") == reads, "the watch was not broken"

    # Break the watch: etcd restarts; meanwhile a changes; compacted again at once.
    (m,) = etcd.members
    before = etc.revision()
    m.stop()
    put_service(a, "c0", "comp0", "192.0.2.80")
    delete_service(a, "c1")
    put_service(a, "c5", "comp5", "192.0.2.85")
    t0 = time.monotonic()
    m.restart()
    # Compacted the moment a's outage changes are in, while b reads again.
    assert wait_until(lambda: until_ok(etc.revision) > before, timeout=10, interval=0.01)
    compact_now(etc)
    b.wait_texts("comp0.docker", "A", {"192.0.2.80"}, timeout=10)
    b.wait_texts("comp1.docker", "A", set(), timeout=10)
    b.wait_texts("comp5.docker", "A", {"192.0.2.85"}, timeout=10)
    print("etcd restarted and compacted -> b converged after %.2f s" % (time.monotonic() - t0))
    assert b.metric("berth_cluster_full_reads_total") > reads
    # More changes after all that: the new watch carries them.
    compact_now(etc)
    put_service(a, "c6", "comp6", "192.0.2.86")
    put_service(b, "d0", "from-b", "192.0.2.87")
    b.wait_texts("comp6.docker", "A", {"192.0.2.86"})
    a.wait_texts("from-b.docker", "A", {"192.0.2.87"})
    for i, ip in ((0, "192.0.2.80"), (2, "192.0.2.72"), (3, "192.0.2.73"), (5, "192.0.2.85")):
        assert b.texts("comp%d.docker" % i) == {ip}
    for n in (a, b):
        assert n.metric("berth_cluster_skipped_values_total") == 0


def test_deletion_at_the_compacted_revision_a_new_watch_starts_from(tmp_path, etcd, nodes,  # noqa: F811
                                                                     gates):
    """etcd before 3.4.34/3.5.15 drops a deletion made at the revision a watch starts
    from when that revision is compacted (etcd-io/etcd#18089). b reads everything at
    revision R; before its new watch reaches etcd, a deletes a key (R + 1) and etcd is
    compacted at R + 1. A watch from R + 1 would never hear of the deletion; berth's
    watch starts at R, is cancelled as compacted, and reads again."""
    (m,) = etcd.members
    gate = gates(m.client_url)
    a = start(nodes, tmp_path, "a", etcd.urls)
    b = start(nodes, tmp_path, "b", [gate.url])
    etc = EtcdClient(etcd.urls)
    for sid in ("c1", "c2"):
        put_service(a, sid, "gone-" + sid, "192.0.2.%d" % (100 + int(sid[1])))
    for sid in ("c1", "c2"):
        b.wait_texts("gone-%s.docker" % sid, "A", {"192.0.2.%d" % (100 + int(sid[1]))})
    reads = b.metric("berth_cluster_full_reads_total")

    # b's watch breaks; it reads everything again; its new watch is held at the gate.
    gate.hold(b"POST /v3/watch")
    gate.cut()
    gate.reopen()
    assert gate.held.wait(10), "b sent no new watch\n" + b.stderr()[-2000:]
    read_at = b.cluster()["etcd"]["revision"]
    assert read_at == etc.revision(), "something was written after b's read"
    delete_service(a, "c1")
    key = R + "a/manual:c1"
    assert wait_until(lambda: etc.get(key) is None, timeout=5, interval=0.01)
    assert etc.revision() == read_at + 1, "not only the deletion was written"
    compact_now(etc)
    gate.release()

    b.wait_texts("gone-c1.docker", "A", set())
    assert b.texts("gone-c2.docker") == {"192.0.2.102"}
    assert b.metric("berth_cluster_full_reads_total") >= reads + 2, "no read after the watch"
    # And the watch after that read carries changes again.
    put_service(a, "c3", "gone-c3", "192.0.2.103")
    b.wait_texts("gone-c3.docker", "A", {"192.0.2.103"})


# --------------------------------------------------------------------------
# 6. hostile values under the prefix

R = "/berth/v1/records/"


def hostile_values():
    """{key: value} of values no node may take, each for its own reason."""
    a5 = dict(a_record("five.docker.", "192.0.2.90"), data=b64(b"\xc0\x00\x02\x5a\x01"))
    soa = {"name": "docker.", "type": "SOA", "ttl": 10,
           "data": b64(b"\x02ns\x00\x04host\x00" + bytes(20))}
    ns = {"name": "docker.", "type": "NS", "ttl": 10, "data": b64(b"\x02ns\x06evil\x00")}
    bad64 = dict(a_record("bad64.docker.", "192.0.2.91"), data="!!not*base64!!")
    big = [{"name": "big.docker.", "type": "TXT", "ttl": 10,
            "data": b64(b"\xff" + b"x" * 255)} for _ in range(3000)]      # ~1.1 MB
    return {
        R + "evil/manual:notjson": "this is { not JSON",
        R + "evil/manual:v2": value("evil", "manual:v2", [a_record("v2.docker.", "192.0.2.92")],
                                    v=2),
        R + "evil/manual:liar": value("ghost", "manual:liar",
                                      [a_record("liar.docker.", "192.0.2.93")]),
        R + "evil/manual:otherorigin": value("evil", "manual:else",
                                             [a_record("else.docker.", "192.0.2.94")]),
        R + "evil/manual:soa": value("evil", "manual:soa", [soa]),
        R + "evil/manual:ns": value("evil", "manual:ns", [ns]),
        R + "evil/manual:bad64": value("evil", "manual:bad64", [bad64]),
        R + "evil/manual:a5": value("evil", "manual:a5", [a5]),
        R + "evil/manual:big": value("evil", "manual:big", big),
    }


# What each skip line says, once it is there.
WHY = {"notjson": "not JSON", "v2": "version 2", "liar": "claims node ghost",
       "otherorigin": "origin manual:else", "soa": "SOA", "ns": "NS", "bad64": "bad A data",
       "a5": "bad A data", "big": "limit", "good": "not JSON"}

HOSTILE_NAMES = ["v2.docker", "liar.docker", "else.docker", "five.docker", "bad64.docker",
                 "big.docker"]


def skip_count(n):
    return n.metric("berth_cluster_skipped_values_total")


def wait_skips(n, count):
    assert wait_until(lambda: skip_count(n) >= count, timeout=PROPAGATE), \
        "node %s: %s values skipped, expected %d" % (n.name, skip_count(n), count)


def unlogged(n, keys):
    """The keys that have no "etcd key <key> skipped" line in n's log."""
    wait_until(lambda: all(skipped_lines(n, k) for k in keys), timeout=1.0)
    return [k for k in keys if not skipped_lines(n, k)]


def test_hostile_values_are_skipped_and_a_good_one_beside_them_answers(tmp_path, etcd,  # noqa: F811
                                                                       nodes):
    etc = EtcdClient(etcd.urls)
    bad = hostile_values()
    assert len(bad[R + "evil/manual:big"]) > (1 << 20)
    # Half of them are there before the node starts (the full read) ...
    keys = sorted(bad)
    early, late = keys[::2], keys[1::2]
    for k in early:
        etc.put(k, bad[k])
    etc.put(R + "ghost/manual:x", value("ghost", "manual:x", [a_record("x.docker.", "192.0.2.99")]))
    a = start(nodes, tmp_path, "a", etcd.urls)
    a.wait_texts("x.docker", "A", {"192.0.2.99"})
    wait_skips(a, len(early))
    missing = unlogged(a, early)
    # ... half come through the watch, with a good one of evil's beside them.
    for k in late:
        etc.put(k, bad[k])
    etc.put(R + "evil/manual:good",
            value("evil", "manual:good", [a_record("good.docker.", "192.0.2.98")]))
    a.wait_texts("good.docker", "A", {"192.0.2.98"})
    wait_skips(a, len(keys))
    missing += unlogged(a, late)

    for name in HOSTILE_NAMES:
        assert rcode(a, name) == dns.rcode.NXDOMAIN, name
    # No SOA or NS of evil's in the zone's apex.
    assert all("evil" not in t for t in a.texts("docker", "NS")), a.texts("docker", "NS")
    assert a.texts("x.docker") == {"192.0.2.99"} and a.texts(HOST["a"][0]) == {HOST["a"][1]}
    assert (a.etcd_source() or {}).get("state") == "ok"
    # Garbage written over a good value: skipped, and the good records stay.
    etc.put(R + "evil/manual:good", "garbage")
    wait_skips(a, len(keys) + 1)
    assert a.texts("good.docker") == {"192.0.2.98"}
    missing += unlogged(a, [R + "evil/manual:good"])
    assert a.alive()

    lines = [l for l in a.stderr().splitlines() if "skipped" in l]
    print("skip lines:\n" + "\n".join(lines))
    for k in keys + [R + "evil/manual:good"]:
        for l in skipped_lines(a, k):
            assert WHY[k.rsplit(":", 1)[1]] in l.split("skipped:", 1)[1], (k, l)
    # Each refused key is named in the log (an operator has to find them).
    assert not missing, "%d of %d refused keys not in the log: %s\nskip lines:\n%s" % (
        len(missing), len(keys) + 1, missing, "\n".join(lines))


# --------------------------------------------------------------------------
# 7. etcd with auth

def grant_node(root, name, password):
    """User and role <name>: its own node key and records, read of the rest."""
    root.user_add(name, password)
    root.role_add(name)
    nk = "/berth/v1/nodes/" + name
    rp = "/berth/v1/records/%s/" % name
    root.role_grant_permission(name, nk, perm="READWRITE")
    root.role_grant_permission(name, rp, prefix_end(rp), perm="READWRITE")
    root.role_grant_permission(name, "/berth/v1/", prefix_end("/berth/v1/"), perm="READ")
    root.user_grant_role(name, name)


def test_auth_nodes_share_records_and_may_not_write_each_others(tmp_path, etcd, nodes):  # noqa: F811
    root = EtcdClient(etcd.urls)
    root.setup_root("root-pw")
    grant_node(root, "a", "pw-a")
    grant_node(root, "b", "pw-b")
    grant_node(root, "c", "pw-c")
    root.auth_enable()
    with pytest.raises(Exception):
        EtcdClient(etcd.urls).get("/berth/v1/nodes/a")        # no token: refused

    a = start(nodes, tmp_path, "a", etcd.urls, args=["--etcd-user", "a", "--etcd-password", "pw-a"])
    b = start(nodes, tmp_path, "b", etcd.urls,
              env={"BERTH_ETCD_PASSWORD": "pw-b"}, args=["--etcd-user", "b"])
    for n, other in ((a, "b"), (b, "a")):
        n.wait_texts(HOST[other][0], "A", {HOST[other][1]})
    put_service(a, "s", "auth-a", "192.0.2.101")
    b.wait_texts("auth-a.docker", "A", {"192.0.2.101"})
    put_service(b, "s", "auth-b", "192.0.2.102")
    a.wait_texts("auth-b.docker", "A", {"192.0.2.102"})
    for n in (a, b):
        assert n.cluster()["etcd"]["state"] == "connected"
        assert "refused" not in n.stderr(), n.stderr()[-3000:]

    # As a: b's keys may not be written, nor deleted; a's own and reads are fine.
    as_a = EtcdClient(etcd.urls)
    as_a.authenticate("a", "pw-a")
    bkeys = [k.decode() for k in as_a.get_prefix("/berth/v1/records/b/")]
    assert bkeys and as_a.get("/berth/v1/nodes/b") is not None
    evil = value("b", "manual:s", [a_record("auth-b.docker.", "192.0.2.66")])
    for key in ["/berth/v1/nodes/b", "/berth/v1/records/b/manual:s", "/berth/v1/records/b/x",
                "/berth/v1/nodes/c", "/berth/v1/other"]:
        with pytest.raises(EtcdPermissionDenied):
            as_a.put(key, evil)
    with pytest.raises(EtcdPermissionDenied):
        as_a.delete_prefix("/berth/v1/records/b/")
    as_a.put("/berth/v1/records/a/manual:probe",
             value("a", "manual:probe", [a_record("probe.docker.", "192.0.2.103")]))
    b.wait_texts("probe.docker", "A", {"192.0.2.103"})
    as_a.delete("/berth/v1/records/a/manual:probe")
    b.wait_texts("probe.docker", "A", set())
    assert a.texts("auth-b.docker") == {"192.0.2.102"}

    # A wrong password: c does not join, says why, and answers its own names.
    c = start(nodes, tmp_path, "c", etcd.urls, wait=False,
              args=["--etcd-user", "c", "--etcd-password", "wrong"])
    c.wait_ready()
    c.wait_texts(HOST["c"][0], "A", {HOST["c"][1]})
    assert wait_until(lambda: c.cluster()["etcd"].get("last_error"), timeout=PROPAGATE), \
        c.cluster()
    time.sleep(1.0)
    cl = c.cluster()
    print("c with a wrong password: etcd %s; /health %s" % (cl["etcd"], health(c)))
    why = (cl["etcd"].get("last_error") or "") + c.stderr()
    assert re.search(r"authentication|password|auth", why, re.I), why[-3000:]
    assert (c.etcd_source() or {}).get("state") != "ok"
    assert cl["etcd"]["state"] != "connected"
    assert c.alive() and c.texts(HOST["c"][0]) == {HOST["c"][1]}
    assert a.texts(HOST["c"][0]) == set() and b.texts(HOST["c"][0]) == set()
    assert root.authenticate("root", "root-pw")
    assert root.get("/berth/v1/nodes/c") is None
    assert not root.get_prefix("/berth/v1/records/c/")
