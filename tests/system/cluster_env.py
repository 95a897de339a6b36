# SPDX-License-Identifier: MIT
"""berth nodes of one cluster for the system tests: each a real berth on its own
loopback ports, with --etcd pointing at the test's own etcd members
(etcd_env), --node NAME and --advertise ADDR. DNS and HTTP go to 127.0.0.1;
the advertise addresses are documentation addresses that are only ever
answered, never contacted.
"""
import http.client
import json
import signal
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from conftest import LOOP4, Berth, answer_texts, free_port

# What a node takes to see another's change, at most (the test's bound; a change
# usually arrives in milliseconds).
PROPAGATE = 5.0


class Node(Berth):
    """One berth of the cluster. docker: a Docker URL or None (--docker none)."""

    def __init__(self, workdir, name, etcd_urls, advertise, docker=None, args=(), env=None,
                 ttl=3, prefix=None):
        self.name = name
        self.http_port = free_port(LOOP4)
        self.advertise = advertise
        port = free_port(LOOP4)
        argv = ["--listen", "%s:%d" % (LOOP4, port), "--docker", docker or "none",
                "--http", "%s:%d" % (LOOP4, self.http_port), "--upstream", "none",
                "--threads", "2", "--state-dir", str(Path(workdir) / ("state-" + name)),
                "--node", name, "--advertise", advertise, "--etcd-lease-ttl", str(ttl),
                "--log-level", "debug"]
        for u in etcd_urls:
            argv += ["--etcd", u]
        if prefix:
            argv += ["--etcd-prefix", prefix]
        argv += list(args)
        super().__init__(workdir, argv, env=env, defaults=False, port=port)

    # -- HTTP
    def http(self, method, path, body=None, token=None, timeout=5.0):
        c = http.client.HTTPConnection(LOOP4, self.http_port, timeout=timeout)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            if token:
                headers["Authorization"] = "Bearer " + token
            c.request(method, path, body=json.dumps(body) if body is not None else None,
                      headers=headers)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def get_json(self, path):
        st, body = self.http("GET", path)
        assert st in (200, 503), "GET %s: %d %r" % (path, st, body[:300])
        return json.loads(body)

    def cluster(self):
        return self.get_json("/dns/cluster")

    def etcd_source(self):
        for s in self.get_json("/status").get("sources", []):
            if s.get("kind") == "etcd":
                return s
        return None

    def metrics(self):
        st, body = self.http("GET", "/metrics")
        assert st == 200
        return body.decode()

    def metric(self, name):
        """The value of an unlabelled sample, or None."""
        for line in self.metrics().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def wait_joined(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError("berth %s exited %s:\n%s" % (self.name, self.proc.returncode,
                                                                self.stderr()))
            try:
                if (self.etcd_source() or {}).get("state") == "ok":
                    return self
            except (OSError, AssertionError, ValueError):
                pass
            time.sleep(0.05)
        raise RuntimeError("node %s did not join within %.0fs:\n%s"
                           % (self.name, timeout, self.stderr()[-3000:]))

    # -- DNS
    def ask(self, name, rdtype="A", timeout=1.0):
        q = dns.message.make_query(name, rdtype, use_edns=0, payload=1232)
        return dns.query.udp(q, LOOP4, port=self.port, timeout=timeout)

    def texts(self, name, rdtype="A"):
        return set(answer_texts(self.ask(name, rdtype), rdtype))

    def wait_texts(self, name, rdtype, expect, timeout=PROPAGATE):
        """Wait until the answer's rdata texts are exactly expect (a set; empty for
        none); returns the seconds it took. Fails with what was seen last."""
        t0 = time.monotonic()
        deadline = t0 + timeout
        seen = None
        while True:
            try:
                seen = self.texts(name, rdtype)
            except Exception as e:   # noqa: BLE001 - a timeout: try again
                seen = e
            if seen == set(expect):
                return time.monotonic() - t0
            if time.monotonic() >= deadline:
                raise AssertionError("node %s: %s %s is %r after %.1fs, expected %r\n%s"
                                     % (self.name, name, rdtype, seen, timeout, set(expect),
                                        self.stderr()[-3000:]))
            time.sleep(0.02)


@pytest.fixture
def nodes(tmp_path):
    """Factory: nodes(name, etcd_urls, advertise, docker=None, *args) -> a joined Node.
    Every node is stopped at the end (SIGTERM, by PID) and must exit as expected
    (expect_rc, 0 unless a test says otherwise)."""
    started = []

    def start(name, etcd_urls, advertise, docker=None, args=(), env=None, ttl=3, wait=True,
              prefix=None):
        n = Node(tmp_path, name, etcd_urls, advertise, docker, args, env, ttl, prefix)
        started.append(n)
        if wait:
            n.wait_ready()
            n.wait_joined()
        return n

    yield start
    problems = []
    for n in started:
        rc = n.stop()
        print("--- node %s pid %d: %s\n--- exit %s; stderr (tail):\n%s"
              % (n.name, n.pid, " ".join(n.argv), rc, n.stderr()[-6000:]))
        if rc != n.expect_rc:
            problems.append("node %s exited %s (expected %s)" % (n.name, rc, n.expect_rc))
    assert not problems, problems


def kill9(node):
    node.send_signal(signal.SIGKILL)
    node.proc.wait(5)
    node.expect_rc = -signal.SIGKILL
