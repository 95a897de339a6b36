# SPDX-License-Identifier: MIT
"""No answer waits for the control loop: TCP answers and forwarded answers keep
their quiet latency while a 100,000-name hosts file is rewritten every 100 ms
(each rewrite is a reload of the file and a snapshot publish on the control
loop), and UDP keeps answering.

What is measured, one round after another on one client thread:
- TCP: an A query for a name of the big file, over one kept-open connection;
- forwarded: an A query over UDP for a name only the loopback dnsmasq knows,
  a new name every time (f<n>.example.test), so every one goes upstream
  through the forwarder: the cache never answers these;
- UDP: an A query for gen.docker, a name of the big file whose address the
  churn changes on every rewrite; every one must be answered, and the answers
  seen prove that publishes ran while we measured.
First quiet (no churn), then under churn; the load is bounded in rounds and
seconds. The bound on TCP and forwarded p99 under churn, and why, is at
FLOOR_MS below.
"""
import math
import random
import socket
import subprocess
import sys
import time

import dns.exception
import dns.message
import dns.query
import dns.rcode
import pytest

from conftest import BERTH_BIN, LOOP4, answer_texts, wait_until

pytestmark = pytest.mark.slow

BIG = 100_000
CHURN_EVERY_S = 0.1
ROUNDS = 400           # per phase, at most
PHASE_S = 8.0          # per phase, at most
MIN_SAMPLES = 100      # a p99 needs at least this many
PAUSE_S = 0.005        # between rounds
TIMEOUT_S = 2.0        # a query not answered by then counts as this long
# The bound: p99 under churn <= max(2 x quiet p99, FLOOR_MS, 2 x UDP p99 under
# churn). Quiet p99 on loopback is well under a millisecond, and twice it
# would fail on scheduler noise alone: the machine's cores are shared with the
# control thread's rebuilds and the churn writer, which can delay a thread by
# a few ms. 20 ms absorbs that and is still far below one reload and build of
# 100,000 names (well over 100 ms), which is what a query waits for when it is
# answered on the control loop. On a machine loaded by other work every thread
# waits for a core, the UDP workers too, though they never touch the control
# loop: their p99 under the same churn measures that wait, and twice it is
# allowed. A TCP or forwarded answer that waits for a publish is still far
# beyond it (it waits for the whole build, UDP only for a core).
FLOOR_MS = 20.0

# Under a sanitizer (the ASan pass of scripts/test) a publish of 100,000 names
# takes seconds and every answer is slower: the same load runs, for the
# sanitizer to watch the threads, but only the answers are checked, not times.
def _sanitized():
    try:
        with open(BERTH_BIN, "rb") as f:
            image = f.read()
    except OSError:
        return False   # no binary: starting berth fails with its own message
    return b"__asan_init" in image or b"__tsan_init" in image


SANITIZED = _sanitized()

# Rewrites the big hosts file every CHURN_EVERY_S: the whole file, written
# outside the watched directory and renamed in (one IN_MOVED_TO), with
# gen.docker's address changed each time. Stops after its duration.
CHURN = r"""
import os, sys, time
stage, target = sys.argv[1], sys.argv[2]
n, every, duration = int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
base = "".join("10.%d.%d.%d h%d.docker\n" % (i >> 16 & 255, i >> 8 & 255, i & 255, i)
               for i in range(n)).encode()
gen, end = 1, time.monotonic() + duration
while time.monotonic() < end:
    tmp = os.path.join(stage, "big.tmp")
    with open(tmp, "wb") as f:
        f.write(base + b"10.255.%d.%d gen.docker\n" % (gen >> 8 & 255, gen & 255))
    os.replace(tmp, target)
    gen += 1
    time.sleep(every)
"""


def big_hosts(n):
    return "".join("10.%d.%d.%d h%d.docker\n" % (i >> 16 & 255, i >> 8 & 255, i & 255, i)
                   for i in range(n)) + "10.255.0.0 gen.docker\n"


def p99(xs):
    s = sorted(xs)
    return s[max(0, math.ceil(0.99 * len(s)) - 1)]


class Client:
    """One TCP connection kept open, and UDP queries, to one berth."""

    def __init__(self, b):
        self.b = b
        self.sock = None
        self.fwd_n = 0

    def tcp(self, name):
        q = dns.message.make_query(name, "A", use_edns=False)
        t0 = time.perf_counter()
        try:
            if self.sock is None:
                self.sock = socket.create_connection((LOOP4, self.b.port), timeout=TIMEOUT_S)
            r = dns.query.tcp(q, LOOP4, timeout=TIMEOUT_S, sock=self.sock)
        except (dns.exception.Timeout, OSError, EOFError):
            self.close()
            return TIMEOUT_S * 1000, None
        return (time.perf_counter() - t0) * 1000, r

    def udp(self, name):
        q = dns.message.make_query(name, "A", use_edns=False)
        t0 = time.perf_counter()
        try:
            r = dns.query.udp(q, LOOP4, port=self.b.port, timeout=TIMEOUT_S)
        except dns.exception.Timeout:
            return TIMEOUT_S * 1000, None
        return (time.perf_counter() - t0) * 1000, r

    def addresses(self, name):
        """The A records of name over UDP, or None (no answer, or none)."""
        r = self.udp(name)[1]
        return (answer_texts(r, "A") or None) if r is not None else None

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def phase(self, rng):
        """Rounds until ROUNDS or PHASE_S: latencies (ms) and what gen.docker said."""
        out = {"tcp": [], "fwd": [], "udp": [], "udp_lost": 0, "bad": [], "gens": set()}
        end = time.monotonic() + PHASE_S
        for _ in range(ROUNDS):
            if time.monotonic() > end:
                break
            i = rng.randrange(BIG)
            ms, r = self.tcp("h%d.docker" % i)
            out["tcp"].append(ms)
            want = "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)
            if r is not None and answer_texts(r, "A") != [want]:
                out["bad"].append(("tcp h%d" % i, r.rcode(), answer_texts(r, "A")))
            self.fwd_n += 1
            ms, r = self.udp("f%d.example.test" % self.fwd_n)
            out["fwd"].append(ms)
            if r is not None and answer_texts(r, "A") != ["192.0.2.7"]:
                out["bad"].append(("fwd", dns.rcode.to_text(r.rcode()), answer_texts(r, "A")))
            ms, r = self.udp("gen.docker")
            out["udp"].append(ms)
            if r is None:
                out["udp_lost"] += 1
            else:
                out["gens"].update(answer_texts(r, "A"))
            time.sleep(PAUSE_S)
        return out


def summary(label, ph):
    return "%s: tcp p99 %.2f ms max %.2f (n=%d); forwarded p99 %.2f ms max %.2f (n=%d); " \
           "udp p99 %.2f ms max %.2f (n=%d, lost %d); gen.docker addresses seen %d" % (
               label, p99(ph["tcp"]), max(ph["tcp"]), len(ph["tcp"]), p99(ph["fwd"]),
               max(ph["fwd"]), len(ph["fwd"]), p99(ph["udp"]), max(ph["udp"]), len(ph["udp"]),
               ph["udp_lost"], len(ph["gens"]))


def test_answers_do_not_wait_for_publishes(tmp_path, start_berth, dnsmasq):
    hd = tmp_path / "hosts.d"
    stage = tmp_path / "stage"   # same file system, not watched
    hd.mkdir()
    stage.mkdir()
    (hd / "big").write_text(big_hosts(BIG))
    (hd / "small").write_text("192.0.2.50 probe.docker\n192.0.2.51 probe2.docker\n")
    b = start_berth("--hosts-dir", str(hd), "--upstream", dnsmasq.addr)
    c = Client(b)
    try:
        loaded = wait_until(lambda: c.addresses("h%d.docker" % (BIG - 1)), timeout=30,
                            interval=0.2)
        assert loaded, "the big hosts file was never served"
        assert c.addresses("probe.docker") == ["192.0.2.50"]
        # Warm up: the connection, the upstream's round-trip estimate.
        for _ in range(20):
            c.tcp("h1.docker")
            c.fwd_n += 1
            c.udp("f%d.example.test" % c.fwd_n)

        rng = random.Random(1)
        quiet = c.phase(rng)
        print(summary("quiet", quiet))

        churn = subprocess.Popen(
            [sys.executable, "-c", CHURN, str(stage), str(hd / "big"), str(BIG),
             str(CHURN_EVERY_S), str(PHASE_S + 15)],
            stdin=subprocess.DEVNULL)
        try:
            # Measure once the churn is being published: gen.docker moved on.
            moved = wait_until(lambda: c.addresses("gen.docker") not in (None, ["10.255.0.0"]),
                               timeout=10, interval=0.05)
            assert moved, "the churn never reached berth's answers"
            busy = c.phase(rng)
        finally:
            churn.kill()
            churn.wait(5)
        print(summary("churn", busy))
    finally:
        c.close()

    assert not quiet["bad"] and not busy["bad"], (quiet["bad"] + busy["bad"])[:5]
    assert quiet["udp_lost"] == 0, "UDP lost answers while quiet"
    assert busy["udp_lost"] == 0, "UDP stopped answering under churn: %s" % summary("churn", busy)
    if SANITIZED:
        return
    # Publishes ran while we measured: gen.docker had moved on before, and
    # changed again during the phase.
    assert len(busy["gens"]) >= 2, "no publish seen under churn: %s" % summary("churn", busy)
    for kind in ("tcp", "fwd"):
        bound = max(2 * p99(quiet[kind]), FLOOR_MS, 2 * p99(busy["udp"]))
        assert p99(busy[kind]) <= bound, \
            "%s p99 under churn %.2f ms > %.2f ms\n%s\n%s" % (
                kind, p99(busy[kind]), bound, summary("quiet", quiet), summary("churn", busy))
        assert len(busy[kind]) >= MIN_SAMPLES, "%s: only %d samples" % (kind, len(busy[kind]))
